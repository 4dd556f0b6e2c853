from pathlib import Path

import pytest

from matomo_live_poller.parse import Counters, load_json, parse_bulk, parse_counters, sub_requests
from shared.core.errors import BadInputError

DATA = Path(__file__).parent / "testdata"


def load(name):
    return (DATA / name).read_bytes()


@pytest.mark.parametrize(
    "name,expected",
    [
        ("matomo-5_Live.getCounters_strings.json", Counters(visits=17, visitors=12, actions=42)),
        ("matomo-5_Live.getCounters_empty_site.json", Counters(visits=0, visitors=0, actions=0)),
        ("matomo-4_Live.getCounters_numbers.json", Counters(visits=5, visitors=4, actions=9)),
    ],
)
def test_single_site_answers(name, expected):
    answer = parse_counters(load_json(load(name), what="t"))
    assert (answer.counters, answer.error) == (expected, None)


def test_bulk_answers_in_request_order():
    answers = parse_bulk(load("matomo-5_API.getBulkRequest_2sites.json"), expected=4)
    assert [a.counters for a in answers] == [
        Counters(17, 12, 42),
        Counters(3, 3, 8),
        Counters(0, 0, 0),
        Counters(0, 0, 0),
    ]


def test_one_site_error_marks_only_that_site():
    answers = parse_bulk(load("matomo-5_API.getBulkRequest_one_site_error.json"), expected=4)
    assert answers[0].counters == Counters(17, 12, 42)
    assert "website id = 9" in answers[2].error and answers[2].counters is None


def test_error_with_http_200_is_an_error():
    with pytest.raises(BadInputError, match="Matomo error: lastMinutes only accepts"):
        parse_bulk(load("matomo-5_error_200.json"), expected=2)
    assert "lastMinutes" in parse_counters(load_json(load("matomo-5_error_200.json"), what="t")).error


def test_login_page_is_a_clear_error():
    with pytest.raises(BadInputError, match=r"not JSON \(starts with '<!DOCTYPE html>"):
        parse_bulk(load("matomo_login_page.html"), expected=2)


def test_wrong_length_is_refused():
    with pytest.raises(BadInputError, match="expected a list of 3 answers, got 4"):
        parse_bulk(load("matomo-5_API.getBulkRequest_2sites.json"), expected=3)


@pytest.mark.parametrize(
    "row,problem",
    [
        ({"visits": "many", "actions": 1, "visitors": 1}, "visits: not a count"),
        ({"visits": -3, "actions": 1, "visitors": 1}, "visits: not a count"),
        ({"visits": 1, "actions": True, "visitors": 1}, "actions: not a count"),
        ({"visits": 1, "actions": 10**30, "visitors": 1}, "actions: not a count"),
    ],
)
def test_bad_values_are_errors_naming_the_field(row, problem):
    assert problem in parse_counters([row]).error


def test_deep_nesting_and_huge_numbers_do_not_crash():
    deep = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(BadInputError):
        parse_bulk(deep, expected=1)
    huge = b'[[{"visits": 1' + b"0" * 5000 + b', "actions": 1, "visitors": 1}]]'
    with pytest.raises(BadInputError):  # Python refuses >4300-digit ints: still a clear error
        parse_bulk(huge, expected=1)


def test_sub_requests_pair_window_and_last_minute():
    assert sub_requests([3, 7], window_minutes=3) == [(3, 3), (3, 1), (7, 3), (7, 1)]
    assert sub_requests([3], window_minutes=1) == [(3, 1)]
