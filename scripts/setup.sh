#!/usr/bin/env bash
# Make this machine ready for `make test` / `make run`: Debian packages, Azurite from npm,
# and a virtualenv with both requirements files. As root it installs what is missing; as
# another user it prints the exact commands and stops. Re-running is cheap (stamps).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
root=0; [ "$(id -u)" = 0 ] && root=1
need_apt=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]; }

have redis-server || need_apt+=(redis-server)
have icecast2 || need_apt+=(icecast2)
have haproxy || need_apt+=(haproxy)
have chromium || need_apt+=(chromium)  # the live page is tested in a real headless browser
have logrotate || need_apt+=(logrotate)  # ship-logs: the shipped logrotate config, run for real
have rsyslogd || need_apt+=(rsyslog)  # ... and the shipped rsyslog rule between HAProxy and the file
have node || need_apt+=(nodejs)
have npm || need_apt+=(npm)
"$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
# `make test-consumers` (SETUP_CONSUMERS=1): Spark needs a Java 17+ runtime.
[ "${SETUP_CONSUMERS:-0}" = 1 ] && ! have java && need_apt+=(openjdk-17-jre-headless)

if [ ${#need_apt[@]} -gt 0 ]; then
  if [ $root = 1 ]; then
    echo "setup: installing Debian packages: ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "setup: missing Debian packages. Install them, then run make again:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${need_apt[*]}" >&2
    exit 1
  fi
fi

if [ ! -x node_modules/.bin/azurite-blob ] || [ package-lock.json -nt node_modules/.stamp ]; then
  echo "setup: installing azurite (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  touch node_modules/.stamp
fi

stamp=$VENV/.requirements.sha
want=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)
if [ ! -x $VENV/bin/python ] || [ "$(cat $stamp 2>/dev/null)" != "$want" ]; then
  echo "setup: creating $VENV with requirements.txt and requirements-dev.txt"
  [ -x $VENV/bin/python ] || "$PYTHON" -m venv $VENV
  # A current pip: the package build resolves for the target Python with it (scripts/package.py).
  $VENV/bin/python -m pip install -q --disable-pip-version-check --upgrade "pip>=24.2"
  $VENV/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
  echo "$want" > $stamp
fi

if [ "${SETUP_CONSUMERS:-0}" = 1 ]; then
  stamp=$VENV/.consumers.sha
  want=$(cat requirements-consumers.txt | sha256sum | cut -d' ' -f1)
  if [ "$(cat $stamp 2>/dev/null)" != "$want" ]; then
    echo "setup: installing requirements-consumers.txt (pyspark) into $VENV"
    $VENV/bin/python -m pip install -q --disable-pip-version-check -r requirements-consumers.txt
    echo "$want" > $stamp
  fi
fi
