"""The refund property at benchmark size: random split-tender sales with random partial returns at several tills,
some offline; per-tender refunds never exceed per-tender payments, total refunds never exceed the sale, returned
quantities never exceed sold (tests/domain/test_refunds.py runs the same check with fewer examples in CI); then the
same sales with random exchanges among the returns (tests/domain/test_refunds_exchange.py): no tender gets back more
than it paid, refunds and exchange credits together never pass what the sale took.

    .venv/bin/python benchmarks/returns_property.py [--examples 5000] [--quick]

Prints how many examples ran, how long they took, and fails (exit 1) on the first counterexample.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

# Run as a script, this folder comes first on sys.path, and its sync.py would hide the `sync` package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.domain.test_refunds import check_returns, sales_and_returns  # noqa: E402
from tests.domain.test_refunds_exchange import check_exchanges  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=3000)
    parser.add_argument("--quick", action="store_true", help="500 examples")
    args = parser.parse_args()
    examples = 500 if args.quick else args.examples
    ran = 0

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(sales_and_returns(), st.sets(st.integers(0, 2), max_size=2))
    def prop(case, offline):  # type: ignore[no-untyped-def]
        nonlocal ran
        ran += 1
        check_returns(case[0], case[1], offline)

    start = time.perf_counter()
    try:
        prop()
    except AssertionError as exc:
        print(f"returns property: FAILED after {ran} examples: {exc!r}")
        return 1
    took = time.perf_counter() - start
    print(f"returns property: {ran} examples (split tenders, partial returns at 3 tills, some offline) held")
    print(f"  {took:.1f} s, {1000 * took / max(ran, 1):.2f} ms per example")

    swapped = 0

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(sales_and_returns(), st.lists(st.integers(0, 20000), max_size=4))
    def exchanges(case, credits):  # type: ignore[no-untyped-def]
        nonlocal swapped
        swapped += 1
        check_exchanges(case[0], case[1], credits)

    start = time.perf_counter()
    try:
        exchanges()
    except AssertionError as exc:
        print(f"exchange property: FAILED after {swapped} examples: {exc!r}")
        return 1
    took = time.perf_counter() - start
    print(f"exchange property: {swapped} examples (returns with random exchange credits) held")
    print(f"  {took:.1f} s, {1000 * took / max(swapped, 1):.2f} ms per example")
    return 0


if __name__ == "__main__":
    sys.exit(main())
