"""Parse once: the scan router's parsed scan travels to the service (no second parse of its raw text), the store's
barcode rules are a setting both apply, and each internal prefix and the tender list are defined once.

Through the real main window on a copy of the demo store: a US UPC-A price label (02 IIIII P VVVV C) is not read
as one by default; with the store setting `barcodes.upc_a_price_labels` it sells at the label's price, and the
code is parsed exactly once on its way from the scan field to the sale line.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Product
from app.domain import barcode_rules, barcodes, prefixes, tenders
from app.services import settings, shifts
from app.services.base import Actor, here
from tests.ui.test_sell import idle, sign_in
from ui.context import AppContext
from ui.feedback import MessageBar, Sounds
from ui.main_window import MainWindow
from ui.ops import Ops
from ui.scan_sources import router_from_settings

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    p for d in ("app", "ui", "sync", "devices") for p in (ROOT / d).rglob("*.py") if "versions" not in p.parts
]


def window_for(db: sessionmaker[Session], qtbot: QtBot) -> MainWindow:
    with db() as s:
        h = here(s)
    router, _scanner, problems = router_from_settings(db)  # what ui.main builds
    assert problems == []
    ctx = AppContext(factory=db, ops=Ops(db), router=router, messages=MessageBar(), sounds=Sounds(), here=h)
    win = MainWindow(ctx)
    qtbot.addWidget(win)
    win.show()
    return win


@pytest.fixture
def upc_label(db: sessionmaker[Session]) -> Iterator[tuple[str, str]]:
    """A UPC-A price label at 3.49 for a demo item with a scale item reference, and the item's name."""
    with db() as s:
        item_ref, name = s.execute(
            select(Product.item_ref, Product.name).where(Product.item_ref.is_not(None)).order_by(Product.sku)
        ).first()  # type: ignore[misc]
    config = barcode_rules.config_from_setting({"upc_a_price_labels": True})
    ean13 = barcodes.make_variable_measure_code("02", str(item_ref)[-5:].zfill(5), Decimal("3.49"), config)
    yield ean13[1:], name  # the 12 digits a UPC-A carries


@pytest.mark.parametrize("upc_rules", [False, True])
def test_the_stores_upc_a_rule_reaches_the_sale_and_a_scan_is_parsed_once(
    db: sessionmaker[Session],
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
    upc_label: tuple[str, str],
    upc_rules: bool,
) -> None:
    code, name = upc_label
    with db.begin() as s:
        settings.put(s, "barcodes", {"variable_measure": "default", "upc_a_price_labels": upc_rules})
    win = window_for(db, qtbot)
    try:
        sign_in(qtbot, win, "manager", "6666")
        with db.begin() as s:
            assert win.ctx.user is not None
            shifts.open_shift(s, Actor(win.ctx.user.id), Decimal("100.00"))
        win.show_screen("sell")
        idle(qtbot, win)
        parsed: list[str] = []
        real_parse = barcodes.parse

        def counting(raw: str, config: barcodes.BarcodeConfig | None = None) -> barcodes.ScanResult:
            parsed.append(raw)
            return real_parse(raw, config)

        monkeypatch.setattr(barcodes, "parse", counting)
        win.scan.setText(code)
        qtbot.keyClick(win.scan, Qt.Key.Key_Return)
        idle(qtbot, win)
        sell = win.screens["sell"]
        assert parsed == [code]  # by the router only; the service took the parsed scan as it was
        if upc_rules:
            assert sell.sale is not None and [(ln.name, ln.amount) for ln in sell.sale.lines] == [
                (name, Decimal("3.49"))
            ]
        else:
            assert sell.sale is None or not sell.sale.lines
            assert win.ctx.messages.error
    finally:
        win.ctx.ops.shutdown()


def _string_constants(tree: ast.AST) -> Iterator[tuple[int, str]]:
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value


def test_each_internal_prefix_is_written_once() -> None:
    """No code but app/domain/prefixes.py spells a prefix of the store's own codes (docstrings may quote them)."""
    owner = ROOT / "app" / "domain" / "prefixes.py"
    found = []
    for path in SOURCES:
        if path == owner:
            continue
        for line, value in _string_constants(ast.parse(path.read_text(encoding="utf-8"))):
            if any(value.startswith(p) for p in prefixes.KINDS):
                found.append(f"{path.relative_to(ROOT)}:{line}: {value!r}")
    assert found == []
    assert barcodes.DEFAULT_INTERNAL_PREFIXES == prefixes.KINDS


def test_the_tender_list_is_written_once() -> None:
    owner = ROOT / "app" / "domain" / "tenders.py"
    found = []
    for path in SOURCES:
        if path == owner:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Tuple | ast.List | ast.Set | ast.Dict):
                items = node.keys if isinstance(node, ast.Dict) else node.elts
                words = {k.value for k in items if isinstance(k, ast.Constant)}
                if {"store_credit", "gift_card"} <= words:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []
    assert tenders.KINDS == ("cash", "card", "store_credit", "gift_card")


def test_services_take_the_parsed_scan_without_parsing_again(
    db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Verification (Pickup, Pack) and the receipt look-up (Lookup) take the router's parsed scan as it is."""
    from app.services import journal, verification
    from tests.db.test_sales import actor
    from tests.db.test_verification import _order

    order_id, lines = _order(db, "pickup")
    code = barcodes.parse(lines[0][0])
    receipt = barcodes.parse(prefixes.RECEIPT + "S001-01-999999")
    calls: list[str] = []
    real_parse = barcodes.parse
    monkeypatch.setattr(
        barcodes, "parse", lambda raw, config=None: calls.append(raw) or real_parse(raw, config)
    )
    with db.begin() as s:
        view = verification.scan(s, actor(db, "associate"), order_id, code)
        answer = journal.find_code(s, receipt)
    assert view.verdict is not None and view.message
    assert answer.row is None and "S001-01-999999" in answer.message
    assert calls == []
