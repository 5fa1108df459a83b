"""Upgrades at start: a database left by an older version is backed up (SQLite's backup API) and migrated forward; a
database at the newest revision is not copied; a failed migration leaves the original as it was and says what to do.

The older database is built by the real migrations up to 0003 and given a row; the failing upgrade is a real extra
revision in a copy of the migrations folder."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from app.db import backup
from app.db import engine as engine_mod
from app.db.backup import UpgradeFailed, revision_of, upgrade_on_start
from app.db.engine import alembic_config, make_engine, schema_revision

OLD = "0003"


def _old_database(path: Path) -> None:
    from alembic import command

    eng = make_engine(f"sqlite:///{path}")
    cfg = alembic_config(str(eng.url))
    with eng.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, OLD)
    with eng.begin() as conn:
        conn.execute(text("INSERT INTO tax_classes (code, name, rate) VALUES ('STD', 'Standard', 8875)"))
    eng.dispose()


def _rows(path: Path) -> list[tuple[object, ...]]:
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT code, rate FROM tax_classes").fetchall()
    finally:
        con.close()


@pytest.fixture
def old_db(tmp_path: Path) -> Path:
    path = tmp_path / "counterline.db"
    try:
        _old_database(path)
    except Exception as e:  # the seed row follows the 0003 schema; say so if that table changed shape
        pytest.fail(f"could not build a revision {OLD} database: {e}")
    return path


def test_an_older_database_is_backed_up_then_migrated_forward(old_db: Path, tmp_path: Path) -> None:
    eng = make_engine(f"sqlite:///{old_db}")
    result = upgrade_on_start(eng, tmp_path / "backups", keep=3)
    head = backup.head_revision()
    assert (result.old_revision, result.new_revision) == (OLD, head)
    assert schema_revision(eng) == head
    assert result.backup is not None and result.backup.parent == tmp_path / "backups"
    assert result.backup.name.startswith(f"counterline-{OLD}-") and result.backup.suffix == ".db"
    # the copy is a readable database at the old revision, holding the row as it was before 0004 scaled rates
    assert revision_of(result.backup) == OLD
    assert _rows(result.backup) == [("STD", 8875)]
    assert _rows(old_db) == [("STD", 8875000)]  # migrated: 0004 made rates millionths
    assert result.backup.stat().st_mode & 0o077 == 0
    eng.dispose()


def test_a_database_at_head_is_not_backed_up(old_db: Path, tmp_path: Path) -> None:
    eng = make_engine(f"sqlite:///{old_db}")
    upgrade_on_start(eng, tmp_path / "backups")
    again = upgrade_on_start(eng, tmp_path / "backups")
    assert again.backup is None and again.old_revision == again.new_revision
    assert len(list((tmp_path / "backups").glob("*.db"))) == 1
    eng.dispose()


def test_a_new_database_is_migrated_without_a_backup(tmp_path: Path) -> None:
    eng = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    result = upgrade_on_start(eng, tmp_path / "backups")
    assert result.old_revision is None and result.backup is None
    assert not (tmp_path / "backups").exists()
    eng.dispose()


def test_only_the_newest_copies_are_kept(tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    import os

    for i in range(5):
        p = folder / f"counterline-000{i}-2026010{i}T000000Z.db"
        p.write_bytes(b"")
        os.utime(p, (1_700_000_000 + i, 1_700_000_000 + i))
    removed = backup.prune(folder, 2)
    assert sorted(p.name for p in removed) == [f"counterline-000{i}-2026010{i}T000000Z.db" for i in range(3)]
    assert sorted(p.name[:16] for p in folder.iterdir()) == ["counterline-0003", "counterline-0004"]


FAILING = '''"""A step that fails (test only)."""
from alembic import op

revision = "9999"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
{body}
    raise RuntimeError("step 9999 cannot go on")


def downgrade() -> None:
    pass
'''


def _failing_migrations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> None:
    folder = tmp_path / "migrations"
    shutil.copytree(engine_mod.MIGRATIONS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    head = backup.head_revision()
    (folder / "versions" / "9999_failing.py").write_text(FAILING.format(head=head, body=body))
    monkeypatch.setattr(engine_mod, "MIGRATIONS", folder)


def _snapshot(path: Path) -> tuple[object, ...]:
    con = sqlite3.connect(path)
    try:
        return (
            con.execute("SELECT version_num FROM alembic_version").fetchall(),
            con.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall(),
            con.execute("SELECT * FROM tax_classes").fetchall(),
        )
    finally:
        con.close()


@pytest.mark.parametrize(
    "body, said",
    [
        # inside the upgrade's transaction: rolled back, the file is as it was
        ('    op.execute("CREATE TABLE half_done (x INTEGER)")', "It was left as it was"),
        # a step that committed on its own: the file changed, and the backup is put back
        (
            '    op.execute("COMMIT")\n    op.execute("CREATE TABLE half_done (x INTEGER)")\n'
            '    op.execute("UPDATE tax_classes SET rate = 0")',
            "It was put back as it was from the backup",
        ),
    ],
)
def test_a_failed_migration_leaves_the_original_in_place_and_says_what_to_do(
    old_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, said: str
) -> None:
    eng = make_engine(f"sqlite:///{old_db}")
    upgrade_on_start(eng, tmp_path / "first")  # at head of the real chain
    eng.dispose()
    before = _snapshot(old_db)
    _failing_migrations(tmp_path, monkeypatch, body)
    eng = make_engine(f"sqlite:///{old_db}")
    with pytest.raises(UpgradeFailed) as failed:
        upgrade_on_start(eng, tmp_path / "backups")
    eng.dispose()
    message = str(failed.value)
    assert "could not be upgraded" in message and "step 9999 cannot go on" in message
    assert said in message and "Start the previous version" in message
    assert "Traceback" not in message
    assert _snapshot(old_db) == before
    assert len(list((tmp_path / "backups").glob("counterline-*.db"))) == 1


def test_the_app_prints_the_failure_without_a_traceback(
    old_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ui.main import main

    _failing_migrations(tmp_path, monkeypatch, "    pass")
    code = main(["--data-dir", str(tmp_path), "--database-url", f"sqlite:///{old_db}", "sync"])
    err = capsys.readouterr().err
    assert code == 4
    assert "could not be upgraded from revision 0003" in err and "Traceback" not in err
    assert revision_of(old_db) == OLD
    assert len(list((tmp_path / "backups").glob(f"counterline-{OLD}-*.db"))) == 1
