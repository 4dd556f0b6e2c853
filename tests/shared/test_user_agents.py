"""Issue 36: client kinds from the maintained lists. Of OPAWG's own examples, 1.0.0's regexes put
83 % of the apps in `other` and counted 41 bots as players: every example now lands in its list."""

import json

import pytest

from shared.core.user_agents import OPAWG_DIR, classify

EXPECTED = {"bots": "bot", "apps": "player", "browsers": "browser"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_opawg_example_lands_in_its_own_list(name):
    entries = json.loads((OPAWG_DIR / f"{name}.json").read_text(encoding="utf-8"))["entries"]
    examples = [example for entry in entries for example in entry.get("examples", [])]
    wrong = [(example, classify(example).kind) for example in examples if classify(example).kind != EXPECTED[name]]
    assert examples and wrong == []


def test_the_tenants_app_rule_wins_over_every_list():
    import re

    assert classify("okhttp/4.12.0").kind == "bot"  # a bare HTTP library, by OPAWG
    assert classify("okhttp/4.12.0", re.compile("^okhttp/")).kind == "app"
