"""Item verification rules: worked examples and properties (no database)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from app.domain.verification import Line, Verdict, apply_scan, complete, remaining

D = Decimal
ORDER = [
    Line("l1", "MILK", "Milk 1l", D(2)),
    Line("l2", "BREAD", "Bread", D(1)),
    Line("l3", "MILK", "Milk 1l", D(1)),
    Line("l4", "APPLES", "Apples", D("0.750"), weighed=True),
]


def test_an_order_scanned_item_by_item() -> None:
    scanned: dict[str, Decimal] = {}
    steps = []
    for sku in ["MILK", "BREAD", "MILK", "APPLES", "MILK"]:
        out = apply_scan(ORDER, scanned, sku, D(1))
        scanned = out.scanned
        steps.append((out.verdict, out.line_id))
    assert steps == [
        (Verdict.COUNTED, "l1"),
        (Verdict.LINE_DONE, "l2"),
        (Verdict.LINE_DONE, "l1"),
        (Verdict.LINE_DONE, "l4"),
        (Verdict.ORDER_DONE, "l3"),
    ]
    assert scanned == {"l1": D(2), "l2": D(1), "l3": D(1), "l4": D("0.750")}
    assert complete(ORDER, scanned)


def test_refusals_count_nothing() -> None:
    out = apply_scan(ORDER, {}, "CHEESE", D(1))
    assert out.verdict == Verdict.NOT_IN_ORDER and not out.accepted and out.scanned == {}
    assert "not in this order" in out.message
    full = {"l1": D(2), "l3": D(1)}
    out = apply_scan(ORDER, full, "MILK", D(1))
    assert (
        out.verdict == Verdict.TOO_MANY and out.scanned == full and "all 3 are already scanned" in out.message
    )
    out = apply_scan(ORDER, {}, "MILK", D(6))  # a case of 6 for 3 wanted
    assert out.verdict == Verdict.PACK_TOO_BIG and out.scanned == {} and "only 3 more" in out.message


def test_a_case_fills_the_lines_of_its_product_in_order() -> None:
    out = apply_scan(ORDER, {}, "MILK", D(3))
    assert out.accepted and out.counted == D(3) and out.scanned == {"l1": D(2), "l3": D(1)}


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["MILK", "BREAD", "APPLES", "CHEESE"]), st.sampled_from([D(1), D(2), D(6)])
        ),
        max_size=30,
    )
)
def test_never_more_than_ordered_and_complete_means_every_line_full(scans: list[tuple[str, Decimal]]) -> None:
    scanned: dict[str, Decimal] = {}
    for sku, units in scans:
        before = dict(scanned)
        out = apply_scan(ORDER, scanned, sku, units)
        if not out.accepted:
            assert out.scanned == before and out.counted == 0
        scanned = out.scanned
        for line in ORDER:
            assert D(0) <= scanned.get(line.line_id, D(0)) <= line.qty
        assert (out.verdict == Verdict.ORDER_DONE) == (out.accepted and complete(ORDER, scanned))
    assert complete(ORDER, scanned) == all(remaining(x, scanned) == 0 for x in ORDER)
