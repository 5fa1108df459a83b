"""The message bar's colours follow what it shows through every change: its style is applied again only when the
kind changes (a warning at every scan re-polished it each time, about a millisecond a scan), so a kind that comes
back after another, or after the bar was acknowledged, must still be drawn in its own colour."""

from __future__ import annotations

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from ui.feedback import MessageBar
from ui.theme import ERROR_RED, GOOD_GREEN, STYLE, WARN_AMBER


def colour(label: QLabel) -> str:
    """The background drawn at the label's top-left corner (inside its padding, clear of the text)."""
    return label.grab().toImage().pixelColor(2, 2).name()


def test_the_bar_is_drawn_in_the_colour_of_each_kind_it_shows_in_turn(qtbot: QtBot) -> None:
    host = QWidget()
    host.setStyleSheet(STYLE)
    bar = MessageBar(host)
    QVBoxLayout(host).addWidget(bar)
    host.resize(700, 200)
    qtbot.addWidget(host)
    host.show()
    red, green, amber = (QColor(c).name() for c in (ERROR_RED, GOOD_GREEN, WARN_AMBER))

    steps = [
        (lambda: bar.show_warning("Only 0 of Tea in stock here"), "warning", bar.notice_label, amber),
        (lambda: bar.show_warning("Only 0 of Jam in stock here"), "warning", bar.notice_label, amber),
        (lambda: bar.show_notice("Sale complete"), "notice", bar.notice_label, green),
        (lambda: bar.show_warning("Only 1 of Tea in stock here"), "warning", bar.notice_label, amber),
        (lambda: bar.show_error("Unknown code"), "error", bar.error_label, red),
        (bar.clear, "", None, None),
        (lambda: bar.show_warning("Only 0 of Tea in stock here"), "warning", bar.notice_label, amber),
        (lambda: bar.show_error("Unknown code"), "error", bar.error_label, red),
        (lambda: bar.show_warning("Only 2 of Tea in stock here"), "error", bar.notice_label, amber),
        (bar.clear, "", None, None),
        (lambda: bar.show_notice("Sale complete"), "notice", bar.notice_label, green),
    ]
    for n, (act, kind, label, want) in enumerate(steps):
        act()
        qtbot.wait(1)
        assert bar.kind == kind, n
        if label is not None:
            assert label.isVisible() and colour(label) == want, (n, colour(label), want)
            # The bar's own background (under the OK button) is the colour of what is read first.
            first = red if bar.error else want
            assert bar.grab().toImage().pixelColor(bar.width() - 3, bar.height() // 2).name() == first, n
