"""What the fetcher remembers between runs (``state/store_downloads_fetcher.json``, docs/downloads.md).

Typed here, stored as the same JSON as before: per Apple day how it went and which tenant files
it wrote; per Google report object the generation last read; per Google tenant and day the file
written. A run loads it, changes it, and saves it with the etag it read (two runs never both win).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DayFile:
    """The newest version of a tenant's day file (``normalised/<store>/<tenant>/<date>/…``)."""

    sha256: str  # of the day's rows (normalised.version_digest): the same rows are not written again
    blob: str
    written_at: str  # the version's stamp, ``YYYYMMDDTHHMMSSZ``

    @classmethod
    def from_json(cls, doc: dict) -> DayFile:
        return cls(sha256=doc["sha256"], blob=doc["blob"], written_at=doc["written_at"])

    def to_json(self) -> dict:
        return {"sha256": self.sha256, "blob": self.blob, "written_at": self.written_at}


@dataclass
class AppleDay:
    """One Pacific day of Apple's: ``status`` fetched, zero, pending, expired or failed."""

    status: str = ""
    detail: str = ""
    checked: str = ""  # when Apple was last asked (UTC, ISO 8601)
    rows: int | None = None  # rows the report had when last fetched: "no sales" never replaces them
    tenants: dict[str, DayFile] = field(default_factory=dict)

    @classmethod
    def from_json(cls, doc: dict) -> AppleDay:
        return cls(
            status=doc.get("status", ""),
            detail=doc.get("detail", ""),
            checked=doc.get("checked", ""),
            rows=doc.get("rows"),
            tenants={t: DayFile.from_json(f) for t, f in doc.get("tenants", {}).items()},
        )

    def to_json(self) -> dict:
        doc: dict[str, Any] = {"tenants": {t: f.to_json() for t, f in self.tenants.items()}}
        if self.status:
            doc.update(status=self.status, detail=self.detail)
        if self.checked:
            doc["checked"] = self.checked
        if self.rows is not None:
            doc["rows"] = self.rows
        return doc


@dataclass(frozen=True)
class GoogleObject:
    """A report object as last read: a new generation means Google revised the month."""

    generation: str
    md5: str | None = None

    def to_json(self) -> dict:
        return {"generation": self.generation, "md5Hash": self.md5}


@dataclass(frozen=True)
class GoogleDay:
    file: DayFile
    objects: tuple[str, ...]  # the report objects the day's rows were read from

    def to_json(self) -> dict:
        return {**self.file.to_json(), "status": "fetched", "objects": list(self.objects)}


@dataclass
class DownloadState:
    apple_days: dict[str, AppleDay] = field(default_factory=dict)  # ISO date -> day
    google_objects: dict[str, GoogleObject] = field(default_factory=dict)  # object name -> as read
    google_days: dict[str, GoogleDay] = field(default_factory=dict)  # "<tenant>|<ISO date>" -> day

    @classmethod
    def from_json(cls, doc: dict) -> DownloadState:
        apple, google = doc.get("apple", {}), doc.get("google", {})
        return cls(
            apple_days={d: AppleDay.from_json(v) for d, v in apple.get("days", {}).items()},
            google_objects={
                n: GoogleObject(generation=v.get("generation"), md5=v.get("md5Hash"))
                for n, v in google.get("objects", {}).items()
            },
            google_days={
                k: GoogleDay(file=DayFile.from_json(v), objects=tuple(v.get("objects", ())))
                for k, v in google.get("days", {}).items()
            },
        )

    def to_json(self) -> dict:
        return {
            "apple": {"days": {d: v.to_json() for d, v in self.apple_days.items()}},
            "google": {
                "objects": {n: v.to_json() for n, v in self.google_objects.items()},
                "days": {k: v.to_json() for k, v in self.google_days.items()},
            },
        }
