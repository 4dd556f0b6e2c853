"""What a User-Agent is: the tenant's app, a bot, a relay, a player, a browser or other, and
on which kind of device.

Why maintained lists instead of our own rules: our regexes put 83 % of the OPAWG example apps
in ``other`` and counted 41 bot examples as players. The lists are:

* OPAWG user-agents v2 (MIT, vendored in ``shared/data/opawg-user-agents-v2/`` with its
  licence and upstream commit): bots, apps, libraries, browsers and devices, matched as its
  README says (first entry wins; bots first; devices only for non-bots);
* the ``crawler-user-agents`` package (MIT) as a second bot list, asked only when OPAWG names
  nothing: OPAWG is the audio industry's list (it names podcast and radio apps the crawler
  list does not know), so its answer stands.

Order: the tenant's own app rule, then Icecast relays (they pull a stream to pass it on), then
OPAWG, then the crawler list, then the few player and browser rules OPAWG lacks. A lookup runs
several hundred regexes (100-300 µs), so results are cached per User-Agent, bounded.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

KINDS = ("app", "bot", "relay", "player", "browser", "other")
DEVICES = ("mobile", "computer", "smart_speaker", "smart_tv", "watch", "auto", "unknown")
OPAWG_DIR = Path(__file__).resolve().parent.parent / "data" / "opawg-user-agents-v2"
CACHE_SIZE = 50_000  # distinct User-Agents: a large station sees a few thousand

RELAY = re.compile(r"^(icecast|shoutcast)\b|\bicecast[ /]\d", re.IGNORECASE)
# Players and media stacks OPAWG does not list (it is a podcast list): radio apps and devices.
PLAYER = re.compile(
    r"\b(vlc|libvlc|lavf|ffmpeg|mpv|mplayer|gstreamer|winamp|foobar2000|itunes|applecoremedia|"
    r"exoplayer(lib)?|stagefright|nsplayer|windows-media-player|wmplayer|bass|sonos|"
    r"alexamediaplayer|roku|tunein|radio\.(de|net|at|fr|es|it|pt|pl|dk|se)|radioplayer|"
    r"audacious|rhythmbox|clementine|strawberry|xbmc|kodi|streamripper|music/\d|podcasts?)\b",
    re.IGNORECASE,
)
BROWSER = re.compile(r"^mozilla/\d.*\b(chrome|chromium|firefox|safari|edg|opr|trident|gecko)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Client:
    kind: str  # one of KINDS
    device: str  # one of DEVICES ("unknown" for bots and unplaced agents)


@dataclass(frozen=True)
class _Lists:
    """OPAWG's lists, compiled once: ``(kind, pattern)`` in matching order, and devices."""

    entities: tuple[tuple[str, re.Pattern[str]], ...]
    devices: tuple[tuple[str, re.Pattern[str]], ...]


@lru_cache(maxsize=1)
def opawg_lists(folder: Path = OPAWG_DIR) -> _Lists:
    def entries(name: str) -> list[dict[str, Any]]:
        return json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))["entries"]

    entities = [("bot", re.compile(e["pattern"])) for e in entries("bots")]
    entities += [("player", re.compile(e["pattern"])) for e in entries("apps")]
    entities += [
        ("bot" if e.get("category") == "bot" else "player", re.compile(e["pattern"])) for e in entries("libraries")
    ]
    entities += [("browser", re.compile(e["pattern"])) for e in entries("browsers")]
    devices = [(e["category"], re.compile(e["pattern"])) for e in entries("devices") if e.get("category") in DEVICES]
    return _Lists(entities=tuple(entities), devices=tuple(devices))


def _is_listed_crawler(user_agent: str) -> bool:
    import crawleruseragents  # 0.5 MB of JSON: loaded on the first agent OPAWG does not name

    return crawleruseragents.is_crawler(user_agent)


@lru_cache(maxsize=CACHE_SIZE)
def _classify(user_agent: str, app_pattern: re.Pattern[str] | None) -> Client:
    user_agent = user_agent.replace("\r", " ").replace("\n", " ")  # OPAWG: newlines only come from bad actors
    if app_pattern is not None and user_agent and app_pattern.search(user_agent):
        return Client("app", _device(user_agent))
    if RELAY.search(user_agent):
        return Client("relay", "unknown")
    kind = next((k for k, pattern in opawg_lists().entities if pattern.search(user_agent)), None)
    if kind is None and user_agent and _is_listed_crawler(user_agent):
        kind = "bot"
    if kind is None:
        kind = "player" if PLAYER.search(user_agent) else "browser" if BROWSER.search(user_agent) else "other"
    return Client(kind, "unknown" if kind == "bot" else _device(user_agent))


def _device(user_agent: str) -> str:
    return next((category for category, pattern in opawg_lists().devices if pattern.search(user_agent)), "unknown")


def classify(user_agent: str, app_pattern: re.Pattern[str] | None = None) -> Client:
    """The client behind one User-Agent (an empty one is ``other``); ``app_pattern`` is the
    tenant's own app rule (``APP_USER_AGENT_PATTERN``), which wins over every list."""
    return _classify(user_agent[:1024], app_pattern)  # patterns hash by their text and flags


def ordered_patterns() -> list[tuple[str, str]]:
    """``(pattern, kind)`` in matching order, as ``classify`` applies the lists after the
    tenant's app rule and the relays: OPAWG's bots, apps, libraries and browsers, then the
    crawler list's bots. What an HAProxy edge matches (``python -m haproxy_agent clients-map``:
    HAProxy's ``map_reg`` answers with the first match, in file order, so an app the crawler
    list also names stays an app there too)."""
    import crawleruseragents

    lists = opawg_lists()
    out = [(pattern.pattern, kind) for kind, pattern in lists.entities]
    out += [(entry["pattern"], "bot") for entry in crawleruseragents.CRAWLER_USER_AGENTS_DATA]
    return out
