#!/usr/bin/env bash
# CI's run (.ci/run) on a fresh clone of HEAD while two busy processes keep both cores loaded,
# as on a shared CI host: a test that depends on the machine's speed fails here first.
# Only committed work is tested. LOAD_SCRIPT runs something else in the clone (e.g. "make test").
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
burners=()
cleanup() {
  for pid in "${burners[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
git clone --quiet "$root" "$work/clone"
for _ in 1 2; do
  bash -c 'while :; do :; done' &
  burners+=("$!")
done
echo "test-under-load: $(nproc) cores, 2 busy processes; running ${LOAD_SCRIPT:-.ci/run} in $work/clone"
cd "$work/clone"
started=$SECONDS
bash -c "${LOAD_SCRIPT:-.ci/run}"
echo "test-under-load: passed in $((SECONDS - started)) s"
