#!/usr/bin/env bash
# Stops the cluster scripts/rgw/up.sh started: exactly the PIDs it recorded, then removes its data dir.
#
#   scripts/rgw/down.sh [INFO_FILE]   (default: $RGW_INFO, else .tmp/rgw/info.json)
#
# A PID is signalled only while /proc/PID/cmdline still names the daemon and this cluster's
# ceph.conf, so a PID reused by another process after the daemon died is left alone.
set -uo pipefail

REPO="$(cd "$(dirname "$0")/../.." && pwd)"
INFO="${1:-${RGW_INFO:-$REPO/.tmp/rgw/info.json}}"
STOP_TIMEOUT="${RGW_STOP_TIMEOUT:-30}"

say() { echo "rgw down: $*" >&2; }

if [ ! -f "$INFO" ]; then
  say "no info file at $INFO: nothing to stop"
  exit 0
fi

read -r DIR CONF PIDS < <(node -e '
  const i = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(i.dataDir, i.confFile, Object.values(i.pids ?? {}).join(" "));' "$INFO") || {
  say "cannot read $INFO"
  exit 1
}

# Is PID still the daemon started with this cluster's configuration?
ours() {
  local cmdline
  cmdline="$({ tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null)" || return 1
  case "$cmdline" in *"$CONF"*) return 0 ;; *) return 1 ;; esac
}

# Gateway first, then the OSD, then the monitor: each can still reach what it depends on.
for pid in $(echo "$PIDS" | tr ' ' '\n' | tac); do
  ours "$pid" && kill -TERM "$pid" 2>/dev/null
done
deadline=$((SECONDS + STOP_TIMEOUT))
status=0
for pid in $PIDS; do
  while ours "$pid"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      say "PID $pid did not exit after SIGTERM in ${STOP_TIMEOUT}s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null
      sleep 0.5
      ours "$pid" && { say "PID $pid survived SIGKILL"; status=1; }
      break
    fi
    sleep 0.1
  done
done

if [ "$status" -eq 0 ]; then
  case "$DIR" in
    */rgw-cluster.*) rm -rf "$DIR" ;;
    *) say "not removing unexpected data dir '$DIR'" ;;
  esac
  rm -f "$INFO"
  say "stopped PIDs $PIDS"
fi
exit "$status"
