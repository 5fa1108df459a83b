"""Start to window: `counterline` launched (a new Python process) to its main window shown and painted.

    .venv/bin/python benchmarks/start.py [--runs 7] [--quick] [--against TREE ...] [--data-dir DIR]

Each run starts `python -m ui.main --data-dir DIR` with COUNTERLINE_EXIT_WHEN_READY=1: the app prints
"window ready ..." once the event loop has turned after `show()` (the window laid out and painted), with the CPU
time it used until then, and leaves. Reported per run and as medians:

- wall: launch to that line, read by this process as it is printed (a loaded 2-core machine inflates it);
- cpu: the child's own CPU time (user + system, every thread) at that line: what compares one change with another
  on a busy machine;
- RSS: the child's peak resident memory;
- modules: how many Python modules it had imported by then (unlike the times, not inflated by other load).

Children run with bytecode written and read (PYTHONDONTWRITEBYTECODE dropped), as an installed till does.

`--against TREE ...` runs other source trees' apps (a folder holding app/, ui/, devices/, sync/, for example
`git archive <commit> app ui devices sync | tar -x -C TREE`) interleaved with this one, run for run, on the same
database, so all see the same load; the load average is printed with the figures. The database is the demo
store's, made once in DIR (or a temporary folder) by the first start.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_READY = re.compile(r"window ready in (\d+) ms(?:, cpu (\d+) ms)?(?:, (\d+) modules)?")


@dataclass(frozen=True)
class Start:
    wall_s: float  # launch to the "window ready" line
    cpu_s: float  # the child's CPU time at that line (its whole run where an old tree does not say)
    rss_mb: float  # the child's peak resident memory
    modules: int  # Python modules imported by then (0 where an old tree does not say): a figure free of load


def time_to_window(data_dir: Path, tree: Path = ROOT, demo: bool = False) -> Start:
    """Launch the app of `tree` on `data_dir` and time it to its window shown (see the module's docstring)."""
    env = dict(os.environ, COUNTERLINE_EXIT_WHEN_READY="1")
    # As a till runs: from compiled modules (the first start writes them), not compiling every module at each start.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if not env.get("DISPLAY"):
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
    argv = [sys.executable, "-m", "ui.main", "--data-dir", str(data_dir)] + (["--demo"] if demo else [])
    with tempfile.TemporaryFile("w+") as err:
        t = time.perf_counter()
        # cwd=tree: `-m` puts the working folder first on sys.path, so that tree's packages are the ones imported.
        child = subprocess.Popen(argv, cwd=tree, env=env, stdout=subprocess.PIPE, stderr=err, text=True)
        assert child.stdout is not None
        wall = None
        match = None
        for line in child.stdout:
            match = _READY.search(line)
            if match:
                wall = time.perf_counter() - t
                break
        child.stdout.read()
        _pid, status, usage = os.wait4(child.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read()
    if code != 0 or wall is None or match is None:
        raise SystemExit(f"counterline did not start (exit {code}): {stderr[-1000:]}")
    cpu = int(match.group(2)) / 1000 if match.group(2) else usage.ru_utime + usage.ru_stime
    modules = int(match.group(3)) if match.group(3) else 0
    return Start(wall, cpu, usage.ru_maxrss / 1024, modules)  # ru_maxrss is in KB on Linux


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="3 runs")
    ap.add_argument("--against", type=Path, nargs="+", default=[], help="other source trees, run interleaved")
    ap.add_argument(
        "--data-dir", type=Path, help="a data dir with a store (default: the demo store, made once)"
    )
    args = ap.parse_args()
    runs = 3 if args.quick else args.runs
    trees = {"this": ROOT} | {f"tree {i}": tree.resolve() for i, tree in enumerate(args.against, 1)}
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data_dir or Path(tmp)
        if args.data_dir is None:
            time_to_window(data_dir, ROOT, demo=True)  # the demo store, and every .pyc written
        for tree in trees.values():
            time_to_window(data_dir, tree)  # warm: the first start after a change compiles its modules
        got: dict[str, list[Start]] = {name: [] for name in trees}
        loads = []
        for _ in range(runs):
            for name, tree in trees.items():
                got[name].append(time_to_window(data_dir, tree))
            loads.append(os.getloadavg()[0])
    print(
        f"start to window shown ({runs} runs each, interleaved; load average {min(loads):.2f}-{max(loads):.2f}"
        f" on {os.cpu_count()} cores)"
    )
    print(
        f"{'tree':<8} {'cpu p50':>8} {'cpu min':>8} {'wall p50':>9} {'wall min':>9} {'RSS MB':>7} {'modules':>8}  (ms)"
    )
    for name, starts in got.items():
        cpu = [s.cpu_s * 1000 for s in starts]
        wall = [s.wall_s * 1000 for s in starts]
        rss = max(s.rss_mb for s in starts)
        print(
            f"{name:<8} {statistics.median(cpu):>8.0f} {min(cpu):>8.0f} {statistics.median(wall):>9.0f}"
            f" {min(wall):>9.0f} {rss:>7.0f} {max(s.modules for s in starts):>8}"
        )
    for name, tree in trees.items():
        if name != "this":
            print(f"{name} = {tree}")


if __name__ == "__main__":
    main()
