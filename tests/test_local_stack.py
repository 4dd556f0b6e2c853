"""Issue 28.7: the local stack (`make run`) binds to loopback only, records its processes, and
stops every one of them on SIGTERM (as `make stop` sends it). Issue 38.1: it keeps running as the
deployed app runs: the numbers stay fresh and health stays 200 for minutes, past every timer's
freshness limit, and the HLS edge's players become sessions of a minute or more."""

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.helpers import ROOT


def _listening_ports_of(pids):
    """``(address, port)`` of every listening TCP socket the processes hold (from /proc)."""
    inodes = set()
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in open(table).read().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # LISTEN
                address, port = fields[1].split(":")
                found.append((address, int(port, 16)))
    return found


@pytest.mark.e2e
@pytest.mark.timeout(600)
def test_the_stack_keeps_running_on_loopback_and_stops_every_child_on_sigterm(tmp_path):
    pids_file = tmp_path / "stack" / "pids"
    env = {**os.environ, "PORT": "0", "DEVSTACK_DIR": str(tmp_path / "stack")}
    runner = subprocess.Popen(
        [sys.executable, "-m", "devstack.run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out = []
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            line = runner.stdout.readline()
            if not line:
                break
            out.append(line)
            if "Everything keeps running" in line:
                break
        assert any("Everything keeps running" in l for l in out), "".join(out)[-3000:]
        # Issue 38.2: the command it prints works pasted as printed, in a new shell (PATH only)
        [hint] = [l for l in out if "Everything keeps running" in l]
        printed = hint.split("try: ", 1)[1].split("   (", 1)[0].strip()
        assert printed.startswith("./fabrik ")
        pasted = subprocess.run(
            ["/bin/sh", "-c", printed], cwd=ROOT, env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True
        )
        assert pasted.returncode == 0 and json.loads(pasted.stdout), pasted.stderr[-2000:]
        shown = [l[2:].strip() for l in out if l.startswith("$ ./fabrik ")]
        assert shown, "".join(out)[-3000:]  # the commands the stack ran, shown as a user would type them
        settings = str(tmp_path / "stack" / "local.settings.json")
        [health_url] = re.findall(r"health +(http://\S+)", "".join(out))
        _keeps_running(health_url, settings)
        pids = [int(p) for p in pids_file.read_text().split()]
        assert pids[0] == runner.pid and len(pids) >= 5  # Redis, Azurite, Icecast, HAProxy
        children = pids[1:]
        listening = _listening_ports_of(children)
        assert listening and all(
            address in ("0100007F", "00000000000000000000000001000000") for address, _ in listening
        ), listening  # 127.0.0.1 or ::1 only
        runner.send_signal(signal.SIGTERM)
        runner.wait(timeout=60)
        deadline = time.monotonic() + 60
        while (alive := _alive(children)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive, alive
        assert not pids_file.exists()
    finally:
        if runner.poll() is None:
            os.killpg(runner.pid, signal.SIGKILL)


def _alive(pids):
    """The processes among ``pids`` still running (a zombie has ended)."""
    alive = []
    for pid in pids:
        try:
            status = open(f"/proc/{pid}/status").read().lower()
        except OSError:
            continue
        if "zombie" not in status:
            alive.append(pid)
    return alive


def _keeps_running(health_url, settings):
    """Health answers 200 at every look for 200 s after the first round (past the Icecast and
    Matomo timers' freshness limits, 120 and 180 s), the timers ran again, and the edge's HLS
    players became sessions of a minute or more."""
    started = time.monotonic()
    sessions = None
    while time.monotonic() - started < 200 or not sessions:
        assert time.monotonic() - started < 400, "the HLS players never became sessions"
        with urllib.request.urlopen(health_url, timeout=30) as answer:
            assert answer.status == 200
        shown = subprocess.run(
            [str(ROOT / "fabrik"), "show", "acme-fm", "hls", "--json", "--settings", settings],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        hls = json.loads(shown.stdout)["hls"]
        sessions = hls[-1].get("active_sessions") if hls else None
        time.sleep(10)  # a look every 10 s: the timers' pace, not a race
    status = subprocess.run(
        [str(ROOT / "fabrik"), "status", "--json", "--settings", settings], cwd=ROOT, capture_output=True, text=True
    )
    runs = {v["function"]: v for v in json.loads(status.stdout)["sources"] if v["source"] == "_run"}
    assert status.returncode == 0 or all(v["state"] in ("ok", "warn", "unknown") for v in runs.values())
    # doctor on the local stack: no Event Hub here (the hub stand-in feeds the function), so its
    # trigger is not configured, and everything else is reached: exit 0 (issue 38.3)
    doctor = subprocess.run(
        [str(ROOT / "fabrik"), "doctor", "--settings", settings], cwd=ROOT, capture_output=True, text=True
    )
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    for function in ("icecast_poller", "matomo_live_poller", "eventhub_to_redis"):
        assert runs[function]["state"] == "ok", runs[function]
