#!/usr/bin/env bash
# Stops the cluster scripts/rgw/up.sh started: exactly the PIDs it recorded, then removes its data dir.
#
#   scripts/rgw/down.sh [INFO_FILE]   (default: $RGW_INFO, else .tmp/rgw/info.json)
#
# A PID counts as the daemon only while its start time is the one up.sh recorded (so a reused PID is
# left alone), and is signalled only while its command line names this cluster's ceph.conf. It is
# gone once /proc/PID is gone or a zombie.
set -uo pipefail

REPO="$(cd "$(dirname "$0")/../.." && pwd)"
INFO="${1:-${RGW_INFO:-$REPO/.tmp/rgw/info.json}}"
STOP_TIMEOUT="${RGW_STOP_TIMEOUT:-20}"

say() { echo "rgw down: $*" >&2; }

if [ ! -f "$INFO" ]; then
  say "no info file at $INFO: nothing to stop"
  exit 0
fi

# Lines: data dir, conf file, then "pid start" per daemon, gateway first (it depends on the others).
mapfile -t LINES < <(node -e '
  const i = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(i.dataDir ?? "");
  console.log(i.confFile ?? "");
  for (const name of ["rgw", "osd", "mon"]) {
    if (i.pids?.[name]) console.log(`${i.pids[name]} ${i.starts?.[name] ?? 0}`);
  }' "$INFO")
if [ "${#LINES[@]}" -lt 2 ] || [ -z "${LINES[1]}" ]; then
  say "cannot read $INFO"
  exit 1
fi
DIR="${LINES[0]}"
CONF="${LINES[1]}"
DAEMONS=("${LINES[@]:2}")

# alive PID START: the process is there, not a zombie, and started when up.sh recorded.
alive() {
  local stat fields
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  # shellcheck disable=SC2206 # split the fields after the command name
  fields=(${stat##*) })
  [ "${fields[0]}" != Z ] || return 1
  [ "$2" = 0 ] || [ "${fields[19]}" = "$2" ]
}
# ours PID START: alive, and its command line names this cluster's configuration.
ours() {
  alive "$1" "$2" || return 1
  local cmdline
  cmdline="$({ tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null)" || return 1
  case "$cmdline" in *"$CONF"*) return 0 ;; *) return 1 ;; esac
}

# One at a time, gateway first: a gateway whose OSD is already gone can hang in its shutdown.
status=0
pids=()
for daemon in "${DAEMONS[@]}"; do
  read -r pid start <<<"$daemon"
  pids+=("$pid")
  ours "$pid" "$start" && kill -TERM "$pid" 2>/dev/null
  deadline=$((SECONDS + STOP_TIMEOUT))
  while alive "$pid" "$start"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      say "PID $pid did not exit ${STOP_TIMEOUT}s after SIGTERM: SIGKILL"
      ours "$pid" "$start" && kill -KILL "$pid" 2>/dev/null
      sleep 1
      alive "$pid" "$start" && { say "PID $pid survived SIGKILL"; status=1; }
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
  say "stopped PIDs ${pids[*]}"
fi
exit "$status"
