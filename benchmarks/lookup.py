"""Catalog lookup at scale: barcode lookup and name search p50/p99 on a real SQLite file.

    .venv/bin/python benchmarks/lookup.py [--sizes 10000 1000000] [--queries 500] [--db CATALOG.db ...]

Builds each catalog with bulk inserts (products, barcodes and the FTS5 index through its triggers) in a temporary
folder, then times `catalog.find_scan(parse(code))` and `catalog.search(words)` as the counter calls them. The
search is also given in CPU time of the calling thread (`search cpu`): on a loaded machine the wall time is mostly
waiting for a core, and the CPU time still compares one change with another.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from sqlalchemy import insert, text

from app import demo
from app.db.engine import make_engine, make_read_sessionmaker, make_sessionmaker, migrate
from app.db.models import Barcode, Product
from app.domain import barcodes
from app.ids import new_id
from app.services import catalog

try:
    import start  # benchmarks/start.py: this folder is first on sys.path when run as a script
except ImportError:  # imported as benchmarks.lookup (sell.py takes this folder off sys.path)
    from benchmarks import start

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
            case = "1" + code[:12]  # the case of 6: indicator digit 1, same item reference, own check digit
            batch_b.append(
                {"code": case + str(barcodes.gtin_check_digit(case)), "product_id": pid, "pack_qty": 6}
            )
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


def reuse(source: Path, path: Path) -> list[str]:
    """A catalog `build` made before (`--db`): copied to `path`, brought to the newest schema, and the same codes
    to scan `build` would have returned for its size."""
    shutil.copyfile(source, path)
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM products WHERE sku LIKE 'B-%'")).scalar() or 0
    engine.dispose()
    if not n:
        raise SystemExit(f"{source} is no catalog this benchmark built")
    return [demo.ean13(f"54{i:010d}") for i in range(0, n, max(1, n // 2000))]


def time_to_window(data_dir: Path) -> tuple[float, float, float]:
    """Seconds from launching `counterline --data-dir DIR` (a fresh Python process) to its main window shown and
    painted, the CPU seconds it used until then, and its peak resident memory (MB): benchmarks/start.py."""
    (data_dir / "counterline.db").unlink(missing_ok=True)
    (data_dir / "bench.db").rename(data_dir / "counterline.db")
    started = start.time_to_window(data_dir)
    return started.wall_s, started.cpu_s, started.rss_mb


def pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(q * len(s)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 200_000])
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument(
        "--db", type=Path, nargs="+", help="catalogs built before, one per size, instead of building"
    )
    args = ap.parse_args()
    rng = random.Random(1)
    print(
        f"{'products':>10} {'build s':>8} {'scan p50':>9} {'scan p99':>9} {'search p50':>11} {'search p99':>11}"
        f" {'search cpu p50':>15} {'search cpu p99':>15} {'start':>10} {'start cpu':>10} {'RSS MB':>7}"
        "  (ms; start = `counterline` launched to window shown and painted, a new process; start cpu = the CPU time it"
        " used until then; RSS = its peak resident memory)"
    )
    for n in args.db or args.sizes:
        with tempfile.TemporaryDirectory() as d:
            t = time.perf_counter()
            codes = reuse(n, Path(d) / "bench.db") if args.db else build(Path(d) / "bench.db", n, rng)
            built = time.perf_counter() - t
            engine = make_engine(f"sqlite:///{Path(d) / 'bench.db'}")
            factory = make_read_sessionmaker(engine)
            scan, search, search_cpu = [], [], []
            with factory() as s:
                for _ in range(args.queries):
                    code = rng.choice(codes)
                    t = time.perf_counter()
                    catalog.find_scan(s, barcodes.parse(code))
                    scan.append((time.perf_counter() - t) * 1000)
                    q = f"{rng.choice(WORDS)[:4]} {rng.choice(WORDS)[:3]}"
                    t, cpu = time.perf_counter(), time.thread_time()
                    catalog.search(s, q, 50)
                    search.append((time.perf_counter() - t) * 1000)
                    search_cpu.append((time.thread_time() - cpu) * 1000)
            with factory() as s:
                size = s.scalar(text("SELECT count(*) FROM products")) or 0
            engine.dispose()
            start_s, start_cpu, rss = time_to_window(Path(d))
            print(
                f"{size:>10} {built:>8.1f} {statistics.median(scan):>9.2f} {pct(scan, 0.99):>9.2f} "
                f"{statistics.median(search):>11.2f} {pct(search, 0.99):>11.2f} "
                f"{statistics.median(search_cpu):>15.2f} {pct(search_cpu, 0.99):>15.2f} {start_s * 1000:>10.0f}"
                f" {start_cpu * 1000:>10.0f} {rss:>7.0f}"
            )


if __name__ == "__main__":
    main()
