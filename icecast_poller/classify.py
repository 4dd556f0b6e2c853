"""Client type from a listener's User-Agent: app, browser, player, relay or other.

Order matters and is deliberate: the tenant's own app first (apps embed player libraries
and browser engines in their User-Agent), then Icecast relays, then dedicated players and
platform media stacks, then browsers. Rules are documented in icecast_poller/README.md.
"""

from __future__ import annotations

import re

CLIENT_TYPES = ("app", "browser", "player", "other")

RELAY = re.compile(r"^(icecast|shoutcast)\b|\bicecast[ /]\d", re.IGNORECASE)
PLAYER = re.compile(
    r"\b(vlc|libvlc|lavf|ffmpeg|mpv|mplayer|gstreamer|winamp|foobar2000|itunes|applecoremedia|"
    r"exoplayer(lib)?|stagefright|nsplayer|windows-media-player|wmplayer|bass|sonos|"
    r"alexamediaplayer|roku|tunein|radio\.(de|net|at|fr|es|it|pt|pl|dk|se)|radioplayer|"
    r"audacious|rhythmbox|clementine|strawberry|xbmc|kodi|streamripper|music/\d|podcasts?)\b",
    re.IGNORECASE,
)
BROWSER = re.compile(r"^mozilla/\d.*\b(chrome|chromium|firefox|safari|edg|opr|trident|gecko)\b", re.IGNORECASE)


def client_type(user_agent: str, app_pattern: re.Pattern[str] | None = None) -> str:
    """``app``, ``relay``, ``player``, ``browser`` or ``other`` for one User-Agent."""
    if app_pattern is not None and user_agent and app_pattern.search(user_agent):
        return "app"
    if RELAY.search(user_agent):
        return "relay"
    if PLAYER.search(user_agent):
        return "player"
    if BROWSER.search(user_agent):
        return "browser"
    return "other"
