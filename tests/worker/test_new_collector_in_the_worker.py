"""Issue 39: the stub collector of tests/new_collector, loaded by Microsoft's worker library.

The app's own worker contract tests run in the copy with the stub: they find the functions by
discovery, so the new folder is loaded and bound as the host would, with no list to edit.
"""

import subprocess
import sys

from tests.new_collector.stub import NAME, build_app


def test_the_worker_library_loads_a_new_collector(tmp_path):
    app = build_app(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         "tests/worker/test_worker_contract.py", "-k", f"loads_in_the_worker and {NAME}"],
        cwd=app,
        env={"PATH": "/usr/bin:/bin", "HOME": str(app), "PYTHONPATH": str(app)},
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout[-3000:] + done.stderr[-2000:]
