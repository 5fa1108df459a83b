"""Pure helpers for keyboard-wedge scanners (scanners that type the code as keystrokes); no Qt here.

The UI's scan router receives the keystrokes; this module owns the rules it applies to them: what counts as
a scanner burst rather than a person typing (`is_scanner_burst`), the configured prefix and suffix a scanner
adds around each code (`strip_affixes`), and recovering what the scanner meant when the keyboard layout got in
the way.

Keyboard-layout pitfalls:
- A wedge scanner sends *key positions* (USB HID usages), not characters; the operating system turns them into
  characters with the layout of the computer. A scanner set up for US English, plugged into a computer with a
  French AZERTY layout, types the unshifted digit row: "1234567890" arrives as ``&é"'(-è_çà``. `azerty_to_digits`
  recognises such a scan and gives the digits back. Letters move too (A/Q, Z/W, M), so a Code 128 with letters
  cannot be repaired reliably; the fix is to set the scanner's keyboard country to match the computer (or the
  scanner's "ALT+keypad" / "Unicode" emulation mode), which the setup screen should say.
- GS1 codes need the group separator (ASCII 29, GS) between variable-length fields. A wedge scanner sends it as
  Ctrl+] on a US layout; on other layouts "]" sits elsewhere (AltGr+) or ) on AZERTY), so Ctrl+] may produce a
  different key or nothing, and the fields run together. Configure the scanner to send GS as another character
  that never occurs in codes (many offer "~" or F-keys) and set `WedgeConfig.gs_substitute`; then
  `restore_group_separators` puts the real GS back before parsing. Qt reports Ctrl+] as the text "\\x1d" on some
  platforms and as an empty text with Key_BracketRight + Control on others: the router must handle both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "AZERTY_DIGIT_ROW",
    "GS",
    "WedgeConfig",
    "azerty_to_digits",
    "is_scanner_burst",
    "restore_group_separators",
    "strip_affixes",
]

GS = "\x1d"
# The unshifted digit row of a French AZERTY keyboard, in the order of the keys 1..9, 0.
AZERTY_DIGIT_ROW = "&é\"'(-è_çà"
_AZERTY_TO_DIGIT = str.maketrans(AZERTY_DIGIT_ROW, "1234567890")
_TERMINATOR_CHARS = {"enter": "\r\n", "tab": "\t"}


@dataclass(frozen=True, slots=True)
class WedgeConfig:
    """How a wedge scanner is set up: what it adds around a code and how fast it types."""

    prefix: str = ""
    suffix: str = ""
    terminator: Literal["enter", "tab"] = "enter"
    # A person rarely types two keys within 50 ms; a scanner types a whole code at 2-20 ms per key.
    max_gap_ms: float = 50
    min_length: int = 3
    # The character the scanner was set to send instead of GS (see the module docstring); "" for none.
    gs_substitute: str = ""

    def __post_init__(self) -> None:
        if self.terminator not in _TERMINATOR_CHARS:
            raise ValueError(f"terminator must be 'enter' or 'tab', not {self.terminator!r}")
        if self.max_gap_ms <= 0 or self.min_length < 1:
            raise ValueError("max_gap_ms must be positive and min_length at least 1")


def strip_affixes(text: str, cfg: WedgeConfig) -> str:
    """Remove the terminator, then the configured suffix and prefix, from one received scan.

    An affix that is missing is left alone rather than failing: scanners are reconfigured and the scan is
    still worth parsing.
    """
    text = text.rstrip(_TERMINATOR_CHARS[cfg.terminator])
    if cfg.suffix and text.endswith(cfg.suffix):
        text = text[: -len(cfg.suffix)]
    if cfg.prefix and text.startswith(cfg.prefix):
        text = text[len(cfg.prefix) :]
    return text


def restore_group_separators(text: str, cfg: WedgeConfig) -> str:
    """Turn the configured GS substitute back into ASCII GS (29)."""
    if not cfg.gs_substitute:
        return text
    return text.replace(cfg.gs_substitute, GS)


def azerty_to_digits(text: str) -> str | None:
    """The digits a scan meant if it was typed through a French layout, else None.

    Returns None when the text holds anything but AZERTY digit-row characters (and real digits, which a
    scanner in "numeric keypad" mode may still send), or when none of it was mistyped: a plain digit scan
    needs no repair.
    """
    if not text or not any(c in AZERTY_DIGIT_ROW for c in text):
        return None
    if not all(c in AZERTY_DIGIT_ROW or c in "0123456789" for c in text):
        return None
    return text.translate(_AZERTY_TO_DIGIT)


def is_scanner_burst(key_times_ms: Sequence[float], cfg: WedgeConfig) -> bool:
    """True if keystrokes at these times (monotonic ms, one per character) came from a scanner.

    A scanner burst is at least `min_length` keys, each within `max_gap_ms` of the one before.
    """
    if len(key_times_ms) < cfg.min_length:
        return False
    return all(0 <= b - a <= cfg.max_gap_ms for a, b in zip(key_times_ms, key_times_ms[1:], strict=False))
