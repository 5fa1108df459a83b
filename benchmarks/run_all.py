"""Run every benchmark in this folder, each in its own process, and fail if any of them fails.

    .venv/bin/python benchmarks/run_all.py [--full] [NAME ...]

Small runs by default (each benchmark's quick mode, so `make bench` takes a few minutes); `--full` runs each at
its full-size defaults. Each benchmark's output is shown as it runs, then a summary; the exit code is 1 when
any benchmark failed or an expected one is missing. A new benchmark file here is picked up and run with
`--quick` (or nothing with `--full`). One that measures something built first (bundle.py: the PyInstaller bundle)
is skipped, not failed, when that has not been built.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name -> arguments for a small run. decoders.py and lookup.py predate `--quick`: their own flags make them small.
QUICK: dict[str, list[str]] = {
    "decoders": ["--repeats", "5", "--variants", "2"],
    "lookup": ["--sizes", "10000", "--queries", "200"],
    "sell": ["--quick"],
    "devices": ["--quick"],
    "sync": ["--quick"],
    "chain": ["--quick"],
    "bundle": ["--runs", "1"],
    "returns_property": ["--quick"],
    "pack_scan": ["--quick"],
    "curbside": ["--quick"],
    "orders": ["--quick"],
    "central_bulk": ["--quick"],
}

# name -> (what it measures that must be built first, how to build it): without it the benchmark is skipped.
NEEDS: dict[str, tuple[str, str]] = {
    "bundle": ("dist/counterline", "make dist"),
}


def discover() -> list[str]:
    """The expected benchmarks in a fixed order, then any other script in this folder."""
    others = sorted(
        p.stem
        for p in HERE.glob("*.py")
        if p.stem not in QUICK and p.name != Path(__file__).name and not p.stem.startswith("_")
    )
    return [*QUICK, *others]


def outcome(code: int) -> str:
    if code == 0:
        return "ok"
    if code < 0:
        try:
            return f"FAILED ({signal.Signals(-code).name})"
        except ValueError:
            return f"FAILED (signal {-code})"
    return f"FAILED (exit {code})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="full-size runs (can take much longer)")
    ap.add_argument("names", nargs="*", help="only these benchmarks (default: all)")
    args = ap.parse_args()
    names = args.names or discover()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        env.setdefault("QT_QPA_PLATFORM", "offscreen")

    results: list[tuple[str, str, float]] = []
    for name in names:
        script = HERE / f"{name}.py"
        flags = [] if args.full else QUICK.get(name, ["--quick"])
        print(f"\n=== {name} {' '.join(flags)}".rstrip() + " ===", flush=True)
        if not script.is_file():
            print(f"{script.name} is missing", flush=True)
            results.append((name, "MISSING", 0.0))
            continue
        needed = NEEDS.get(name)
        if needed and not (HERE.parent / needed[0]).exists():
            print(f"skipped: no {needed[0]} to measure (build it with `{needed[1]}`)", flush=True)
            results.append((name, "skipped", 0.0))
            continue
        start = time.perf_counter()
        code = subprocess.run([sys.executable, str(script), *flags], cwd=HERE.parent, env=env).returncode
        results.append((name, outcome(code), time.perf_counter() - start))

    print(f"\n=== summary ({'full' if args.full else 'quick'}) ===")
    for name, status, seconds in results:
        print(f"{name:<12}{seconds:>8.1f} s  {status}")
    failed = [name for name, status, _s in results if status not in ("ok", "skipped")]
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
