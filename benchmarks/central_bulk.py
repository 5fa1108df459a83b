# ruff: noqa: E402
"""The central's bulk operations at chain scale on PostgreSQL: a catalog import, a new store, a goods receipt and an
on-hand import of N lines, each one transaction through the service as the CLI runs it.

    .venv/bin/python benchmarks/central_bulk.py [--quick] [--products N] [--stores S]

A fresh `counterline_bench_<hex>` database (dropped at the end), migrated; S stores, then a catalog of N products
(each a price and a barcode) imported into every store's feed; the same file again with one field changed (every
product updated, no price changed); a new store opened (its feed starts with the whole catalog); N lines received
at one store; an on-hand import of N lines there. Each line prints the seconds and the lines per second.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This folder's own helpers, when run as a script.
if __name__ == "__main__":
    import _machine
    import orders

# Run as a script, this file's folder comes first on sys.path and its name would hide the `sync` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import time
from decimal import Decimal

import psycopg

from sync.central import service, stock


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="10,000 products")
    parser.add_argument("--products", type=int, default=None, help="default 100,000")
    parser.add_argument("--stores", type=int, default=2)
    args = parser.parse_args(argv)
    n = args.products or (10_000 if args.quick else 100_000)
    print(_machine.speed_line(), flush=True)
    try:
        db = orders.Database()
    except psycopg.OperationalError as exc:
        print(f"central_bulk: PostgreSQL on 127.0.0.1:5432 is not reachable ({exc}); run `make postgres`")
        return 2

    def timed(what: str, work: object) -> None:
        start = time.perf_counter()
        with db.sessions.begin() as s:
            work(s)  # type: ignore[operator]
        took = time.perf_counter() - start
        print(f"{what:<52}{took:>8.1f} s {n / took:>10,.0f} lines/s", flush=True)

    try:
        with db.sessions.begin() as s:
            service.set_tax_class(s, "std", "0.20", "Standard")
            for k in range(1, args.stores + 1):
                service.create_store(s, f"S{k:02d}", f"Store {k}")
        header = "sku,name,price,tax_class,department,barcodes,weighed\n"
        rows = [
            f"P{i:07d},Product {i},{1 + i % 50}.00,std,general,{2_000_000_000_000 + i},no" for i in range(n)
        ]
        text = header + "\n".join(rows)
        skus = [f"P{i:07d}" for i in range(n)]
        print(f"{n:,} products, {args.stores} stores")
        timed("import-catalog, new products", lambda s: service.import_catalog(s, text))
        again = text.replace(",general,", ",grocery,")
        timed("import-catalog again, every product changed", lambda s: service.import_catalog(s, again))
        timed("create-store (its feed: the whole catalog)", lambda s: service.create_store(s, "NEW", "New"))
        lines = [stock.StockLine(sku, Decimal(10)) for sku in skus]
        timed("receive, one line per product", lambda s: stock.receive(s, "S01", lines))
        counted = "sku,location,quantity\n" + "".join(f"{sku},floor,{i % 9}\n" for i, sku in enumerate(skus))
        timed(
            "import-stock (on hand), one line per product",
            lambda s: stock.import_on_hand(s, "S01", counted, "count"),
        )
    finally:
        db.drop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
