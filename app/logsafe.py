"""Log redaction: customer e-mail addresses, phone numbers and anything shaped like a card number never reach a log."""

from __future__ import annotations

import logging
import re
from typing import Any

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
CARDISH = re.compile(r"\b(?:\d[ -]?){13,19}\b")
PHONE = re.compile(r"\+?\d[\d ()-]{7,}\d")


def redact(text: str) -> str:
    text = EMAIL.sub("[email]", text)
    text = CARDISH.sub("[number]", text)
    return PHONE.sub("[phone]", text)


class RedactingFormatter(logging.Formatter):
    """Redacts what a record says (its message, and any traceback or stack), not the line's own time, level and
    logger name: a whole-line pass took the date and time for a phone number."""

    def format(self, record: logging.LogRecord) -> str:
        msg, args = record.msg, record.args
        record.msg, record.args = redact(record.getMessage()), None
        try:
            return super().format(record)
        finally:
            record.msg, record.args = msg, args

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        return redact(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:  # noqa: N802 - logging's name
        return redact(super().formatStack(stack_info))
