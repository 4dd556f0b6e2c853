"""A real ``rsyslogd`` (Debian's package) on a socket in a folder of its own, running the
shipped rule (haproxy_agent/rsyslog-fabrik-hls.conf) with only the log file's path rewritten.

HAProxy sends to the socket as it sends to ``/dev/log`` on an edge; rsyslog writes the file
with the rule's named template, exactly as on Debian 12.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from devstack.process import MissingComponent, find_binary

RULE = Path(__file__).resolve().parent.parent / "haproxy_agent" / "rsyslog-fabrik-hls.conf"
SHIPPED_LOG = "/var/log/fabrik-hls/haproxy-hls.log"


class Rsyslog:
    def __init__(self, workdir: Path, *, template: str | None = None):
        """``template``: another of rsyslog's templates in place of the rule's (to read both headers)."""
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.socket = workdir / "log.sock"
        self.pidfile = workdir / "rsyslogd.pid"
        self.log_file = workdir / "fabrik-hls" / "haproxy-hls.log"
        self.other_file = workdir / "everything-else.log"
        rule = RULE.read_text().replace(SHIPPED_LOG, str(self.log_file))
        if template:
            rule = rule.replace(";RSYSLOG_FileFormat", f";{template}")
        (workdir / "rsyslog.d").mkdir(exist_ok=True)
        (workdir / "rsyslog.d" / "48-fabrik-hls.conf").write_text(rule)
        (workdir / "spool").mkdir(exist_ok=True)
        self.config = workdir / "rsyslog.conf"
        # Debian's rsyslog.conf in what matters here: file modes, the drop-in folder, and a catch-all
        # after it (as Debian's 49-haproxy.conf and 50-default.conf): "& stop" must keep lines out of it.
        self.config.write_text(f"""
global(workDirectory="{workdir / "spool"}")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="{self.socket}" CreatePath="on")
$FileOwner root
$FileGroup adm
$FileCreateMode 0640
$DirCreateMode 0755
$IncludeConfig {workdir / "rsyslog.d"}/*.conf
*.* {self.other_file}
""")
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Rsyslog":
        binary = find_binary("rsyslogd", "/usr/sbin/rsyslogd")
        check = subprocess.run([binary, "-N1", "-f", str(self.config)], capture_output=True, text=True)
        if check.returncode != 0:
            raise MissingComponent(f"rsyslogd refused the configuration: {check.stderr[-1000:]}")
        self.proc = subprocess.Popen(
            [binary, "-n", "-f", str(self.config), "-i", str(self.pidfile)],
            stdout=subprocess.DEVNULL,
            stderr=open(self.workdir / "rsyslogd.out", "ab"),
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while not (self.socket.exists() and self.pidfile.exists()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise MissingComponent(f"rsyslogd did not start: {(self.workdir / 'rsyslogd.out').read_text()[-1000:]}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
