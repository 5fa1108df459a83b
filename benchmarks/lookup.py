"""Catalog lookup at scale: barcode lookup and name search p50/p99 on a real SQLite file.

    .venv/bin/python benchmarks/lookup.py [--sizes 10000 1000000] [--queries 500]

Builds each catalog with bulk inserts (products, barcodes and the FTS5 index through its triggers) in a temporary
folder, then times `catalog.find_scan(parse(code))` and `catalog.search(words)` as the counter calls them.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from sqlalchemy import insert

from app import demo
from app.db.engine import make_engine, make_read_sessionmaker, make_sessionmaker, migrate
from app.db.models import Barcode, Product
from app.domain import barcodes
from app.ids import new_id
from app.services import catalog

WORDS = [w for _c, (_n, items) in demo.DEPARTMENTS.items() for item in items for w in item.split()]


def build(path: Path, n: int, rng: random.Random) -> list[str]:
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    with make_sessionmaker(engine).begin() as s:
        demo.seed(s, products=40)
    codes: list[str] = []
    with engine.begin() as conn:
        batch_p: list[dict[str, object]] = []
        batch_b: list[dict[str, object]] = []
        for i in range(n):
            name = f"{rng.choice(demo.BRANDS)} {rng.choice(WORDS)} {rng.choice(WORDS)} {rng.choice(demo.VARIANTS)} {i}"
            pid = new_id()
            batch_p.append(
                {
                    "id": pid,
                    "sku": f"B-{i:07d}",
                    "name": name,
                    "name_lower": name.lower(),
                    "price": Decimal("1.99"),
                    "tax_class": "STD",
                    "department": "GROC",
                    "unit": "ea",
                    "weighed": False,
                    "priced_by_barcode": False,
                    "active": True,
                    "reorder_level": Decimal(0),
                }
            )
            code = demo.ean13(f"54{i:010d}")
            batch_b.append({"code": demo.gtin14(code), "product_id": pid, "pack_qty": 1})
            if i % max(1, n // 2000) == 0:
                codes.append(code)
            if len(batch_p) == 20_000:
                conn.execute(insert(Product), batch_p)
                conn.execute(insert(Barcode), batch_b)
                batch_p, batch_b = [], []
        if batch_p:
            conn.execute(insert(Product), batch_p)
            conn.execute(insert(Barcode), batch_b)
    engine.dispose()
    return codes


def pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(q * len(s)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 200_000])
    ap.add_argument("--queries", type=int, default=500)
    args = ap.parse_args()
    rng = random.Random(1)
    print(
        f"{'products':>10} {'build s':>8} {'scan p50':>9} {'scan p99':>9} {'search p50':>11} {'search p99':>11}  (ms)"
    )
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as d:
            t = time.perf_counter()
            codes = build(Path(d) / "bench.db", n, rng)
            built = time.perf_counter() - t
            engine = make_engine(f"sqlite:///{Path(d) / 'bench.db'}")
            factory = make_read_sessionmaker(engine)
            scan, search = [], []
            with factory() as s:
                for _ in range(args.queries):
                    code = rng.choice(codes)
                    t = time.perf_counter()
                    catalog.find_scan(s, barcodes.parse(code))
                    scan.append((time.perf_counter() - t) * 1000)
                    q = f"{rng.choice(WORDS)[:4]} {rng.choice(WORDS)[:3]}"
                    t = time.perf_counter()
                    catalog.search(s, q, 50)
                    search.append((time.perf_counter() - t) * 1000)
            engine.dispose()
            print(
                f"{n:>10} {built:>8.1f} {statistics.median(scan):>9.2f} {pct(scan, 0.99):>9.2f} "
                f"{statistics.median(search):>11.2f} {pct(search, 0.99):>11.2f}"
            )


if __name__ == "__main__":
    main()
