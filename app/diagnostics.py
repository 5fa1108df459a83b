"""Logs and support: the till's rotating log files, and the diagnostics zip a store sends to its support.

`setup_logging` writes the log to `counterline.log` in the user log dir (platformdirs, see app.config), through
logsafe's redacting formatter, rotated at `max_bytes` with `backups` old files kept (counterline.log.1, .2, ...).
`write_diagnostics` zips those logs, the terminal's settings without secrets (a key that names a token, secret,
password, hash or API key is withheld, and a password in a URL is cut out) and the versions support asks for first:
the app, Python, Qt, SQLite, SQLAlchemy and the database's migration revision. The terminal token file, staff PIN
hashes and customer data are never read here.
"""

from __future__ import annotations

import json
import logging
import platform
import re
import sqlite3
import sys
import zipfile
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import metadata
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

from app.logsafe import RedactingFormatter, redact

LOG_NAME = "counterline.log"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MAX_BYTES = 2_000_000
BACKUPS = 5
WITHHELD = "[withheld]"
SECRET_KEY = re.compile(r"token|secret|passw|hash|api[_-]?key|credential|private|(^|[._])key$", re.IGNORECASE)
URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@/\s]+@")


class TillLogHandler(RotatingFileHandler):
    """The till's own log file (one on the root logger at a time)."""


def setup_logging(log_dir: Path, max_bytes: int = MAX_BYTES, backups: int = BACKUPS) -> TillLogHandler:
    """The rotating, redacting log file in `log_dir` on the root logger. Calling again with the same folder reuses
    it; with another folder (a second data dir in one process, as tests do) it replaces it."""
    log_dir.mkdir(parents=True, exist_ok=True)
    path = (log_dir / LOG_NAME).resolve()
    root = logging.getLogger()
    for h in list(root.handlers):
        if isinstance(h, TillLogHandler):
            if Path(h.baseFilename) == path and h.maxBytes == max_bytes and h.backupCount == backups:
                return h
            root.removeHandler(h)
            h.close()
    handler = TillLogHandler(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
    handler.setFormatter(RedactingFormatter(LOG_FORMAT))
    handler.setLevel(logging.INFO)
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    return handler


def without_secrets(value: Any, key: str = "") -> Any:
    """`value` with every secret-named key withheld (at any depth) and passwords cut out of URLs."""
    if key and SECRET_KEY.search(key):
        return WITHHELD
    if isinstance(value, Mapping):
        return {str(k): without_secrets(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [without_secrets(v) for v in value]
    if isinstance(value, str):
        return redact(URL_PASSWORD.sub(r"\1" + WITHHELD + "@", value))
    return value


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed as a package"


def versions(session: Session | None = None, extra: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What runs here: the app, Python, SQLite and the libraries, the database's migration revision."""
    from app.db.backup import head_revision

    out: dict[str, Any] = {
        "counterline": _version("counterline"),
        "python": sys.version.split()[0],
        "python_build": sys.version,
        "platform": platform.platform(),
        "frozen": bool(getattr(sys, "frozen", False)),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": _version("SQLAlchemy"),
        "alembic": _version("alembic"),
        "pyside6": _version("PySide6-Essentials"),
        "python-escpos": _version("python-escpos"),
        "migration_head": head_revision(),
    }
    if session is not None:
        conn = session.connection()
        has = inspect(conn).has_table("alembic_version")
        out["migration_revision"] = (
            conn.execute(text("SELECT version_num FROM alembic_version")).scalar() if has else None
        )
        out["database"] = conn.engine.url.render_as_string(hide_password=True)
    out.update(extra or {})
    return out


def write_diagnostics(
    target: Path,
    log_dir: Path,
    session: Session | None = None,
    extra_versions: Mapping[str, str] | None = None,
) -> Path:
    """A zip at `target`: logs/ (the log files), settings.json (no secrets), versions.json. Returns `target`."""
    from app.services import settings

    target.parent.mkdir(parents=True, exist_ok=True)
    for h in logging.getLogger().handlers:  # what was logged up to now is in the files
        h.flush()
    found = without_secrets(settings.all_settings(session)) if session is not None else {}
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for p in sorted(log_dir.glob(f"{LOG_NAME}*")):
            if p.is_file():
                z.write(p, f"logs/{p.name}")
        z.writestr("settings.json", json.dumps(found, indent=2, sort_keys=True, default=str))
        z.writestr("versions.json", json.dumps(versions(session, extra_versions), indent=2, default=str))
        z.writestr("README.txt", f"Counterline diagnostics, {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC\n")
    return target


def diagnostics_name() -> str:
    return f"counterline-diagnostics-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.zip"
