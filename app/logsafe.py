"""Log redaction: customer e-mail addresses, phone numbers and anything that could be a card number never reach a log.

Card numbers are found by `app.domain.tenders.card_number_spans`, the same rule the card tender's reference field
refuses by: 13-19 Luhn-valid digits, whatever separates them (spaces, hyphens, dots, slashes, underscores).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from app.domain.tenders import card_number_spans

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
PHONE = re.compile(r"\+?\d[\d ()-]{7,}\d")


def redact(text: str) -> str:
    text = EMAIL.sub("[email]", text)
    text = _redact_card_numbers(text)
    return PHONE.sub("[phone]", text)


def _redact_card_numbers(text: str) -> str:
    spans = card_number_spans(text)
    if not spans:
        return text
    parts: list[str] = []
    at = 0
    for start, end in spans:
        parts.append(text[at:start])
        parts.append("[number]")
        at = end
    parts.append(text[at:])
    return "".join(parts)


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
