"""Issue 39: settings are declared once (descriptors, shared.core.app_settings); the sample,
docs/settings.md and the code's reads and defaults are held to the declarations."""

import dataclasses
import json
from pathlib import Path

import pytest

from scripts.settings_docs import DOC, SAMPLE, groups, sample_json, written_doc
from shared.core.errors import ConfigError
from shared.core.functions import descriptors
from tests.test_app_layout import PLATFORM, ROOT, _settings_read_in

DECLARED = {s.name: s for _, settings, _ in groups() for s in settings}


def test_the_sample_and_the_docs_are_the_declarations():
    """`make docs` writes both; an edit by hand, or a declaration without `make docs`, fails here."""
    assert SAMPLE.read_text(encoding="utf-8") == sample_json(), "run `make docs`"
    text = DOC.read_text(encoding="utf-8")
    assert text == written_doc(text), "run `make docs`"


def test_no_setting_is_declared_twice():
    names = [s.name for _, settings, _ in groups() for s in settings]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


def test_every_setting_the_code_reads_is_declared():
    read = set()
    for path in [*ROOT.glob("shared/**/*.py"), *ROOT.glob("*/settings.py"), *ROOT.glob("*/replay.py")]:
        read |= _settings_read_in(path)
    assert len(read) > 30, "the scan found too few settings"
    assert not sorted(read - PLATFORM - set(DECLARED))


def _shape(value, depth=0):
    """What a settings object holds, comparable across two loads (no identities, no callables)."""
    if depth > 6:
        return type(value).__name__
    if dataclasses.is_dataclass(value):
        return {f.name: _shape(getattr(value, f.name), depth + 1) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_shape(v, depth + 1) for v in value]
        return sorted(map(repr, items)) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, dict):
        return {repr(k): _shape(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (str, int, float, bool, bytes, type(None), Path)):
        return value
    if callable(value):
        return "callable"
    if hasattr(value, "__dict__"):
        return {k: _shape(v, depth + 1) for k, v in vars(value).items() if not k.startswith("_")}
    return type(value).__name__


def _sample() -> dict[str, str]:
    return json.loads(SAMPLE.read_text(encoding="utf-8"))["Values"]


LOADED = sorted(
    n for n, d in descriptors().items() if d.load_settings and d.settings and n != "store_downloads_fetcher"
)


@pytest.mark.parametrize("function", LOADED)
def test_the_samples_values_load(function):
    """The sample is a working start: its values pass the function's own settings (issue 39
    found EVENT_MAX_FUTURE_SECONDS=600 in it, which the code refuses: at most 60)."""
    descriptors()[function].load_settings(_sample())


@pytest.mark.parametrize("function", LOADED)
def test_a_documented_default_is_the_one_the_code_uses(function):
    """For each setting the function declares with a value as its default: unset and set to
    that value load the same settings."""
    descriptor = descriptors()[function]
    base = _sample()
    checked = 0
    for setting in descriptor.settings:
        value = setting.default_value
        if value is None or setting.name not in base:
            continue
        unset = {k: v for k, v in base.items() if k != setting.name}
        try:
            left = _shape(descriptor.load_settings(unset))
        except ConfigError as exc:
            raise AssertionError(f"{setting.name}: unset fails: {exc}") from None
        assert left == _shape(descriptor.load_settings({**unset, setting.name: value})), setting.name
        checked += 1
    assert checked, "no default checked"


def test_a_documented_default_of_the_apps_settings_is_the_one_the_code_uses():
    from shared.core.app_settings import APP
    from shared.core.settings import load_store_settings

    base = {"REDIS_URL": "redis://127.0.0.1:6379/0"}
    store_keys = {"REDIS_CLUSTER", "LIVE_WINDOW_SECONDS", "REDIS_KEY_PREFIX", "HLS_HOST_STALE_SECONDS"}
    for setting in APP:
        if setting.name in store_keys:
            assert setting.default_value is not None, setting.name
            assert _shape(load_store_settings(base)) == _shape(
                load_store_settings({**base, setting.name: setting.default_value})
            ), setting.name
