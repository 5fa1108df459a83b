"""`counterline-central serve --workers N`: bad counts are refused with a sentence (the 2-process runs are in
test_two_processes.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync.central import cli


@pytest.mark.parametrize("workers", ["0", "-1", str(cli.MAX_WORKERS + 1)])
def test_a_bad_worker_count_is_refused(
    workers: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'central.db'}"
    code = cli.main(["--database-url", url, "serve", "--port", "18999", "--workers", workers])
    err = capsys.readouterr().err
    assert code == cli.EXIT_BAD_INPUT
    assert "--workers is 1 to" in err and "Traceback" not in err
