"""Device-neutral printable documents: the blocks a receipt, report, slip or label is made of.

This module owns the document model (a `Document` of frozen block dataclasses), its JSON form (print jobs
are stored as JSON in the database and re-rendered on reprint), money formatting for printed documents, and
the plain-text layout helpers (wrapping, left/right columns) that every character-based renderer shares.
It is pure Python: no printer, PDF or GUI library is imported here, so `app` stays free of device code.
"""

from __future__ import annotations

import textwrap
from dataclasses import asdict, dataclass, field, fields
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal, get_args

from babel import Locale
from babel.numbers import format_currency

Align = Literal["left", "center", "right"]
Symbology = Literal["code128", "ean13", "gs1_128", "datamatrix"]

ALIGNS: tuple[str, ...] = get_args(Align)
SYMBOLOGIES: tuple[str, ...] = get_args(Symbology)

# Bumped when the JSON shape changes incompatibly, so an old stored job is refused loudly, not misprinted.
JSON_VERSION = 1


@dataclass(frozen=True)
class Text:
    """One paragraph of text; renderers wrap it to the document width (half the width when size is 2)."""

    text: str
    align: Align = "left"
    bold: bool = False
    size: int = 1
    underline: bool = False

    def __post_init__(self) -> None:
        if self.align not in ALIGNS:
            raise ValueError(f"align must be one of {ALIGNS}, not {self.align!r}")
        if self.size not in (1, 2):
            raise ValueError(f"size must be 1 or 2, not {self.size!r}")


@dataclass(frozen=True)
class Columns:
    """A left-justified and a right-justified text on one line (item and amount, label and value)."""

    left: str
    right: str
    bold: bool = False


@dataclass(frozen=True)
class Rule:
    """A horizontal separator across the full width."""

    char: str = "-"

    def __post_init__(self) -> None:
        if len(self.char) != 1:
            raise ValueError("a rule is drawn with exactly one character")


@dataclass(frozen=True)
class Barcode:
    """A 1D or 2D barcode. For gs1_128 the data is the human-readable element string, e.g. "(00)...".

    hri: print the human-readable interpretation under the bars.
    """

    data: str
    symbology: Symbology
    hri: bool = True

    def __post_init__(self) -> None:
        if self.symbology not in SYMBOLOGIES:
            raise ValueError(f"symbology must be one of {SYMBOLOGIES}, not {self.symbology!r}")
        if not self.data:
            raise ValueError("a barcode needs data")
        if self.symbology == "ean13" and not (self.data.isascii() and self.data.isdigit()):
            raise ValueError("EAN-13 data must be ASCII digits")
        if self.symbology == "ean13" and len(self.data) not in (12, 13):
            raise ValueError("EAN-13 data must have 12 or 13 digits")


@dataclass(frozen=True)
class Qr:
    """A QR code."""

    data: str

    def __post_init__(self) -> None:
        if not self.data:
            raise ValueError("a QR code needs data")


@dataclass(frozen=True)
class Image:
    """A picture (usually the store logo): a file path or a key the renderer resolves through its options."""

    path_or_key: str


@dataclass(frozen=True)
class Feed:
    """Blank lines."""

    lines: int = 1

    def __post_init__(self) -> None:
        if self.lines < 0:
            raise ValueError("cannot feed a negative number of lines")


@dataclass(frozen=True)
class Cut:
    """Cut the paper here (ignored where there is nothing to cut, e.g. PDF, labels)."""


Block = Text | Columns | Rule | Barcode | Qr | Image | Feed | Cut

_BLOCK_TYPES: dict[str, type[Any]] = {
    "text": Text,
    "columns": Columns,
    "rule": Rule,
    "barcode": Barcode,
    "qr": Qr,
    "image": Image,
    "feed": Feed,
    "cut": Cut,
}
_TYPE_NAMES: dict[type[Any], str] = {cls: name for name, cls in _BLOCK_TYPES.items()}


@dataclass
class Document:
    """A device-neutral document: what to print, not how. `kind` tells renderers which media it is meant for
    ("receipt", "shift_report", "shelf_label", "packing_slip", "shipping_label"); width_chars is the line
    width the builder laid it out for (48 for 80 mm rolls, 32 for 58 mm)."""

    kind: str
    width_chars: int
    blocks: list[Block] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.width_chars < 8:
            raise ValueError("width_chars is too small to print anything useful")

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-compatible dict (str/int/bool/list/dict only)."""
        return {
            "version": JSON_VERSION,
            "kind": self.kind,
            "width_chars": self.width_chars,
            "blocks": [{"type": _TYPE_NAMES[type(b)], **asdict(b)} for b in self.blocks],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Document:
        """Rebuild a document from `to_json()` output; unknown block types or fields raise ValueError."""
        version = data.get("version")
        if version != JSON_VERSION:
            raise ValueError(f"unsupported document version {version!r}")
        blocks: list[Block] = []
        for raw in data["blocks"]:
            raw = dict(raw)
            type_name = raw.pop("type", None)
            block_cls = _BLOCK_TYPES.get(str(type_name))
            if block_cls is None:
                raise ValueError(f"unknown block type {type_name!r}")
            known = {f.name for f in fields(block_cls)}
            unknown = set(raw) - known
            if unknown:
                raise ValueError(f"unknown fields for {type_name}: {sorted(unknown)}")
            blocks.append(block_cls(**raw))
        return cls(kind=str(data["kind"]), width_chars=int(data["width_chars"]), blocks=blocks)


def format_money(amount: Decimal, currency: str, locale: str) -> str:
    """Money as the store's locale writes it ("€1,234.50", "1.234,50 €")."""
    if not isinstance(amount, Decimal):
        # A float here would already have lost cents; refuse instead of printing a wrong amount.
        raise TypeError("money must be a Decimal")
    return _money_text(str(amount), currency, locale)


@lru_cache(maxsize=4096)
def _money_text(amount: str, currency: str, locale: str) -> str:
    # A receipt formats a few dozen amounts, the same prices again and again from sale to sale: Babel's 20-30 us a
    # call was a tenth of a sale's completion. Keyed by the amount's text, so 1.5 and 1.50, 0 and -0, stay apart.
    return str(format_currency(Decimal(amount), currency, locale=_locale(locale)))


@lru_cache(maxsize=16)
def _locale(name: str) -> Locale:
    # Parsed once: babel parses a locale name again on every call, two thirds of a receipt line's formatting.
    return Locale.parse(name)


def wrap(text: str, width: int) -> list[str]:
    """Wrap text to width; long words are broken rather than overflowing the paper. Empty text is one line."""
    if width < 1:
        raise ValueError("width must be positive")
    lines: list[str] = []
    for paragraph in text.split("\n"):
        lines.extend(textwrap.wrap(paragraph, width, break_long_words=True, replace_whitespace=False) or [""])
    return lines


def layout_columns(left: str, right: str, width: int) -> list[str]:
    """Lay out a left and a right text on `width` characters.

    When both do not fit on one line (with one space between), the left text is wrapped and the right text is
    right-justified on the last line if it fits there, else on a line of its own; so amounts always stay in
    the right-hand column.
    """
    if len(left) + 1 + len(right) <= width:
        return [left + " " * (width - len(left) - len(right)) + right]
    left_lines = wrap(left, width)
    last = left_lines[-1]
    if len(last) + 1 + len(right) <= width:
        left_lines[-1] = last + " " * (width - len(last) - len(right)) + right
        return left_lines
    return left_lines + [line.rjust(width) for line in wrap(right, width)]
