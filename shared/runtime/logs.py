"""Logging with the function, tenant and source in every record, and no secrets in any.

The Functions host forwards the root logger to Application Insights as plain messages, so
the context is rendered into the message text (``[icecast_poller tenant=acme source=ice1]``)
as well as kept in ``record.fabrik`` for structured handlers.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Iterable, MutableMapping

from shared.privacy.redact import redact_text

LOGGER_NAME = "fabrik"
SDK_LOGGERS = ("azure.core", "azure.storage", "azure.eventhub", "azure.identity", "uamqp")
_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False


def _redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Render the message now, redacted, so no handler anywhere sees the raw text."""
    try:
        message = record.getMessage()
    except Exception:  # a bad format string must not lose the record
        message = str(record.msg)
    cleaned = redact_text(message, _secrets)
    if cleaned != message or record.args:
        record.msg, record.args = cleaned, None
    if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
        # Tracebacks repeat exception text (URLs, server answers): render and redact them too.
        record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info), _secrets)
    return record


def register_secrets(values: Iterable[str | bytes | None]) -> None:
    """Remember secret values (from settings) so any log line that contains one is masked."""
    with _lock:
        for value in values:
            if isinstance(value, bytes):
                value = value.decode("utf-8", "replace")
            if value and len(value) >= 4:
                _secrets.add(value)


def known_secrets() -> frozenset[str]:
    return frozenset(_secrets)


def install() -> None:
    """Redact every log record of the process as it is made. Idempotent.

    A record factory rather than a logger filter: filters on a logger do not see records
    propagated from its children, and the host's handlers are not ours to decorate. This
    covers our loggers, urllib3's retry warnings (which carry request paths) and the SDKs'.
    """
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            return _redact_record(previous(*args, **kwargs))

        logging.setLogRecordFactory(factory)
    # urllib3 logs full request lines (with query strings) at DEBUG, and a WARNING per retry
    # ("Retrying (_CappedRetry(total=0…))") before the app's own one-line message says the same.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    # Only the SDKs that are noisy at INFO (a line per HTTP request); not "azure" as a whole,
    # which would also silence the Functions worker's own azure.functions lines.
    for noisy in SDK_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)


class ContextLogger(logging.LoggerAdapter):
    """A logger bound to ``function`` and optionally ``tenant``/``source``."""

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]):
        ctx = self.extra or {}
        label = " ".join(f"{k}={v}" for k, v in ctx.items() if k != "function" and v)
        prefix = f"[{ctx.get('function', '-')}{' ' + label if label else ''}] "
        extra = kwargs.setdefault("extra", {})
        extra["fabrik"] = dict(ctx)
        return prefix + str(msg), kwargs

    def bind(self, **more: str | None) -> "ContextLogger":
        return ContextLogger(self.logger, {**(self.extra or {}), **more})


def get_logger(function: str, *, tenant: str | None = None, source: str | None = None) -> ContextLogger:
    install()
    return ContextLogger(
        logging.getLogger(f"{LOGGER_NAME}.{function}"), {"function": function, "tenant": tenant, "source": source}
    )
