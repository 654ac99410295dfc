#!/usr/bin/env bash
# Starts a single-node Ceph cluster (one monitor, one memstore OSD, one RADOS Gateway) on 127.0.0.1,
# creates the S3 users and the STS role the RGW backend of the e2e tests needs, and writes the
# connection info as JSON.
#
#   scripts/rgw/up.sh [INFO_FILE]     (default: $RGW_INFO, else .tmp/rgw/info.json)
#
# $RGW_EXTRA_CONF, if set, is appended to the gateway's section of ceph.conf (one option a line).
#
# Installs ceph-mon, ceph-osd and radosgw with apt-get when they are missing (root only).
# Every daemon runs in the foreground of its own background job: its PID is the one recorded, and
# scripts/rgw/down.sh stops exactly those PIDs.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/../.." && pwd)"
INFO="${1:-${RGW_INFO:-$REPO/.tmp/rgw/info.json}}"
case "$INFO" in /*) ;; *) INFO="$PWD/$INFO" ;; esac
REGION="${RGW_REGION:-us-west-2}"
START_TIMEOUT="${RGW_START_TIMEOUT:-90}"

say() { echo "rgw up: $*" >&2; }
fail() {
  echo "rgw up: FAILED: $*" >&2
  exit 1
}

# ------------------------------------------------------------------ packages
missing=()
for bin in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph; do
  command -v "$bin" >/dev/null 2>&1 || missing+=("$bin")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    fail "missing ${missing[*]}; run as root to install them, or: apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw"
  fi
  say "installing ceph-mon ceph-osd radosgw (missing: ${missing[*]})"
  started=$SECONDS
  export DEBIAN_FRONTEND=noninteractive
  # A fresh machine may still be running its boot-time apt jobs: wait for their locks.
  apt=(apt-get -o DPkg::Lock::Timeout=300)
  # A fresh machine has no package lists (install fails): update, then install again.
  if ! "${apt[@]}" install -y -qq --no-install-recommends ceph-mon ceph-osd radosgw >&2; then
    "${apt[@]}" update -qq >&2 || fail "apt-get update failed"
    "${apt[@]}" install -y -qq --no-install-recommends ceph-mon ceph-osd radosgw >&2 ||
      fail "apt-get install ceph-mon ceph-osd radosgw failed"
  fi
  say "installed in $((SECONDS - started)) s"
fi
command -v node >/dev/null 2>&1 || fail "node is required"

if [ -f "$INFO" ]; then
  old_dir="$(node -e 'try{console.log(require(process.argv[1]).dataDir??"")}catch{}' "$INFO")"
  if [ -n "$old_dir" ] && [ -d "$old_dir" ]; then
    fail "$INFO describes a cluster that may still run (data dir $old_dir): run scripts/rgw/down.sh $INFO first"
  fi
  rm -f "$INFO"
fi

# ------------------------------------------------------------------ layout
now_ms() { echo $(($(date +%s%N) / 1000000)); }
T0=$(now_ms)
started=$SECONDS
PHASES=""
phase() { PHASES+="${PHASES:+, }$1 $(($(now_ms) - T0)) ms"; }
DIR="$(mktemp -d "${TMPDIR:-/tmp}/rgw-cluster.XXXXXX")"
mkdir -p "$DIR"/{run,log,mon,osd}
CONF="$DIR/ceph.conf"
PIDS=()

# Stops what this script started when it fails half-way.
cleanup_on_error() {
  local status=$?
  [ "$status" -eq 0 ] && return
  say "bring-up failed; logs in $DIR/log (kept); stopping PIDs ${PIDS[*]:-none}"
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
}
trap cleanup_on_error EXIT

# Free TCP ports on 127.0.0.1 chosen by the kernel, so two clusters cannot collide.
read -r MON_PORT RGW_PORT < <(node -e '
  const net = require("node:net");
  const take = () => new Promise((ok) => { const s = net.createServer().listen(0, "127.0.0.1", () => ok(s)); });
  (async () => {
    const a = await take(), b = await take();
    console.log(a.address().port, b.address().port);
    a.close(); b.close();
  })();')

FSID="$(cat /proc/sys/kernel/random/uuid)"
STS_KEY="$(node -e 'console.log(require("node:crypto").randomBytes(8).toString("hex"))')"
KMS_KEY_ID=e2e-kms-key
KMS_KEY="$(node -e 'console.log(require("node:crypto").randomBytes(32).toString("base64"))')"

cat >"$CONF" <<EOF
[global]
fsid = $FSID
mon host = [v1:127.0.0.1:$MON_PORT]
ms bind msgr2 = false
public network = 127.0.0.0/8
auth cluster required = none
auth service required = none
auth client required = none
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
pid file = $DIR/run/\$name.pid
log file = $DIR/log/\$name.log
crash dir = $DIR/crash
mon data = $DIR/mon/\$id
osd data = $DIR/osd/\$id
keyring = $DIR/keyring
osd objectstore = memstore
memstore device bytes = 8589934592
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
mon allow pool size one = true
mon allow pool delete = true
mon max pg per osd = 1000
osd crush chooseleaf type = 0
# The OSD is placed in the CRUSH map below; its own start-up update can race its first monmap and
# fail with 'wrong fsid'.
osd crush update on start = false
osd class update on start = false
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 0
# Commit monitor changes at once rather than batching them for a second: start-up creates many pools.
paxos propose interval = 0.05
paxos min wait = 0.01

[client.rgw.gw]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw sts key = $STS_KEY
rgw s3 auth use sts = true
rgw sts min session duration = 1
rgw enable usage log = false
rgw dns name = 127.0.0.1
# SSE-KMS without a KMS: the "testing" backend takes its keys from this file; and over plain HTTP.
rgw crypt require ssl = false
rgw crypt s3 kms backend = testing
rgw crypt s3 kms encryption keys = $KMS_KEY_ID=$KMS_KEY
# The SDK sends LocationConstraint=<region> on CreateBucket outside us-east-1; the zonegroup is "default".
rgw relaxed region enforcement = true
${RGW_EXTRA_CONF:-}
EOF

ceph_() { ceph -c "$CONF" --connect-timeout 10 "$@"; }

# A process's start time (field 22 of /proc/PID/stat): with the PID, it names the process for good.
starttime() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  # shellcheck disable=SC2086 # split the fields after the command name
  set -- ${stat##*) }
  echo "${20}"
}

# Runs a daemon in the foreground as a background job; records its PID and start time.
STARTS=()
spawn() {
  local name=$1
  shift
  "$@" -f -c "$CONF" </dev/null >"$DIR/log/$name.out" 2>&1 &
  PIDS+=("$!")
  STARTS+=("$(starttime "$!" || echo 0)")
  echo "$!" >"$DIR/run/$name.pid-started"
}

wait_for() {
  local what=$1
  shift
  local deadline=$((SECONDS + START_TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    for pid in "${PIDS[@]}"; do
      kill -0 "$pid" 2>/dev/null || fail "a daemon (PID $pid) exited while waiting for $what; see $DIR/log"
    done
    [ "$SECONDS" -lt "$deadline" ] || fail "timed out after ${START_TIMEOUT}s waiting for $what; see $DIR/log"
    sleep 0.2
  done
}

# ------------------------------------------------------------------ monitor
monmaptool --create --clobber --fsid "$FSID" --addv a "[v1:127.0.0.1:$MON_PORT]" "$DIR/monmap" >/dev/null
ceph-mon --mkfs -i a --monmap "$DIR/monmap" -c "$CONF" >"$DIR/log/mon-mkfs.out" 2>&1 ||
  fail "ceph-mon --mkfs failed: $(tail -3 "$DIR/log/mon-mkfs.out")"
spawn mon ceph-mon -i a
wait_for "the monitor" ceph_ mon stat
phase monitor

# ------------------------------------------------------------------ OSD (memstore)
OSD_UUID="$(cat /proc/sys/kernel/random/uuid)"
OSD_ID="$(ceph_ osd new "$OSD_UUID")"
mkdir -p "$DIR/osd/$OSD_ID"
ceph-osd --mkfs -i "$OSD_ID" --osd-uuid "$OSD_UUID" -c "$CONF" >"$DIR/log/osd-mkfs.out" 2>&1 ||
  fail "ceph-osd --mkfs failed: $(tail -3 "$DIR/log/osd-mkfs.out")"
ceph_ osd crush add "osd.$OSD_ID" 1.0 root=default >/dev/null 2>&1 || fail "ceph osd crush add failed"
spawn osd ceph-osd -i "$OSD_ID"
osd_up() { ceph_ osd stat --format json | grep -q '"num_up_osds":1,'; }
wait_for "the OSD" osd_up
phase osd

# ------------------------------------------------------------------ gateway
spawn rgw radosgw -n client.rgw.gw
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for "the gateway on port $RGW_PORT" port_open "$RGW_PORT"
phase gateway

# ------------------------------------------------------------------ users and role
admin_() { radosgw-admin -c "$CONF" -n client.admin "$@"; }
user() {
  local uid=$1 access=$2 secret=$3 caps=$4
  admin_ user create --uid "$uid" --display-name "$uid" --access-key "$access" --secret "$secret" \
    ${caps:+--caps "$caps"} >"$DIR/log/user-$uid.json" 2>>"$DIR/log/radosgw-admin.err" ||
    fail "radosgw-admin user create $uid failed: $(tail -3 "$DIR/log/radosgw-admin.err")"
}
# Access key ids of 20 upper-case letters and digits, secrets of 40 letters and digits.
read -r ADMIN_KEY ADMIN_SECRET DEST_KEY DEST_SECRET TEA_KEY TEA_SECRET < <(node -e '
  const c = require("node:crypto"), A = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", a = A + "abcdefghijklmnopqrstuvwxyz";
  const key = (n, alphabet) => Array.from(c.randomBytes(n), (b) => alphabet[b % alphabet.length]).join("");
  console.log([0, 1, 2].map(() => `${key(20, A)} ${key(40, a)}`).join(" "));')
# admin: owns the source buckets (the archive's account) and seeds them
user archive-admin "$ADMIN_KEY" "$ADMIN_SECRET" "users=*;buckets=*;user-policy=*;roles=*"
# destination: the user's own key pair, owns the destination buckets
user destination "$DEST_KEY" "$DEST_SECRET" ""
# tea: the credentials endpoint's service user, the one the reader role trusts
user tea "$TEA_KEY" "$TEA_SECRET" ""

ROLE=tea-source-reader
TRUST='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam:::user/tea"]},"Action":["sts:AssumeRole"]}]}'
# The role may do anything in S3; each session narrows it with a read-only session policy.
ROLE_POLICY='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:::*"]}]}'
admin_ role create --role-name "$ROLE" --assume-role-policy-doc "$TRUST" \
  >"$DIR/log/role.json" 2>>"$DIR/log/radosgw-admin.err" || fail "radosgw-admin role create failed"
admin_ role-policy put --role-name "$ROLE" --policy-name s3-all --policy-doc "$ROLE_POLICY" \
  >/dev/null 2>>"$DIR/log/radosgw-admin.err" || fail "radosgw-admin role-policy put failed"
ROLE_ARN="$(node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(r.arn ?? r.Arn ?? r.role?.arn ?? "")' "$DIR/log/role.json")"
[ -n "$ROLE_ARN" ] || fail "radosgw-admin role create printed no ARN: $(head -c 300 "$DIR/log/role.json")"
phase "users and role"

# ------------------------------------------------------------------ info file
mkdir -p "$(dirname "$INFO")"
node -e '
  const [info, ...a] = process.argv.slice(1);
  const [dir, conf, endpoint, region, monPort, rgwPort, ak, as, dk, ds, tk, ts, roleArn, mon, osd, rgw, fsid, kmsKeyId, starts] = a;
  const doc = {
    endpoint, region, rgwPort: Number(rgwPort), monPort: Number(monPort), fsid,
    admin: { uid: "archive-admin", accessKeyId: ak, secretAccessKey: as },
    destination: { uid: "destination", accessKeyId: dk, secretAccessKey: ds },
    tea: { uid: "tea", accessKeyId: tk, secretAccessKey: ts },
    roleArn, kmsKeyId,
    pids: { mon: Number(mon), osd: Number(osd), rgw: Number(rgw) },
    starts: Object.fromEntries(["mon", "osd", "rgw"].map((n, i) => [n, Number(starts.split(" ")[i])])),
    dataDir: dir, confFile: conf, logDir: dir + "/log",
  };
  require("fs").writeFileSync(info, JSON.stringify(doc, null, 2) + "\n", { mode: 0o600 });
' "$INFO" "$DIR" "$CONF" "http://127.0.0.1:$RGW_PORT" "$REGION" "$MON_PORT" "$RGW_PORT" \
  "$ADMIN_KEY" "$ADMIN_SECRET" "$DEST_KEY" "$DEST_SECRET" "$TEA_KEY" "$TEA_SECRET" "$ROLE_ARN" \
  "${PIDS[0]}" "${PIDS[1]}" "${PIDS[2]}" "$FSID" "$KMS_KEY_ID" "${STARTS[*]}"
cp "$INFO" "$DIR/info.json"

trap - EXIT
say "up in $((SECONDS - started)) s ($PHASES): http://127.0.0.1:$RGW_PORT (PIDs ${PIDS[*]}), info in $INFO"
