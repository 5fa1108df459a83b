"""Upgrades at start: the till's database is backed up, then migrated forward; a failed migration leaves it as it was.

`upgrade_on_start` is what the app runs before it opens anything else. When the database is behind the newest
migration (after the app was upgraded), an online copy of the SQLite file is taken with SQLite's backup API
(`sqlite3.Connection.backup`: consistent even with a -wal file beside it) into `backups/` of the data dir, named
`counterline-<old revision>-<UTC time>.db`, and the newest `keep` copies are kept. A database already at the newest
revision, and a new empty one, is not copied. Migrations run in one transaction, so a failure normally changes
nothing; where one did change the file all the same (a step that committed on its own), the copy is put back. Either
way the failure is raised as `UpgradeFailed`, whose text says what happened and what to do, without a traceback.

Only SQLite files are copied: a PostgreSQL till database is migrated as it is (its backups are the server's).
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from app.db import engine as db_engine
from app.db.engine import _sqlite_file, alembic_config, migrate, protect_file, schema_revision

DEFAULT_KEEP = 5
KEEP_ENV = "COUNTERLINE_BACKUPS_KEEP"
PREFIX = "counterline-"
log = logging.getLogger(__name__)


class UpgradeFailed(Exception):
    """The database could not be migrated; the message is for the person at the till (or their support)."""


@dataclass(frozen=True)
class UpgradeResult:
    old_revision: str | None
    new_revision: str | None
    backup: Path | None  # the copy taken before migrating, None where none was needed


_REVISION = re.compile(r"^(down_revision|revision)\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|None)\s*$", re.MULTILINE)


def head_revision() -> str | None:
    # Read from the revision files' own lines: loading alembic takes longer than the rest of a till's start,
    # and on nearly every start the database is at the head already. Alembic answers where the files are not plain.
    heads = _plain_heads(db_engine.MIGRATIONS / "versions")  # read at each call: tests point it elsewhere
    if heads is not None and len(heads) == 1:
        return heads[0]
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def _plain_heads(folder: Path) -> list[str] | None:
    """The revisions no other revision follows, from `revision = "x"` / `down_revision = "y"` lines; None where a
    file has no such plain lines (a tuple of parents, a computed id)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    try:
        files = sorted(folder.glob("*.py"))
        for file in files:
            if file.name == "__init__.py":
                continue
            found = {
                m.group(1): m.group(2) or m.group(3) for m in _REVISION.finditer(file.read_text("utf-8"))
            }
            if not found.get("revision") or "down_revision" not in found:
                return None
            revisions.add(found["revision"])
            if found["down_revision"]:
                parents.add(found["down_revision"])
    except OSError:
        return None
    return sorted(revisions - parents) if revisions else None


def keep_from_env(default: int = DEFAULT_KEEP) -> int:
    """How many copies to keep: COUNTERLINE_BACKUPS_KEEP (at least 1), else `default`."""
    raw = os.environ.get(KEEP_ENV, "")
    try:
        return max(1, int(raw)) if raw.strip() else default
    except ValueError:
        log.warning("%s=%r is not a number: keeping %d backups", KEEP_ENV, raw, default)
        return default


def backup_sqlite(source: Path, target: Path) -> Path:
    """An online copy of `source` at `target` through SQLite's backup API (created 0600)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    protect_file(target)
    src = sqlite3.connect(source)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    return target


def prune(backup_dir: Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` copies; returns the ones removed."""
    copies = sorted(backup_dir.glob(f"{PREFIX}*.db"), key=lambda p: (p.stat().st_mtime, p.name), reverse=True)
    removed = copies[max(1, keep) :]
    for p in removed:
        p.unlink(missing_ok=True)
    return removed


def _fingerprint(path: Path) -> tuple[object, ...]:
    """What a failed migration could have left changed: the schema and the recorded revision."""
    con = sqlite3.connect(path)
    try:
        schema = con.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").fetchall()
        try:
            rev = con.execute("SELECT version_num FROM alembic_version").fetchall()
        except sqlite3.Error:
            rev = []
        return (tuple(schema), tuple(rev))
    finally:
        con.close()


def upgrade_on_start(engine: Engine, backup_dir: Path, keep: int = DEFAULT_KEEP) -> UpgradeResult:
    """Back up (where the database is behind) and migrate to the newest revision; raises UpgradeFailed."""
    try:
        old = schema_revision(engine)
    except Exception as e:  # not a database at all, or unreadable: say so rather than migrate over it
        raise UpgradeFailed(
            f"The database {engine.url.render_as_string(hide_password=True)} cannot be read ({e}). "
            "Nothing was changed. Check the file (or restore a copy from the backups folder) and start again."
        ) from None
    head = head_revision()
    if old == head:
        return UpgradeResult(old, old, None)
    path = _sqlite_file(engine.url.render_as_string(hide_password=False))
    copy: Path | None = None
    before: tuple[object, ...] | None = None
    if old is not None and path is not None and path.exists():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        engine.dispose()  # our pooled connections hold nothing the copy needs; the copy reads a consistent snapshot
        try:
            copy = backup_sqlite(path, backup_dir / f"{PREFIX}{old}-{stamp}.db")
        except (OSError, sqlite3.Error) as e:
            raise UpgradeFailed(
                f"The database needs an upgrade (revision {old} to {head}), but a backup could not be written "
                f"to {backup_dir} ({e}). Nothing was changed. Free some disk space or fix the folder's rights "
                "and start again."
            ) from None
        before = _fingerprint(path)
        log.info("database at revision %s backed up to %s before upgrading to %s", old, copy, head)
    try:
        migrate(engine)
    except Exception as e:
        engine.dispose()
        log.exception("database upgrade from %s to %s failed", old, head)
        raise UpgradeFailed(_failure_text(old, head, path, copy, before, e)) from None
    if copy is not None:
        for removed in prune(backup_dir, keep):
            log.info("old backup removed: %s", removed)
    new = schema_revision(engine)
    if old is not None:
        log.info("database upgraded from revision %s to %s", old, new)
    return UpgradeResult(old, new, copy)


def _failure_text(
    old: str | None,
    head: str | None,
    path: Path | None,
    copy: Path | None,
    before: tuple[object, ...] | None,
    error: Exception,
) -> str:
    reason = f"{type(error).__name__}: {error}".splitlines()[0][:300]
    lines = [f"The database could not be upgraded from revision {old or '(new)'} to {head} ({reason})."]
    if path is not None and copy is not None and before is not None:
        if _fingerprint(path) != before:
            _restore(copy, path)
            lines.append(f"It was put back as it was from the backup {copy}.")
        else:
            lines.append(f"It was left as it was; a copy taken before the attempt is at {copy}.")
    else:
        lines.append("It was left as it was (the upgrade runs in one transaction).")
    lines.append(
        "Start the previous version of Counterline to go on selling, and send the log "
        "(Office > Copy diagnostics, or the logs folder) to your support."
    )
    return " ".join(lines)


def _restore(copy: Path, path: Path) -> None:
    src = sqlite3.connect(copy)
    try:
        dst = sqlite3.connect(path)
        try:
            src.backup(dst)
            dst.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            dst.close()
    finally:
        src.close()


def revision_of(path: Path) -> str | None:
    """The revision recorded in a database file (for a backup copy, say), None where it has none."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = con.execute("SELECT version_num FROM alembic_version").fetchone()
        return str(row[0]) if row else None
    except sqlite3.Error:
        return None
    finally:
        con.close()
