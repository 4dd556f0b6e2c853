"""Issue 26: a live page a station can be given. Viewer links that open one tenant only, a feed
with nothing of another tenant or of the app's insides, honest tiles and broken lines in a real
Chromium, bounded work per request."""

import base64
import json
import re
import time

import jwt
import pytest

from devstack.http_host import HttpHost
from shared.live.store import Event, Sample
from shared.read.view_tokens import issue, parse_keys
from tests.helpers import run_cli, write_settings
from tests.read_side.test_read_side import VIEW_KEY, browse, page_dom, stack  # noqa: F401

OLD_KEY = base64.b64encode(b"an-older-view-signing-key-0123456789").decode()
KEYS = parse_keys(VIEW_KEY)


def get_feed(env, tenant, token, query=""):
    host = HttpHost(env=env)
    status, _, body = host.handle(
        "GET", f"/api/feed/{tenant}{query}", {"authorization": f"Bearer {token}"} if token else {}
    )
    return status, json.loads(body) if body else None, body.decode()


def test_a_link_opens_its_own_tenant_only(stack):
    env, _, _ = stack
    token = issue(KEYS, "acme-fm", days=1)
    status, doc, _ = get_feed(env, "acme-fm", token)
    assert status == 200 and doc["series"]["icecast"][-1]["listeners"] == 40
    other, body, _ = get_feed(env, "metro-kids", token)
    missing, body2, _ = get_feed(env, "no-such-station", token)
    assert (other, missing) == (403, 403) and body == body2  # no hint whether the other tenant exists
    assert get_feed(env, "acme-fm", None)[0] == 401


def _altered(token):
    head, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "metro-kids"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{head}.{forged}.{signature}"


def test_forged_altered_expired_and_foreign_tokens_are_refused(stack):
    env, _, _ = stack
    now = time.time()
    good = issue(KEYS, "metro-kids", days=1)
    cases = {
        "altered": _altered(issue(KEYS, "acme-fm", days=1)),
        "expired": issue(KEYS, "metro-kids", days=1, now=now - 2 * 86400),
        "foreign key": issue(parse_keys(base64.b64encode(b"x" * 40).decode()), "metro-kids", days=1),
        "none algorithm": jwt.encode(
            {
                "sub": "metro-kids",
                "aud": "fabrik-live-view",
                "iss": "fabrik-live-collectors",
                "iat": int(now),
                "exp": int(now) + 60,
            },
            None,
            algorithm="none",
        ),
        "garbage": "not.a.token",
        "no kid": jwt.encode({"sub": "metro-kids"}, base64.b64decode(VIEW_KEY), algorithm="HS256"),
    }
    for name, token in cases.items():
        status, doc, _ = get_feed(env, "metro-kids", token)
        assert status == 401, name
    assert get_feed(env, "metro-kids", good)[0] == 200


def test_keys_rotate_without_breaking_links(stack):
    env, _, _ = stack
    old_link = issue(parse_keys(OLD_KEY), "acme-fm", days=1)
    rotated = {**env, "VIEW_SIGNING_KEYS": f"{VIEW_KEY},{OLD_KEY}"}  # the new key signs, both verify
    assert get_feed(rotated, "acme-fm", old_link)[0] == 200
    assert get_feed(rotated, "acme-fm", issue(parse_keys(rotated["VIEW_SIGNING_KEYS"]), "acme-fm", days=1))[0] == 200
    assert get_feed(env, "acme-fm", old_link)[0] == 401  # the old key dropped: its links end


def test_share_prints_a_link_the_page_accepts(stack, tmp_path):
    env, _, _ = stack
    settings = write_settings(tmp_path / "s.json", env)
    done = run_cli("share", "acme-fm", "--days", "7", "--base-url", "https://live.example.org", settings=settings)
    assert done.returncode == 0, done.stderr
    link = re.search(r"https://live\.example\.org/api/view/acme-fm#token=(\S+)", done.stdout)
    assert link and "valid until" in done.stdout
    assert get_feed(env, "acme-fm", link[1])[0] == 200 and get_feed(env, "metro-kids", link[1])[0] == 403
    unknown = run_cli("share", "nobody", settings=settings)
    assert unknown.returncode == 2 and "unknown tenant 'nobody'" in unknown.stderr
    nokey = run_cli("share", "acme-fm", settings=write_settings(tmp_path / "n.json", {**env, "VIEW_SIGNING_KEYS": ""}))
    assert nokey.returncode == 2 and "VIEW_SIGNING_KEYS" in nokey.stderr


def test_the_feed_holds_nothing_of_other_tenants_or_the_apps_insides(stack):
    import matomo_live_poller

    env, _, _ = stack
    failing = {**env, "MATOMO_URL": env["MATOMO_URL"].replace("/index.php", "") + "nowhere/"}
    matomo_live_poller.run(env=failing)  # metro-kids' and acme-fm's Matomo now fail, with an URL in the error
    status, doc, text = get_feed(env, "acme-fm", issue(KEYS, "acme-fm", days=1))
    assert status == 200
    for leak in ("metro-kids", "127.0.0.1", "http", "matomo_live_poller", "198.51.100.23", "hmac:", "token"):
        assert leak not in text.replace('"tenant":"acme-fm"', ""), leak
    assert set(doc) == {"tenant", "from", "to", "series", "freshness", "visitor_window_minutes", "events"}


@pytest.mark.parametrize(
    "query,says",
    [
        ("?minutes=%C2%B2", "parameter 'minutes'"),
        ("?series=icecast", "unknown parameter"),
        ("?minutes=0", "parameter 'minutes'"),
    ],
)
def test_odd_parameters_are_400(stack, query, says):
    env, _, _ = stack
    status, doc, _ = get_feed(env, "acme-fm", issue(KEYS, "acme-fm", days=1), query)
    assert status == 400 and says in doc["error"]


def test_events_are_counted_in_redis_over_the_asked_window_and_types_are_data(stack):
    env, store, now = stack
    odd = [
        Event("acme-fm", kind, now - 30_000 * i, "9", 9000 + 10 * i + j, "{}")
        for i, kind in enumerate(["constructor", "__proto__", "time", "toString"])
        for j in range(3)
    ]
    old = [
        Event("acme-fm", "app.play", now - 100 * 60_000 - i, "9", 9500 + i, '{"x":"' + "y" * 5000 + '"}')
        for i in range(500)
    ]
    store.write(events=odd + old)
    token = issue(KEYS, "acme-fm", days=1)
    recent = get_feed(env, "acme-fm", token, "?minutes=10")[1]["events"]
    assert {
        t: sum(n for _, n in pairs) for t, pairs in recent["per_minute"].items() if t not in ("app.play", "app.stop")
    } == {"constructor": 3, "__proto__": 3, "time": 3, "toString": 3}
    assert recent["total"] == 13 + 12 and not recent["truncated"]
    assert get_feed(env, "acme-fm", token)[1]["events"]["total"] == 13 + 12 + 500


def test_stale_series_partial_samples_and_gaps_are_shown_honestly(stack, tmp_path):
    env, store, now = stack
    store.redis.delete(*store.redis.keys(f"{env['REDIS_KEY_PREFIX']}:live:{{acme-fm}}:*"))
    # audio stream: fresh, its newest sample partial, with a 90-minute silence; HLS: last heard 10 minutes ago
    store.write(
        samples=[
            Sample("acme-fm", "icecast", now - 110 * 60_000 + i * 30_000, {"listeners": 50, "servers_failed": 0})
            for i in range(10)
        ]
        + [
            Sample(
                "acme-fm",
                "icecast",
                now - 10 * 60_000 + i * 30_000,
                {"listeners": 60, "active_sessions": 55, "servers_failed": 1 if i == 19 else 0},
            )
            for i in range(20)
        ]
        + [Sample("acme-fm", "hls", now - 20 * 60_000 + i * 10_000, {"listeners": 9}, host="edge-1") for i in range(60)]
        + [Sample("acme-fm", "matomo", now - 30_000, {"visitors": 4, "visits": 5, "actions": 6})],
        events=[Event("acme-fm", "constructor", now - 60_000, "9", 1, "{}")],
    )
    host = HttpHost(env=env).start()
    try:
        page = page_dom(f"{host.url}/api/view/acme-fm#token={issue(KEYS, 'acme-fm', days=1)}", tmp_path)
    finally:
        host.stop()
    tile = lambda i: page.get_element_by_id(i)
    assert tile("tile-icecast").get("data-value") == "60" and tile("tile-icecast").get("data-partial") == "true"
    assert "partial" in tile("tile-icecast").text_content()
    assert tile("tile-hls").get("data-state") == "stale" and tile("tile-hls").get("data-value") == ""
    assert "delayed since" in tile("tile-hls").text_content()
    assert tile("tile-sessions").get("data-value") == "55" and tile("tile-sessions").get("data-partial") == "true"
    # the 90 minutes break both audio-stream lines (sessions and connections), not a straight line
    assert page.get_element_by_id("chart-listeners").get("data-gaps") == "2"
    assert "constructor=1" in page.get_element_by_id("chart-events").get("data-last")
    listed = {li.get("data-series"): li.get("data-state") for li in page.xpath("//ul[@id='freshness-list']/li")}
    assert listed == {"icecast": "fresh", "hls": "stale", "matomo": "fresh"}
    clocks = re.findall(r"\b\d\d:\d\d\b", page.text_content())
    assert clocks and not re.search(r"\d\d:\d\d:\d\d|AM|PM|T\d\d:", page.text_content())  # one time format


def test_a_page_without_its_token_says_what_to_do(stack, tmp_path):
    env, _, _ = stack
    host = HttpHost(env=env).start()
    try:
        page = page_dom(f"{host.url}/api/view/acme-fm", tmp_path)
        refused = page_dom(f"{host.url}/api/view/acme-fm#token={issue(KEYS, 'metro-kids', days=1)}", tmp_path / "b")
    finally:
        host.stop()
    assert "needs the whole link" in page.get_element_by_id("notice").text_content()
    assert "no longer opens the page" in refused.get_element_by_id("notice").text_content()
    assert refused.get_element_by_id("tile-icecast").get("data-value") in (None, "")


def test_the_page_shows_where_and_on_what_they_listen_in_words(stack, tmp_path):
    env, store, now = stack
    store.redis.delete(*store.redis.keys(f"{env['REDIS_KEY_PREFIX']}:live:{{acme-fm}}:*"))
    store.write(
        samples=[
            Sample(
                "acme-fm",
                "icecast",
                now - 20_000,
                {
                    "listeners": 10,
                    "servers_failed": 0,
                    "client:app": 6,
                    "client:browser": 3,
                    "client:player": 1,
                    "client:other": 0,
                    "client:bot": 2,
                    "device:mobile": 6,
                    "device:computer": 3,
                    "country:DE": 7,
                    "country:AT": 2,
                    "country:unknown": 1,
                },
            )
        ]
        + [Sample("acme-fm", "hls", now - 5_000, {"listeners": 4, "country:DE": 1, "country:FR": 3}, host="edge-1")]
    )
    host = HttpHost(env=env).start()
    try:
        page = page_dom(f"{host.url}/api/view/acme-fm#token={issue(KEYS, 'acme-fm', days=1)}", tmp_path)
    finally:
        host.stop()
    where = [
        (li.get("data-key"), li.get("data-value"), li.text_content()) for li in page.xpath("//ol[@id='countries']/li")
    ]
    assert [(k, v) for k, v, _ in where] == [("DE", "8"), ("FR", "3"), ("AT", "2"), ("unknown", "1")]
    assert "Germany" in where[0][2] and "Not known" in where[-1][2]  # names, not codes
    players = [
        (li.get("data-key"), li.get("data-value"), li.text_content()) for li in page.xpath("//ol[@id='players']/li")
    ]
    assert [(k, v) for k, v, _ in players] == [
        ("client:app", "6"),
        ("client:browser", "3"),
        ("client:bot", "2"),
        ("client:player", "1"),
    ]
    assert "not counted as listeners" in players[2][2]
    devices = [(li.get("data-key"), li.get("data-value")) for li in page.xpath("//ol[@id='devices']/li")]
    assert devices == [("device:mobile", "6"), ("device:computer", "3")]
    assert "Your app" in players[0][2] and "client:" not in page.get_element_by_id("players").text_content()


def test_an_unchanged_feed_is_a_304_and_a_new_sample_a_new_answer(stack):
    """Issue 35: the page's answer carries an ETag of what it shows and a private max-age no
    longer than the next sample is due; the same numbers asked again cost no body."""
    env, store, now = stack
    host = HttpHost(env=env)
    auth = {"authorization": f"Bearer {issue(KEYS, 'acme-fm', days=1)}"}
    status, headers, body = host.handle("GET", "/api/feed/acme-fm", auth)
    assert status == 200 and body
    tag, cache = headers["ETag"], headers["Cache-Control"]
    assert cache.startswith("private, max-age=") and 1 <= int(cache.rsplit("=", 1)[1]) <= 30
    again = host.handle("GET", "/api/feed/acme-fm", {**auth, "if-none-match": tag})
    assert (again[0], again[2], again[1]["ETag"]) == (304, b"", tag)
    other = host.handle("GET", "/api/feed/metro-kids", {**auth, "if-none-match": tag})
    assert other[0] == 403  # the token is checked before any cache answer
    store.write(samples=[Sample("acme-fm", "icecast", int(time.time() * 1000), {"listeners": 41})])
    status, headers, _ = host.handle("GET", "/api/feed/acme-fm", {**auth, "if-none-match": tag})
    assert status == 200 and headers["ETag"] != tag


def test_the_browser_answers_refreshes_from_its_cache_while_the_numbers_are_fresh(stack, tmp_path):
    """Chromium's own HTTP cache with the feed's headers: over 100 s of the page (virtual time,
    which a cache's real-time max-age outlasts), the page redraws at every refresh, but only the
    first reaches the app: no execution is billed for numbers that cannot have changed."""
    import re

    env, _, _ = stack
    host = HttpHost(env=env).start()
    try:
        url = f"{host.url}/api/view/acme-fm#token={issue(KEYS, 'acme-fm', days=1)}"
        dom = browse(url, tmp_path, "--dump-dom", budget_ms=100_000)
        assert dom.returncode == 0, dom.stderr[-2000:]
    finally:
        host.stop()
    feeds = [status for path, status in host.served if path.startswith("/api/feed/")]
    drawn = int(re.search(r'data-drawn="(\d+)"', dom.stdout).group(1))
    assert drawn >= 3 and feeds == [200], (drawn, feeds)
    assert 'data-refresh-ms="30000"' in dom.stdout  # a page in view refreshes every 30 s


def store_ended(env):
    from shared.read.api import store_for

    return store_for(env, None, time.time).ended_links("acme-fm")


def test_a_link_can_be_ended_alone_or_with_all_of_its_tenant(stack, tmp_path):
    """Issue 37.4: `share --end ID` ends one link, `--end-all` every link of the tenant issued
    until then; other links, other tenants and new links go on working."""
    env, _, _ = stack
    settings = write_settings(tmp_path / "s.json", env)
    links = []
    for _ in range(2):
        done = run_cli("share", "acme-fm", "--base-url", "https://live.example.org", settings=settings)
        assert done.returncode == 0 and "warning" not in done.stderr, done.stderr
        token = re.search(r"#token=(\S+)", done.stdout)[1]
        links.append((token, re.search(r"link id (\w+)", done.stdout)[1]))
    other = issue(KEYS, "metro-kids", days=1)
    (first, first_id), (second, _) = links
    assert run_cli("share", "acme-fm", "--end", first_id, settings=settings).returncode == 0
    status, doc, _ = get_feed(env, "acme-fm", first)
    assert status == 401 and "ended" in doc["error"]
    assert get_feed(env, "acme-fm", second)[0] == 200 and get_feed(env, "metro-kids", other)[0] == 200
    assert run_cli("share", "acme-fm", "--end-all", settings=settings).returncode == 0
    assert get_feed(env, "acme-fm", second)[0] == 401 and get_feed(env, "metro-kids", other)[0] == 200
    ended_at = int(store_ended(env)["*"])
    while int(time.time()) <= ended_at:  # links of the very second of --end-all are ended too
        time.sleep(0.05)
    assert get_feed(env, "acme-fm", issue(KEYS, "acme-fm", days=1))[0] == 200
    bad = run_cli("share", "acme-fm", "--end", "../../x", settings=settings)
    assert bad.returncode == 2 and "--end" in bad.stderr


def test_a_token_living_longer_than_a_link_may_is_refused_and_http_links_are_warned_about(stack, tmp_path):
    env, _, _ = stack
    now = int(time.time())
    claims = {"sub": "acme-fm", "aud": "fabrik-live-view", "iss": "fabrik-live-collectors", "iat": now}
    kid = {"kid": __import__("shared.read.view_tokens", fromlist=["key_id"]).key_id(KEYS.signing)}
    century = jwt.encode({**claims, "exp": now + 100 * 365 * 86400}, KEYS.signing, algorithm="HS256", headers=kid)
    assert get_feed(env, "acme-fm", century)[0] == 401
    year = jwt.encode({**claims, "exp": now + 300 * 86400}, KEYS.signing, algorithm="HS256", headers=kid)
    assert get_feed(env, "acme-fm", year)[0] == 200
    settings = write_settings(tmp_path / "s.json", env)
    plain = run_cli("share", "acme-fm", "--base-url", "http://live.example.org", settings=settings)
    assert plain.returncode == 0 and "plain HTTP" in plain.stderr
    local = run_cli("share", "acme-fm", "--base-url", "http://127.0.0.1:7071", settings=settings)
    assert local.returncode == 0 and "warning" not in local.stderr


def test_a_broken_signing_key_setting_is_named_by_health_status_and_doctor(stack, tmp_path):
    """Issue 38: a damaged VIEW_SIGNING_KEYS took down every station page while health, status
    and doctor said nothing."""
    from shared.read import api as read_side

    env, _, _ = stack
    broken = {**env, "VIEW_SIGNING_KEYS": "not-base64!!"}
    status, _, body = read_side.health(env=broken)
    doc = json.loads(body)
    assert status == 503 and any(
        p["source"] == "VIEW_SIGNING_KEYS" and "no station page opens" in p["reason"] for p in doc["problems"]
    )
    assert read_side.health(env=env)[0] == 200  # the good key: no problem
    settings = write_settings(tmp_path / "s.json", broken)
    shown = run_cli("status", settings=settings)
    assert shown.returncode == 1 and "VIEW_SIGNING_KEYS" in shown.stdout
    checked = run_cli("doctor", settings=settings)
    assert checked.returncode == 2 and "VIEW_SIGNING_KEYS" in checked.stdout
    assert "not-base64" not in body.decode() + shown.stdout + checked.stdout  # never echoed


def shoot(url, tmp_path, width, height):
    """The page at an exact viewport (tests/read_side/shoot.mjs): what it says of its charts, and
    a full-page screenshot of the same page."""
    import subprocess

    from tests.conftest import ROOT

    shot = tmp_path / f"page-{width}x{height}.png"
    done = subprocess.run(
        ["node", str(ROOT / "tests" / "read_side" / "shoot.mjs"), url, str(width), str(height), str(shot)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout), shot


@pytest.mark.parametrize("width,height", [(390, 844), (1280, 800)])
def test_the_page_fits_a_phone_reads_by_touch_and_breaks_its_lines_on_the_drawing(stack, tmp_path, width, height):
    """Issue 38.4: charts as wide as their card (no sideways scroll on a 390 px phone), the
    legend's newest values without a hover, and a silence longer than the freshness limit
    breaks the line on the drawing itself (read back from a screenshot), not only in the data,
    even where another series has samples inside the silence."""
    from tests.read_side.png import pixels_like, read_png

    env, store, now = stack
    store.redis.delete(*store.redis.keys(f"{env['REDIS_KEY_PREFIX']}:live:{{acme-fm}}:*"))
    audio = {"listeners": 30, "active_sessions": 20}
    samples = [  # the audio stream: an hour ago, then a 40-minute silence, then again
        Sample("acme-fm", "icecast", now - 60 * 60_000 + i * 30_000, audio) for i in range(20)
    ] + [Sample("acme-fm", "icecast", now - 10 * 60_000 + i * 30_000, audio) for i in range(20)]
    hls = [  # HLS: every 10 s all along, right through the audio stream's silence
        Sample("acme-fm", "hls", now - 60 * 60_000 + i * 10_000, {"listeners": 9}, host="edge-1") for i in range(360)
    ]
    store.write(samples=samples + hls)
    host = HttpHost(env=env).start()
    try:
        info, shot = shoot(
            f"{host.url}/api/view/acme-fm#token={issue(KEYS, 'acme-fm', days=1)}", tmp_path, width, height
        )
    finally:
        host.stop()
    chart = info["charts"]["chart-listeners"]
    assert info["innerWidth"] == width and not info["overflow"]  # no sideways scrolling
    assert int(chart["width"]) <= chart["card"] and chart["canvas"] <= chart["right"] + 1  # inside its card
    rotated = info["rotated"]  # turned sideways: redrawn to the new width, still no sideways scrolling
    assert rotated["innerWidth"] == height and not rotated["overflow"]
    assert all(abs(drawn - card) <= 1 for drawn, card in rotated["widths"]), rotated
    # the newest value of each line with samples (the app player's sessions have none), no hover needed
    assert (chart["legend"][1], chart["legend"][3], chart["legend"][4]) == ("20", "30", "9")
    png = read_png(shot.read_bytes())
    breaks = [b for b in chart["breaks"].split() if b.split(":")[0] in ("0", "2")]  # both audio lines
    assert len(breaks) == 2, chart["breaks"]
    for entry in breaks:
        series, rest = entry.split(":")
        span, area = rest.split("@")
        x0, x1 = (int(v) for v in span.split("-"))
        top, height_px = (int(v) for v in area.split("+"))
        color = (31, 119, 180) if series == "0" else (44, 160, 44)  # the page's first and third colours
        assert x1 - x0 > 20, entry
        drawn = pixels_like(png, color, x0 + 4, x1 - 4, top, top + height_px)
        assert drawn == 0, f"series {series} is drawn across its silence ({drawn} pixels)"
        assert pixels_like(png, color, x1 + 1, x1 + 30, top, top + height_px) > 0  # and drawn after it
