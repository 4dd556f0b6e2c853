"""Build dist/functionapp.zip the way Azure Functions runs a package (zip deploy without a
remote build, or WEBSITE_RUN_FROM_PACKAGE): the app's files minus what .funcignore excludes,
and the runtime dependencies installed for Linux x86-64 and the target Python into
.python_packages/lib/site-packages, which the Python worker puts on sys.path. The
dependencies are the exact versions of ``locks/requirements-py<version>.txt`` (``make lock``),
each file checked against its SHA-256 there: nothing is resolved at package time.

Usage: python scripts/package.py [--python-version 3.11] [--out dist/functionapp.zip]
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64")
SITE = ".python_packages/lib/site-packages"


def ignore_patterns(root: Path = ROOT) -> list[str]:
    lines = (root / ".funcignore").read_text().splitlines()
    return [l.strip() for l in lines if l.strip() and not l.strip().startswith("#")]


def excluded(path: str, patterns: list[str]) -> bool:
    parts = path.split("/")
    for pattern in patterns:
        if pattern.endswith("/"):
            name = pattern.rstrip("/")
            if any(fnmatch.fnmatch(p, name) for p in parts[:-1]) or fnmatch.fnmatch(path, name + "/*"):
                return True
        elif fnmatch.fnmatch(path, pattern) or any(fnmatch.fnmatch(p, pattern) for p in parts):
            return True
    return False


def app_files(root: Path = ROOT) -> list[str]:
    """The files git tracks, less .funcignore's: an untracked `.env`, key or settings copy lying
    in the checkout never reaches the package (issue 37.5)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "-z"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.split("\0")
    except (OSError, subprocess.CalledProcessError):
        raise SystemExit(f"package: {root} is not a git checkout; the package holds tracked files only") from None
    patterns = ignore_patterns(root)
    return sorted(p for p in listed if (root / p).is_file() and not excluded(p, patterns))


def requirements_for(python_version: str, text: str) -> list[str]:
    """The requirement lines that apply to ``python_version``: their environment markers evaluated
    for the target, not for the Python running this script (pip evaluates them for the latter)."""
    from pip._vendor.packaging.markers import Marker  # pip's own copy: no extra dependency

    major, minor = (int(x) for x in python_version.split(".")[:2])
    environment = {
        "python_version": f"{major}.{minor}",
        "python_full_version": f"{major}.{minor}.0",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
        "platform_machine": "x86_64",
    }
    lines = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        requirement, _, marker = line.partition(";")
        if not marker.strip() or Marker(marker.strip()).evaluate(environment):
            lines.append(requirement.strip())
    return lines


def lock_for(python_version: str, root: Path = ROOT) -> Path:
    major, minor = python_version.split(".")[:2]
    path = root / "locks" / f"requirements-py{major}.{minor}.txt"
    if not path.exists():
        raise SystemExit(f"package: no lock for Python {major}.{minor} ({path.relative_to(root)}): run make lock")
    return path


def build(python_version: str, out: Path) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        stage = Path(tmp) / "app"
        for rel in app_files():
            target = stage / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, target)
        target_args = [
            *(a for p in PLATFORMS for a in ("--platform", p)),
            "--implementation",
            "cp",
            "--python-version",
            python_version,
            "--only-binary=:all:",
        ]
        wheels = Path(tmp) / "wheels"
        # Download the locked versions for the target with `pip download` (which checks
        # Requires-Python against the target; `pip install` checks it against the Python running
        # pip), every file against its hash. Then install exactly those wheels.
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--disable-pip-version-check",
                "--require-hashes",
                "--no-deps",
                "--dest",
                str(wheels),
                *target_args,
                "-r",
                str(lock_for(python_version)),
            ],
            check=True,
        )
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-compile",
                "--no-deps",
                "--no-index",
                "--ignore-requires-python",
                "--target",
                str(stage / SITE),
                *target_args,
                *map(str, sorted(wheels.glob("*.whl"))),
            ],
            check=True,
        )
        for cache in stage.rglob("__pycache__"):
            shutil.rmtree(cache, ignore_errors=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
            for path in sorted(stage.rglob("*")):
                if path.is_file():
                    info = zipfile.ZipInfo(str(path.relative_to(stage)), date_time=(2020, 1, 1, 0, 0, 0))
                    info.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
                    info.compress_type = zipfile.ZIP_DEFLATED
                    archive.writestr(info, path.read_bytes())
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python-version", default=os.environ.get("PYTHON_VERSION", "3.11"))
    parser.add_argument("--out", default=str(ROOT / "dist" / "functionapp.zip"))
    args = parser.parse_args()
    out = build(args.python_version, Path(args.out))
    print(
        f"{out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}: {out.stat().st_size / 1e6:.1f} MB "
        f"for Python {args.python_version} on Linux x86-64"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
