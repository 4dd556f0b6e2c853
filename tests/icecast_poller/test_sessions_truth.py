"""Issue 36: the audio stream's session metrics through the poller's own path. A simulated
audience (arrivals, durations, players, apps, browsers, bots, a relay, listeners moved to the
tenant's fallback mount mid-session) is written as Icecast 2.4.4 answers it
(``/admin/listclients``, the recorded format), read by the parser and aggregated; every metric
must equal the sessions' truth (tests/shared/test_measurement.py) within one poll interval."""

import json
from xml.sax.saxutils import escape

from hypothesis import given, settings
from hypothesis import strategies as st

from icecast_poller.aggregate import aggregate
from icecast_poller.fetch import ServerResult
from icecast_poller.parse import MountStats, ServerStats, parse_listclients
from icecast_poller.settings import IcecastServer
from icecast_poller.tenant import MountOwners
from shared.core.measurement import METRICS
from shared.core.tenants import parse_tenants
from shared.privacy.identity import IdentityHasher
from tests.shared.test_measurement import START, check_truth, gaps

AGENTS = {
    "player": "VLC/3.0.20 LibVLC/3.0.20",
    "app": "AcmeRadio/3.2 (iPhone; iOS 17.1) CFNetwork/1474",
    "browser": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "bot": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "relay": "Icecast 2.4.4",
}
OWNERS = MountOwners.of(
    parse_tenants(
        json.dumps(
            {
                "acme-fm": {
                    "icecast": {"mounts": ["/a.mp3"], "fallback_mounts": ["/fb.mp3"], "app_user_agent": "^AcmeRadio/"}
                }
            }
        )
    )
)
HASHER = IdentityHasher(b"k" * 32)
audiences = st.lists(
    st.tuples(
        st.one_of(st.integers(0, 200), st.integers(0, 3000)),
        st.integers(1, 2400),
        st.sampled_from(sorted(AGENTS)),
        st.one_of(st.none(), st.integers(1, 600)),  # seconds into the session it moves to the fallback
    ),
    max_size=25,
)


def listclients(mount, sessions, now):
    rows = "".join(
        f"<listener><IP>10.0.{i // 250}.{i % 250 + 1}</IP><UserAgent>{escape(AGENTS[kind])}</UserAgent>"
        f"<Connected>{now - START - start}</Connected><ID>{i}</ID></listener>"
        for i, (start, _, kind, _) in sessions
    )
    return (
        f'<?xml version="1.0"?>\n<icestats><source mount="{mount}"><Listeners>{len(sessions)}</Listeners>'
        f"{rows}</source></icestats>"
    ).encode()


def poll(audience, now, previous):
    alive = [(i, s) for i, s in enumerate(audience) if START + s[0] <= now < START + s[0] + s[1]]
    moved = lambda s: s[3] is not None and now - START - s[0] >= s[3]  # noqa: E731
    by_mount = {
        "/a.mp3": [(i, s) for i, s in alive if not moved(s)],
        "/fb.mp3": [(i, s) for i, s in alive if moved(s)],
    }
    result = ServerResult(
        server=IcecastServer(name="ice", url="http://x", username="a", password="b"),
        stats=ServerStats(
            server_id="Icecast 2.4.4",
            listeners=len(alive),
            mounts=tuple(MountStats(m, len(v), None, 128, None, None, has_source=True) for m, v in by_mount.items()),
        ),
        listeners={
            m: parse_listclients(listclients(m, v, now), ip_tokens=HASHER.ip_tokens) for m, v in by_mount.items()
        },
    )
    interval = now - previous if previous else 30
    [sample] = aggregate([result], OWNERS, time_ms=now * 1000, interval_s=interval).samples
    return sample.metrics


@settings(max_examples=80, deadline=None)
@given(audiences, gaps)
def test_the_pollers_session_metrics_are_the_truth_of_the_audience(audience, gaps):
    polls, now, previous = [], START, None
    for gap in gaps:
        now += gap
        metrics = poll(audience, now, previous)
        polls.append((now, {name: metrics[name] for name in METRICS}))
        previous = now
    check_truth([(s, d, kind) for s, d, kind, _ in audience], gaps, polls)
