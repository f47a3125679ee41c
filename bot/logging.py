"""Logging: one format (text or JSON), module loggers, and secrets masked in every record.

The redaction runs twice on purpose: every record is rewritten (message, args, exception text) as
it is created, by a log-record factory, so no handler anywhere sees a secret (discord.py's DEBUG
gateway payloads, a handler a library or an operator adds to any logger, Sentry's logging hook);
and the formatter redacts its final output, which also covers tracebacks whose frames mention a
secret. The handler filter redacts what is set after creation (``extra`` fields).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from services.secrets import SecretRedactor

from .config import LogFormat

_REDACTED_MARK = "_gw2opt_redacted"
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({})).keys()) | {
    "message",
    "asctime",
    _REDACTED_MARK,
}
_BASE_FACTORY = logging.getLogRecordFactory()


class RedactingFilter(logging.Filter):
    """Masks secrets in a record's message, arguments and exception text."""

    def __init__(self, redactor: SecretRedactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        # Redacted at creation, unless msg/args were replaced since (``makeLogRecord``).
        if getattr(record, _REDACTED_MARK, None) is not record.msg or record.args:
            redact_record(record, self.redactor)
        for name, value in vars(record).items():
            if name not in _RECORD_FIELDS and isinstance(value, str):
                setattr(record, name, self.redactor.redact(value))
        return True


def redact_record(record: logging.LogRecord, redactor: SecretRedactor) -> None:
    """Mask secrets in ``record``'s message, arguments and exception text (in place)."""
    try:
        message = record.getMessage()
    except (TypeError, ValueError):  # a bad format string: keep what there is, masked
        message = f"{record.msg} {record.args}"
    record.msg = redactor.redact(message)
    record.args = None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redactor.redact(record.exc_text)
    setattr(record, _REDACTED_MARK, record.msg)


def install_record_redaction(redactor: SecretRedactor) -> None:
    """Redact every record of every logger when it is created (replaces an earlier install)."""

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = _BASE_FACTORY(*args, **kwargs)
        redact_record(record, redactor)
        return record

    logging.setLogRecordFactory(factory)


class _RedactingTextFormatter(logging.Formatter):
    def __init__(self, redactor: SecretRedactor) -> None:
        super().__init__("%(asctime)s %(levelname)-8s %(name)s: %(message)s")
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        return self.redactor.redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, exception and extra fields."""

    def __init__(self, redactor: SecretRedactor) -> None:
        super().__init__()
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        for name, value in vars(record).items():
            if name not in _RECORD_FIELDS:
                entry[name] = value if isinstance(value, int | float | bool) else str(value)
        return self.redactor.redact(json.dumps(entry, ensure_ascii=False))


def setup_logging(level: str, fmt: LogFormat, redactor: SecretRedactor) -> logging.Handler:
    """Route every logger to stderr through the redaction filter; returns the installed handler."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter(redactor))
    if fmt is LogFormat.JSON:
        handler.setFormatter(JsonFormatter(redactor))
    else:
        handler.setFormatter(_RedactingTextFormatter(redactor))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    install_record_redaction(redactor)
    # discord.py's HTTP debug lines include request bodies; keep them at INFO unless asked.
    logging.getLogger("discord.http").setLevel(max(logging.getLevelName(level), logging.INFO))
    logging.getLogger("aiosqlite").setLevel(logging.WARNING)
    return handler
