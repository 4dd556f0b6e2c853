"""What the fetcher writes to Blob Storage, and the state it keeps there (docs/downloads.md).

* ``raw/...``: each file as the store sent it, named by its content (Apple: SHA-256; Google:
  the object's generation), so a re-fetch of the same bytes writes nothing. Not for consumers.
* ``normalised/<store>/<tenant>/<date>/<UTC time>-<sha12>.csv``: a new blob only when a day's
  content changed (a revision), holding the retraction of the version it replaces; the newest
  name sorts last. Plain folder names, not ``store=``: Spark would add those as partition
  columns beside the file's own and map the CSV's columns shifted.
* ``state/store_downloads_fetcher.json``: per day and object what was fetched, written with
  the ETag it was read with, so two overlapping runs cannot silently undo each other.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import IO, Any, Callable

from shared.clients.blob import describe, download, upload
from shared.core.errors import RetriableError, StorageError
from store_downloads_fetcher.normalised import Row, added_rows, render, version_digest
from store_downloads_fetcher.state import DayFile, DownloadState

STATE = "state/store_downloads_fetcher.json"


class Output:
    def __init__(self, container: Any, *, clock: Callable[[], float]):
        self.container, self.clock = container, clock
        self.written: list[str] = []

    def load_state(self) -> tuple[DownloadState, str | None]:
        found = download(self.container, STATE)
        if found is None:
            return DownloadState(), None
        data, etag = found
        return DownloadState.from_json(json.loads(data)), etag

    def save_state(self, state: DownloadState, etag: str | None) -> None:
        from azure.core import MatchConditions

        body = json.dumps(state.to_json(), indent=1, sort_keys=True).encode()
        if etag is None:
            upload(self.container, STATE, body, content_type="application/json", overwrite=False, if_none_match="*")
        else:
            upload(
                self.container,
                STATE,
                body,
                content_type="application/json",
                overwrite=True,
                etag=etag,
                match_condition=MatchConditions.IfNotModified,
            )

    def put_raw(self, name: str, data: IO[bytes] | bytes, *, content_type: str) -> bool:
        if hasattr(data, "seek"):
            data.seek(0)
        stored = upload(self.container, name, data, content_type=content_type, overwrite=False)
        if stored:
            self.written.append(name)
        return stored

    def put_day(
        self, *, store: str, tenant: str, date: str, rows: list[Row], previous: DayFile | None
    ) -> DayFile | None:
        """Write the day's new version if its content differs from ``previous``; returns the new record.

        The file retracts the newest version already written (read back from its blob, not from
        the state, so it negates exactly what a consumer read)."""
        sha = version_digest(rows)
        if previous is not None and previous.sha256 == sha:
            return None
        prefix = f"normalised/{store}/{tenant}/{date}/"
        newest = self._newest(prefix)
        if newest and newest.endswith(f"-{sha[:12]}.csv"):
            # Already the newest version: written by a run whose state was never saved.
            return DayFile(sha256=sha, blob=newest, written_at=newest[len(prefix) :].split("-", 1)[0])
        retracted: list[Row] = []
        if newest:
            found = download(self.container, newest)
            retracted = added_rows(found[0]) if found else []
        stamp = dt.datetime.fromtimestamp(self.clock(), dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        if newest and stamp <= newest[len(prefix) :].split("-", 1)[0]:
            raise RetriableError(
                f"blob {prefix}: the newest version {newest} is not older than this run ({stamp}); is the clock behind?"
            )
        name = f"{prefix}{stamp}-{sha[:12]}.csv"
        upload(
            self.container,
            name,
            render(rows, revision=stamp, retracted=retracted),
            content_type="text/csv; charset=utf-8",
            overwrite=False,
        )
        self.written.append(name)
        return DayFile(sha256=sha, blob=name, written_at=stamp)

    def _newest(self, prefix: str) -> str | None:
        from azure.core.exceptions import AzureError

        try:
            names = [b.name for b in self.container.list_blobs(name_starts_with=prefix)]
        except AzureError as exc:
            raise StorageError(
                describe(exc, self.container, f"blob {self.container.container_name}/{prefix} (list)")
            ) from None
        return max(names) if names else None
