"""`.ci/postgres.sh` (the PostgreSQL of `make test`) and its standard-library probe `.ci/pg.py`.

On the machine's server (127.0.0.1:5432): found by connecting, with no PostgreSQL tool on PATH, and the tests' role
is no superuser. On a throwaway server of its own (root, Debian's PostgreSQL binaries) that asks a password on TCP,
as Debian's package sets it up: the script makes the role, lets that role alone in from loopback, and reloads.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PG = ROOT / ".ci" / "pg.py"
SCRIPT = ROOT / ".ci" / "postgres.sh"
ROLE = "counterline_test"

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        os.environ.get("COUNTERLINE_SKIP_POSTGRES") == "1",
        reason="COUNTERLINE_SKIP_POSTGRES=1: no PostgreSQL here",
    ),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def pg(*args: str, port: int = 5432) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, PG, "--port", str(port), *args], capture_output=True, text=True, timeout=30
    )


def postgres_sh(port: int, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "COUNTERLINE_SKIP_POSTGRES"}
    env["COUNTERLINE_PG_PORT"] = str(port)
    if path is not None:
        env["PATH"] = path
    return subprocess.run(["bash", SCRIPT], capture_output=True, text=True, env=env, timeout=120)


def test_probe_tells_nothing_from_a_refused_role() -> None:
    assert pg("answers", port=free_port()).returncode == 1
    assert pg("answers").returncode == 0
    refused = pg("login", "counterline_no_such_role")
    # a trusting server says the role does not exist; one asking passwords asks before it tells
    assert (refused.returncode, "does not exist" in refused.stderr) in [(3, True), (2, False)], refused.stderr


def test_server_found_without_any_postgresql_tool(tmp_path: Path) -> None:
    """A fresh machine has no pg_isready or psql: the running server is found by connecting, and nothing is
    installed or started beside it."""
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "python3").symlink_to(
        os.path.realpath(sys.executable)
    )  # the interpreter itself, not a venv or shim
    for tool in ["bash", "dirname", "id", "sed", "grep", "awk", "seq", "sleep", "cat"]:
        found = shutil.which(tool)
        assert found, tool
        (tools / tool).symlink_to(found)

    result = postgres_sh(5432, path=str(tools))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "install" not in result.stdout and "start" not in result.stdout
    assert pg("login", ROLE).returncode == 0


def test_the_tests_role_is_no_superuser_and_makes_its_databases() -> None:
    assert postgres_sh(5432).returncode == 0
    rows = pg("sql", ROLE, "SELECT rolsuper, rolcreatedb FROM pg_roles WHERE rolname = current_user")
    assert rows.stdout.split() == ["f", "t"]
    name = f"counterline_test_{secrets.token_hex(6)}"
    made = pg("sql", ROLE, f"CREATE DATABASE {name}")
    try:
        assert made.returncode == 0, made.stderr
    finally:
        dropped = pg("sql", ROLE, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        assert dropped.returncode == 0, dropped.stderr


def pg_bin() -> Path | None:
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
    )
    return versions[-1].parent if versions else None


@pytest.fixture
def password_server() -> Iterator[tuple[int, Path]]:
    """A throwaway server like the one Debian's package starts: peer on the socket, scram-sha-256 on TCP."""
    bindir = pg_bin()
    if os.geteuid() != 0 or bindir is None or not Path("/var/run/postgresql").is_dir():
        pytest.skip("needs root and Debian's PostgreSQL server binaries")
    data = Path(tempfile.mkdtemp(prefix="counterline-pg-"))
    shutil.chown(data, "postgres", "postgres")
    port = free_port()

    def as_postgres(*cmd: str | Path) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *map(str, cmd)], check=True, capture_output=True, cwd="/"
        )

    try:
        as_postgres(
            bindir / "initdb", "-D", data, "-U", "postgres", "--auth-local=peer", "--auth-host=scram-sha-256"
        )
        options = f"-p {port} -k /var/run/postgresql -c listen_addresses=127.0.0.1"
        as_postgres(bindir / "pg_ctl", "-D", data, "-o", options, "-l", data / "log", "-w", "start")
        yield port, data / "pg_hba.conf"
    finally:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", bindir / "pg_ctl", "-D", data, "-m", "immediate", "stop"],
            capture_output=True,
            cwd="/",
        )
        shutil.rmtree(data, ignore_errors=True)


def test_server_asking_a_password_lets_the_tests_role_alone_in(password_server: tuple[int, Path]) -> None:
    port, hba = password_server
    assert pg("login", ROLE, port=port).returncode == 2  # a password is asked

    result = postgres_sh(port)

    assert result.returncode == 0, result.stdout + result.stderr
    assert pg("login", ROLE, port=port).returncode == 0  # the reload took effect
    assert pg("login", "postgres", port=port).returncode == 2  # no other role is trusted
    ours = [line for line in hba.read_text().splitlines() if "trust" in line and not line.startswith("#")]
    assert ours and all(line.split()[2] == ROLE for line in ours)
    assert postgres_sh(port).returncode == 0  # again: nothing to do
    assert hba.read_text().count(ROLE) == len(ours)


def test_lines_trusting_every_role_are_taken_back(password_server: tuple[int, Path]) -> None:
    """An earlier version of the script trusted every role on loopback (superusers included)."""
    port, hba = password_server
    old = "host all all 127.0.0.1/32 trust # counterline-trust\nhost all all ::1/128 trust # counterline-trust\n"
    hba.write_text(old + hba.read_text())
    reload = subprocess.run(
        ["runuser", "-u", "postgres", "--", "psql", "-X", "-p", str(port), "-c", "SELECT pg_reload_conf()"],
        capture_output=True,
        cwd="/",
    )
    assert reload.returncode == 0
    # the superuser is let in without a password (once the server has read the file again)
    deadline = time.monotonic() + 10
    while pg("login", "postgres", port=port).returncode != 0:
        assert time.monotonic() < deadline
        time.sleep(0.05)

    result = postgres_sh(port)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "counterline-trust" not in hba.read_text()
    assert pg("login", "postgres", port=port).returncode == 2
    assert pg("login", ROLE, port=port).returncode == 0
