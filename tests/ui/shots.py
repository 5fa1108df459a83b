"""Where the UI tests leave screenshots for a person to look at: $SHOTS, by default `counterline-shots` in the
temp folder, made when first asked for (a test saving into a folder that does not exist fails its save)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def shots_dir() -> Path:
    path = Path(os.environ.get("SHOTS") or Path(tempfile.gettempdir()) / "counterline-shots")
    path.mkdir(parents=True, exist_ok=True)
    return path
