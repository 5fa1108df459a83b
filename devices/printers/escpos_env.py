"""Environment python-escpos reads at import time, set before anything imports `escpos`.

python-escpos 3.1 loads its printer capability database when `escpos` is first imported:
- `ESCPOS_CAPABILITIES_FILE`: path of the capabilities JSON. The wheel ships `escpos/capabilities.json`, found
  through importlib.resources; a bundled build (PyInstaller and similar) must include that file as data and
  point this variable at it, or the import falls back to a broken "default" profile with no features.
  When the app runs frozen and the variable is unset, we look for the copy next to the bundle.
- `ESCPOS_CAPABILITIES_PICKLE_DIR`: where the parsed database is cached. Unset, every import makes a new
  temporary folder; we keep one per user cache dir instead.
Both are only defaulted: a value already in the environment (tests, packagers) always wins; a configured
cache folder that does not exist yet is created.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from platformdirs import user_cache_dir


def bundled_capabilities_file() -> Path | None:
    """The capabilities JSON inside a frozen bundle, if the app runs frozen and the file was bundled."""
    if not getattr(sys, "frozen", False):
        return None
    roots = [Path(getattr(sys, "_MEIPASS", "")), Path(sys.executable).resolve().parent]
    for root in roots:
        candidate = root / "escpos" / "capabilities.json"
        if str(root) and candidate.is_file():
            return candidate
    return None


def prepare_escpos_environment() -> None:
    """Default the python-escpos environment variables. Call before the first `import escpos`."""
    if "escpos" in sys.modules:
        return  # too late to matter; the capabilities are already loaded
    if "ESCPOS_CAPABILITIES_FILE" not in os.environ:
        bundled = bundled_capabilities_file()
        if bundled is not None:
            os.environ["ESCPOS_CAPABILITIES_FILE"] = str(bundled)
    configured = os.environ.get("ESCPOS_CAPABILITIES_PICKLE_DIR")
    cache = Path(configured) if configured else Path(user_cache_dir("counterline")) / "escpos"
    try:
        # python-escpos opens the pickle for writing without creating its folder: a configured but missing
        # folder would make `import escpos` fail with FileNotFoundError.
        cache.mkdir(parents=True, exist_ok=True)
    except OSError:
        return  # read-only home: python-escpos falls back to a temporary folder, which still works
    os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR", str(cache))
