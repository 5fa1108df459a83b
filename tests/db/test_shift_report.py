"""The Z report of a known day, checked figure by figure on a real SQLite copy of the demo store.

The day: a float of 100.00; three sales in an inclusive-tax store with cash rounding to 0.05, with a line
discount and an order discount, tax at 23 % and 13.5 %, a voided line, two cash payments on one sale, cash
with change, a card payment; a voided sale, an empty sale voided at a user switch (not a sale), and a no-sale.
Every figure below is worked out by hand in the comments.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import PrintJob, Product, Shift, StaffUser
from app.documents.model import Columns, Document, Text
from app.services import sales, shifts
from app.services.base import Actor, PermissionDenied

Factory = sessionmaker[Session]
D = Decimal


def actor(db: Factory, username: str) -> Actor:
    with db() as s:
        uid = s.scalar(select(StaffUser.id).where(StaffUser.username == username))
        assert uid is not None
        return Actor(uid)


def products(db: Factory) -> tuple[str, str]:
    """A 20.00 kettle at 23 % and a 3.99 loaf at 13.5 %: prices known here, whatever the demo catalog holds."""
    with db.begin() as s:
        kettle = Product(sku="ZK-1", name="Kettle", name_lower="kettle", price=D("20.00"), tax_class="STD")
        loaf = Product(sku="ZL-1", name="Loaf", name_lower="loaf", price=D("3.99"), tax_class="RED")
        s.add_all([kettle, loaf])
        s.flush()
        return kettle.id, loaf.id


def known_day(db: Factory) -> Actor:
    m = actor(db, "manager")
    kettle, loaf = products(db)
    with db.begin() as s:
        shifts.open_shift(s, m, D("100.00"))

    # Sale 1: kettle 10 % off (18.00) + loaf 3.99 = 21.99; cash due rounds to 22.00 (+0.01); 50.00 given, 28.00 change.
    with db.begin() as s:
        sale = sales.start_sale(s, m)
        line = sales.add_product(s, m, sale.id, kettle).line_id
        assert line is not None
        sales.add_product(s, m, sale.id, loaf)
        sales.discount_line(s, m, sale.id, line, "percent", D("10"), "damaged box")
        sales.add_tender(s, m, sale.id, "cash", D("50.00"))
        done = sales.complete_sale(s, m, sale.id)
        assert (done.sale.total, done.sale.rounding, done.change) == (D("21.99"), D("0.01"), D("28.00"))

    # Sale 2: two loaves 7.98 and a kettle voided (a voided line of 20.00); 1.00 off the sale: 6.98 by card.
    with db.begin() as s:
        sale = sales.start_sale(s, m)
        voided = sales.add_product(s, m, sale.id, kettle).line_id
        assert voided is not None
        sales.add_product(s, m, sale.id, loaf, D("2"))
        sales.void_line(s, m, sale.id, voided)
        sale = sales.discount_order(s, m, sale.id, "amount", D("1.00"), "regular customer")
        assert sale.total == D("6.98")
        sales.add_tender(s, m, sale.id, "card", D("6.98"), card_last4="4242", approval_code="A1B2")
        sales.complete_sale(s, m, sale.id)

    # Sale 3: a kettle, 20.00, paid with two cash tenders of 10.00: one sale, two payments.
    with db.begin() as s:
        sale = sales.start_sale(s, m)
        sales.add_product(s, m, sale.id, kettle)
        sales.add_tender(s, m, sale.id, "cash", D("10.00"))
        sales.add_tender(s, m, sale.id, "cash", D("10.00"))
        sales.complete_sale(s, m, sale.id)

    # A voided sale (a loaf, 3.99), and an empty sale put aside at a user switch (not a sale at all).
    with db.begin() as s:
        sale = sales.start_sale(s, m)
        sales.add_product(s, m, sale.id, loaf)
        sales.void_sale(s, m, sale.id, "customer left")
    with db.begin() as s:
        sale = sales.start_sale(s, m)
        assert sales.park_for_switch(s, m, sale.id) is None

    with db.begin() as s:
        shifts.no_sale(s, m, "change for the bakery van")
    return m


def test_figures_of_a_known_day_are_exact(db: Factory) -> None:
    m = known_day(db)
    with db() as s:
        f = shifts.x_report(s)
    assert f.sales_count == 3
    assert f.gross_sales == D("51.97")  # 23.99 + 7.98 + 20.00
    assert (f.discount_total, f.discounted_sales) == (D("3.00"), 2)  # 2.00 line + 1.00 order
    assert f.sales_total == D("48.97")  # 21.99 + 6.98 + 20.00
    assert f.cash_rounding == D("0.01")
    # Tax included in prices, rounded per line: 23 % of 18.00 -> 3.37 and of 20.00 -> 3.74;
    # 13.5 % of 3.99 -> 0.47 and of 6.98 (7.98 less the 1.00 off) -> 0.83.
    rows = [(r.tax_class, r.rate, r.taxable, r.tax) for r in f.tax_rows]
    assert rows == [("RED", D("0.135"), D("9.67"), D("1.30")), ("STD", D("0.23"), D("30.89"), D("7.11"))]
    assert f.tax_total == D("8.41")
    # Cash: sales 1 and 3 (two sales), three payments; kept 22.00 + 20.00. Card: one sale, one payment.
    assert [(t.kind, t.sales, t.payments, t.amount) for t in f.by_tender] == [
        ("cash", 2, 3, D("42.00")),
        ("card", 1, 1, D("6.98")),
    ]
    assert f.tenders_total == D("48.98") == f.sales_total + f.cash_rounding
    assert (f.cash_tendered, f.change_given, f.cash_sales) == (D("70.00"), D("28.00"), D("42.00"))
    assert (f.voided_sales, f.voided_sales_total) == (1, D("3.99"))
    assert (f.voided_lines, f.voided_lines_total) == (1, D("20.00"))
    assert f.no_sales == 1
    assert f.expected_cash == D("142.00")

    # The Z report prints the same figures, each tender saying what it counts.
    counted = {D("100"): 1, D("20"): 2, D("2"): 1}  # 142.00
    with db.begin() as s:
        z = shifts.close_shift(s, m, counted, {"card": D("6.98")})
    assert z.cash_over_short == 0
    with db() as s:
        job = s.scalar(select(PrintJob).where(PrintJob.id == z.job_id))
        assert job is not None
        doc = Document.from_json(job.document)
        report = s.get(Shift, z.shift_id)
        assert report is not None
        stored = report.report
    pairs = {b.left: b.right for b in doc.blocks if isinstance(b, Columns)}
    assert pairs["Completed sales"] == "3"
    assert pairs["Gross sales"] == "€51.97"
    assert pairs["Discounts (2 sales)"] == "-€3.00"
    assert pairs["Net sales"] == "€48.97"
    assert pairs["Cash rounding"] == "€0.01"
    assert pairs["RED 13.5% on €9.67"] == "€1.30"
    assert pairs["STD 23% on €30.89"] == "€7.11"
    assert pairs["Tax total"] == "€8.41"
    assert pairs["Cash: 2 sales, 3 payments"] == "€42.00"
    assert pairs["Card: 1 sale"] == "€6.98"
    assert pairs["Total taken"] == "€48.98"
    assert pairs["Cash handed over"] == "€70.00"
    assert pairs["Change given"] == "-€28.00"
    assert pairs["Voided sales (1)"] == "€3.99"
    assert pairs["Voided lines (1)"] == "€20.00"
    assert pairs["No sales (drawer opened)"] == "1"
    assert pairs["Expected cash"] == "€142.00" and pairs["Counted cash"] == "€142.00"
    assert pairs["Card over/short"] == "€0.00"
    assert any(isinstance(b, Text) and b.text == "Z REPORT" for b in doc.blocks)
    # What goes to the central store keeps its older keys and gains the new figures.
    assert stored["sales_count"] == 3 and stored["by_tender"][0] == {
        "kind": "cash",
        "count": 3,
        "sales": 2,
        "amount": "42.00",
    }
    assert stored["tax_total"] == "8.41" and stored["voided_lines"] == 1 and stored["change_given"] == "28.00"


def test_x_and_z_approvals_name_what_they_approve(db: Factory) -> None:
    cashier = actor(db, "cashier")
    with db.begin() as s:
        shifts.open_shift(s, cashier, D("50.00"))
    with db.begin() as s:
        try:
            shifts.print_x_report(s, cashier)
        except PermissionDenied as denied:
            x_text = str(denied)
    with db.begin() as s:
        try:
            shifts.close_shift(s, cashier, {D("50"): 1})
        except PermissionDenied as denied:
            z_text = str(denied)
    assert x_text == "A manager must approve: print an X report."
    assert z_text == "A manager must approve: close the shift and print the Z report."
