"""Where this terminal keeps its data and which database it uses.

Data lives in the user data dir (platformdirs), or `--data-dir DIR` / `COUNTERLINE_DATA_DIR`; the database is
SQLite in that folder unless `--database-url` / `COUNTERLINE_DATABASE_URL` names any SQLAlchemy URL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_data_dir, user_log_dir


@dataclass(frozen=True)
class Paths:
    data_dir: Path
    database_url: str
    log_dir: Path
    token_file: Path
    print_dir: Path  # where the "folder" printer writes jobs when no printer is attached


def resolve(data_dir: str | None = None, database_url: str | None = None) -> Paths:
    d = Path(
        data_dir or os.environ.get("COUNTERLINE_DATA_DIR") or user_data_dir("counterline", appauthor=False)
    )
    d.mkdir(parents=True, exist_ok=True)
    url = database_url or os.environ.get("COUNTERLINE_DATABASE_URL") or f"sqlite:///{d / 'counterline.db'}"
    logs = Path(
        os.environ.get("COUNTERLINE_LOG_DIR") or (d / "logs" if data_dir else user_log_dir("counterline"))
    )
    logs.mkdir(parents=True, exist_ok=True)
    prints = d / "printed"
    prints.mkdir(exist_ok=True)
    return Paths(d, url, logs, d / "terminal-token", prints)
