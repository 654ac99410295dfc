#!/usr/bin/env bash
# `npm run test:rgw`: starts a Ceph RGW cluster, runs the e2e suite against it (E2E_BACKEND=rgw),
# stops the cluster whatever happened, and exits with jest's status. Extra arguments go to jest.
#
# Fails (exit 1, with a message) when RGW cannot be installed or started: never passes silently.
set -uo pipefail
cd "$(dirname "$0")/../.."

mkdir -p .tmp/rgw
# A cluster of its own, so that a developer's cluster at the default info file is left alone.
export RGW_INFO="${RGW_INFO:-$PWD/.tmp/rgw/test-$$.json}"
export E2E_BACKEND=rgw

down() { scripts/rgw/down.sh "$RGW_INFO" || down_failed=1; }
down_failed=0
trap down EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

started=$SECONDS
if ! scripts/rgw/up.sh "$RGW_INFO"; then
  echo "test:rgw: FAILED: the RGW cluster could not be installed or started (see the messages above)" >&2
  exit 1
fi
echo "test:rgw: cluster up in $((SECONDS - started)) s" >&2

started=$SECONDS
npx jest test/e2e "$@"
status=$?
echo "test:rgw: jest exited $status after $((SECONDS - started)) s" >&2

trap - EXIT
down
if [ "$status" -eq 0 ] && [ "$down_failed" -ne 0 ]; then
  echo "test:rgw: FAILED: the cluster did not stop cleanly" >&2
  exit 1
fi
exit "$status"
