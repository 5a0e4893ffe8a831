"""Keep API keys out of text: a registry of live secrets, a scrubber and a logging filter.

The SDK masks only the ``authorization``/``api-key`` headers in its own debug records; exception
text, echoed error bodies and transport logs can still carry the key. :func:`scrub` replaces every
registered secret (and its base64 form) plus anything shaped like an OpenAI key;
:func:`install_log_redaction` puts :class:`RedactingFilter` on the loggers that see HTTP traffic.
"""

from __future__ import annotations

import base64
import logging
import re
import threading

REDACTED = "[redacted]"

# Keys that are too short are not secrets worth scrubbing ("local") and would mangle text.
_MIN_SECRET = 8
# OpenAI-style keys, including the masked echo ("sk-abc***wxyz") the service puts in 401s.
_KEY_SHAPE = re.compile(r"\bsk-[A-Za-z0-9_*\-]{8,}")
# Loggers (and their children) that carry request/response details.
_HTTP_LOGGERS = ("openai", "httpx2", "httpcore2")

_lock = threading.Lock()
_secrets: set[str] = set()


def protect(secret: str | None) -> None:
    """Register a live secret: from now on :func:`scrub` and the log filter hide it."""
    if not secret or len(secret) < _MIN_SECRET:
        return
    encoded = base64.b64encode(secret.encode()).decode()
    with _lock:
        _secrets.update({secret, encoded})


def scrub(text: str, extra: tuple[str, ...] = ()) -> str:
    """``text`` with every registered secret (and ``extra`` ones) replaced by ``[redacted]``."""
    with _lock:
        secrets = _secrets | {s for s in extra if s and len(s) >= _MIN_SECRET}
    # longest first, so a secret containing another is removed whole
    for secret in sorted(secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    return _KEY_SHAPE.sub(REDACTED, text)


class RedactingFilter(logging.Filter):
    """Rewrites a record's message (and formatted traceback) with secrets scrubbed."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call: let the handler report it as usual
            return True
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        return True


FILTER = RedactingFilter()


def install_log_redaction() -> None:
    """Put the filter on the root logger, its handlers, and the SDK/HTTP loggers.

    Logger filters only see records logged on that very logger (propagation skips them), so
    the filter also goes on every existing child of the HTTP loggers and on root's handlers.
    Idempotent.
    """
    root = logging.getLogger()
    targets: list[logging.Filterer] = [root, *root.handlers]
    for name in list(logging.root.manager.loggerDict):
        if name.split(".")[0] in _HTTP_LOGGERS:
            targets.append(logging.getLogger(name))
    targets.extend(logging.getLogger(name) for name in _HTTP_LOGGERS)
    for target in targets:
        if FILTER not in target.filters:
            target.addFilter(FILTER)
