"""The HTTP session factory against a local server: timeouts, retries, Retry-After, redaction."""

import logging
import time

import pytest
from werkzeug import Response

from shared.clients.http import USER_AGENT, HttpOptions, make_session, read_body, request
from shared.core.errors import BadInputError, ConfigError, RetriableError


def test_user_agent_names_the_app(httpserver):
    httpserver.expect_request("/x").respond_with_data("ok")
    request(make_session(), "GET", httpserver.url_for("/x"), what="t")
    assert httpserver.log[0][0].headers["User-Agent"] == USER_AGENT and "fabrik" in USER_AGENT


def test_503_with_retry_after_is_retried_after_the_wait(httpserver):
    httpserver.expect_ordered_request("/x").respond_with_response(Response("busy", 503, {"Retry-After": "1"}))
    httpserver.expect_ordered_request("/x").respond_with_data("ok")
    start = time.monotonic()
    response = request(make_session(HttpOptions(retries=2, backoff=0)), "GET", httpserver.url_for("/x"), what="t")
    assert response.text == "ok"
    assert time.monotonic() - start >= 0.9


def test_retry_after_is_capped(httpserver):
    httpserver.expect_ordered_request("/x").respond_with_response(Response("slow down", 429, {"Retry-After": "3600"}))
    httpserver.expect_ordered_request("/x").respond_with_data("ok")
    start = time.monotonic()
    request(
        make_session(HttpOptions(retries=1, backoff=0, max_retry_after=0.5)), "GET", httpserver.url_for("/x"), what="t"
    )
    assert time.monotonic() - start < 60  # capped at 0.5 s, not the hour asked (generous: a busy machine)


def test_persistent_5xx_is_retriable_and_post_is_not_retried_by_default(httpserver):
    httpserver.expect_request("/x").respond_with_data("down", status=502)
    with pytest.raises(RetriableError, match=r"t: HTTP 502 from http://localhost:\d+/x"):
        request(make_session(HttpOptions(retries=2, backoff=0)), "GET", httpserver.url_for("/x"), what="t")
    assert len(httpserver.log) == 3
    httpserver.clear_log()
    with pytest.raises(RetriableError):
        request(make_session(HttpOptions(retries=2, backoff=0)), "POST", httpserver.url_for("/x"), what="t")
    assert len(httpserver.log) == 1


def test_401_names_the_setting_and_404_is_bad_input(httpserver):
    httpserver.expect_request("/auth").respond_with_data("no", status=401)
    httpserver.expect_request("/gone").respond_with_data("no", status=404)
    with pytest.raises(ConfigError, match="ICECAST_SERVERS"):
        request(make_session(), "GET", httpserver.url_for("/auth"), what="t", auth_setting="ICECAST_SERVERS")
    with pytest.raises(BadInputError, match="HTTP 404"):
        request(make_session(), "GET", httpserver.url_for("/gone"), what="t")


def test_read_timeout_is_explicit(httpserver):
    import threading

    asked, release = [], threading.Event()

    def slow(_request):
        asked.append(1)
        release.wait(30)  # answers only after the client gave up
        return Response("late")

    httpserver.expect_request("/slow").respond_with_handler(slow)
    try:
        with pytest.raises(RetriableError, match="connected, but no answer within 0.3 s"):
            request(
                make_session(HttpOptions(read_timeout=0.3, retries=2)), "GET", httpserver.url_for("/slow"), what="t"
            )
        assert len(asked) == 1  # not retried: a hanging server would double the wait
    finally:
        release.set()


def test_body_size_is_bounded(httpserver):
    httpserver.expect_request("/big").respond_with_data(b"x" * 300_000)
    response = request(make_session(), "GET", httpserver.url_for("/big"), what="t", stream=True)
    with pytest.raises(BadInputError, match="larger than 256 KiB"):
        read_body(response, what="t", max_bytes=256 * 1024)


def test_urls_in_errors_and_retry_logs_carry_no_secrets(httpserver, caplog):
    httpserver.expect_request("/api").respond_with_data("down", status=503)
    url = httpserver.url_for("/api").replace("http://", "http://user:pa55word@") + "?token_auth=s3cr3tt0ken&x=1"
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(RetriableError) as caught:
            request(make_session(HttpOptions(retries=1, backoff=0)), "GET", url, what="t")
    text = str(caught.value) + caplog.text
    assert "pa55word" not in text and "s3cr3tt0ken" not in text
    assert "x=1" in str(caught.value)
