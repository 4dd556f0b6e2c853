"""Logging with the function, tenant and source in every record, and no secrets in any.

The Functions host forwards the root logger to Application Insights as plain messages, so
the context is rendered into the message text (``[icecast_poller tenant=acme source=ice1]``)
as well as kept in ``record.fabrik`` for structured handlers.
"""
from __future__ import annotations

import logging
import threading
from typing import Any, Iterable, MutableMapping

from shared.redact import redact_text

LOGGER_NAME = "fabrik"
_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False


class RedactingFilter(logging.Filter):
    """Rewrites each record's message so no URL credential or known secret survives."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = str(record.msg)
        cleaned = redact_text(message, _secrets)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            # Tracebacks repeat exception text; render it now, redacted, instead.
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact_text(text, _secrets)
        return True


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
    """Attach the redacting filter to the handlers that leave the process. Idempotent."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    redacting = RedactingFilter()
    for name in (LOGGER_NAME, "urllib3", "urllib3.connectionpool", "urllib3.util.retry", "azure", "redis"):
        logging.getLogger(name).addFilter(redacting)
    # urllib3 logs full request lines (with query strings) at DEBUG; keep it above that.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    logging.getLogger("azure").setLevel(logging.WARNING)


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
    return ContextLogger(logging.getLogger(f"{LOGGER_NAME}.{function}"),
                         {"function": function, "tenant": tenant, "source": source})
