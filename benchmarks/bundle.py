"""The PyInstaller bundle beside the virtualenv: its size, and the time from start to the main window shown.

    .venv/bin/python benchmarks/bundle.py [--bundle dist/counterline] [--build] [--runs 3]

`--build` builds the bundle first (installer/pyinstaller/counterline.spec) and prints how long that took;
`--no-camera` builds it without OpenCV (COUNTERLINE_BUNDLE_CAMERA=0, `make dist CAMERA=0`). The size is printed with
OpenCV's share of it (cv2 and its libraries), or "without OpenCV". Each start
is timed from process start to exit with COUNTERLINE_EXIT_WHEN_READY=1 (the app leaves once its window is shown;
the app's own "window ready" figure is printed beside it), offscreen, on a data dir of its own: the first start on
a fresh data dir (it creates the demo store), then warm starts on the same dir.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "installer" / "pyinstaller" / "counterline.spec"


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def opencv_size(bundle: Path) -> int:
    """Bytes of OpenCV in the bundle: the cv2 package and the libraries its wheel brings (opencv*.libs)."""
    internal = bundle / "_internal"
    parts = [internal / "cv2", *internal.glob("opencv*.libs")]
    return sum(folder_size(p) for p in parts if p.is_dir())


def build(dist: Path, work: Path, camera: bool = True) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "ERROR", "--distpath", str(dist),
         "--workpath", str(work), str(SPEC)],
        check=True,
        cwd=ROOT,
        env=dict(os.environ, COUNTERLINE_BUNDLE_CAMERA="1" if camera else "0"),
    )  # fmt: skip
    return time.perf_counter() - started


def start_once(command: list[str], data_dir: Path) -> tuple[float, float]:
    """(wall seconds to the exit after the window showed, the app's own window-ready ms)."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", COUNTERLINE_EXIT_WHEN_READY="1")
    env.pop("COUNTERLINE_DATA_DIR", None)
    started = time.perf_counter()
    done = subprocess.run(
        [*command, "--data-dir", str(data_dir), "--demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    wall = time.perf_counter() - started
    found = re.search(r"window ready in (\d+) ms", done.stdout)
    if done.returncode != 0 or found is None:
        raise SystemExit(
            f"{command[0]} did not show its window (exit {done.returncode}):\n{done.stderr[-2000:]}"
        )
    return wall, float(found.group(1))


def starts(command: list[str], runs: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="counterline-bench-") as tmp:
        data = Path(tmp)
        first, first_ready = start_once(command, data)
        warm = [start_once(command, data) for _ in range(runs)]
    return {
        "first_s": first,
        "first_ready_ms": first_ready,
        "warm_s": statistics.median(w for w, _r in warm),
        "warm_ready_ms": statistics.median(r for _w, r in warm),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bundle", type=Path, default=ROOT / "dist" / "counterline")
    p.add_argument("--build", action="store_true", help="build the bundle first and time the build")
    p.add_argument(
        "--no-camera", action="store_true", help="with --build: leave OpenCV out (no camera scanner)"
    )
    p.add_argument("--runs", type=int, default=3, help="warm starts of each (median shown)")
    args = p.parse_args()
    if args.build:
        seconds = build(args.bundle.parent, ROOT / "build" / "pyinstaller", camera=not args.no_camera)
        print(f"bundle build: {seconds:.0f} s")
    program = args.bundle / ("counterline.exe" if sys.platform == "win32" else "counterline")
    if not program.exists():
        print(f"no bundle at {args.bundle}: run make dist, or pass --build", file=sys.stderr)
        return 2
    opencv = opencv_size(args.bundle)
    share = f"OpenCV {opencv / 1e6:.0f} MB of it" if opencv else "without OpenCV"
    print(f"bundle size: {folder_size(args.bundle) / 1e6:.0f} MB in {args.bundle} ({share})")
    venv_cmd = [sys.executable, "-m", "ui.main"]
    print(f"{'':12}{'first start':>14}{'(ready)':>10}{'warm start':>14}{'(ready)':>10}")
    for name, command in (("bundle", [str(program)]), ("virtualenv", venv_cmd)):
        r = starts(command, args.runs)
        print(
            f"{name:12}{r['first_s']:>12.2f} s{r['first_ready_ms']:>7.0f} ms"
            f"{r['warm_s']:>12.2f} s{r['warm_ready_ms']:>7.0f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
