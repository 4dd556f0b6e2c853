"""The run state is typed in code and stays the same JSON in Blob Storage: a state saved by
1.0.0 is read and saved again unchanged (deployments carry it across the upgrade)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from store_downloads_fetcher.state import DownloadState

names = st.text("abcdefghij-.", min_size=1, max_size=12)
stamps = st.from_regex(r"2026[01][0-9][0-3][0-9]T[0-2][0-9][0-5][0-9][0-5][0-9]Z", fullmatch=True)
files = st.fixed_dictionaries(
    {"sha256": st.from_regex(r"[0-9a-f]{64}", fullmatch=True), "blob": names, "written_at": stamps}
)
apple_days = st.fixed_dictionaries(
    {
        "tenants": st.dictionaries(names, files, max_size=3),
        "status": st.sampled_from(["fetched", "zero", "pending", "expired", "failed"]),
        "detail": st.text(max_size=30),
    },
    optional={"checked": st.just("2026-11-28T16:30:00Z"), "rows": st.integers(0, 10_000)},
)
google_days = files.flatmap(
    lambda f: st.fixed_dictionaries({"status": st.just("fetched"), "objects": st.lists(names, max_size=3)}).map(
        lambda d: {**f, **d}
    )
)
states = st.fixed_dictionaries(
    {
        "apple": st.fixed_dictionaries({"days": st.dictionaries(st.dates().map(str), apple_days, max_size=4)}),
        "google": st.fixed_dictionaries(
            {
                "objects": st.dictionaries(
                    names,
                    st.fixed_dictionaries(
                        {"generation": st.from_regex(r"[0-9]{16}", fullmatch=True), "md5Hash": st.none() | names}
                    ),
                    max_size=4,
                ),
                "days": st.dictionaries(names.map(lambda t: f"{t}|2026-11-27"), google_days, max_size=4),
            }
        ),
    }
)


@given(states)
def test_a_saved_state_reads_back_and_saves_unchanged(doc):
    assert DownloadState.from_json(doc).to_json() == doc


def test_a_first_run_starts_empty_in_the_same_form():
    assert DownloadState().to_json() == {"apple": {"days": {}}, "google": {"objects": {}, "days": {}}}
