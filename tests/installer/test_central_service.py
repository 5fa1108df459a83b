"""The central store as a service: its systemd unit passes `systemd-analyze verify`, runs as its own user with the
environment file's database URL and bind address, and the command it starts migrates the database before serving."""

from __future__ import annotations

import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

CENTRAL = Path(__file__).parents[2] / "installer" / "central"
UNIT = CENTRAL / "counterline-central.service"
ENV = CENTRAL / "central.env"
EXEC = "/opt/counterline-central/bin/counterline-central"


def _env_file() -> dict[str, str]:
    out = {}
    for line in ENV.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def _directives() -> dict[str, str]:
    return dict(
        (m.group(1), m.group(2)) for m in re.finditer(r"^(\w+)=(.*)$", UNIT.read_text(), re.MULTILINE)
    )


def test_the_unit_runs_as_its_own_user_from_the_environment_file() -> None:
    d = _directives()
    assert d["User"] == d["Group"] == "counterline-central"
    assert d["EnvironmentFile"] == "/etc/counterline/central.env"
    assert d["ExecStart"].startswith(f"{EXEC} serve ")
    assert "${COUNTERLINE_CENTRAL_HOST}" in d["ExecStart"] and "${COUNTERLINE_CENTRAL_PORT}" in d["ExecStart"]
    assert set(_env_file()) == {
        "COUNTERLINE_CENTRAL_DATABASE_URL",
        "COUNTERLINE_CENTRAL_HOST",
        "COUNTERLINE_CENTRAL_PORT",
    }
    assert "u counterline-central " in (CENTRAL / "counterline-central.sysusers").read_text()


def _verify(unit: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed (apt: systemd)"
)
def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    # verify checks that ExecStart's program exists: a stand-in at a scratch path, the rest of the unit as shipped.
    program = tmp_path / "counterline-central"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    shutil.copy(ENV, tmp_path / "central.env")
    text = UNIT.read_text().replace(EXEC, str(program))
    text = text.replace("/etc/counterline/central.env", str(tmp_path / "central.env"))
    unit = tmp_path / "counterline-central.service"
    unit.write_text(text)
    done = _verify(unit)
    if "Failed to setup manager" in done.stderr or "Operation not permitted" in done.stderr:
        pytest.skip(f"systemd-analyze cannot run in this container: {done.stderr.strip()[:200]}")
    assert (done.returncode, done.stderr.strip()) == (0, "")
    # and it would tell: verify only warns (exit 0) on a bad line, so any output is a failure above
    bad = tmp_path / "bad.service"
    bad.write_text(text.replace("Restart=on-failure", "Restrat=on-failure"))
    assert "Unknown key 'Restrat'" in _verify(bad).stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_started_command_migrates_the_database_before_serving(tmp_path: Path) -> None:
    """What ExecStart runs, with the environment file's variables (the database in a scratch folder)."""
    import httpx
    from alembic.script import ScriptDirectory

    from sync.central.db import alembic_config

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()

    env = dict(os.environ, **_env_file())
    db = tmp_path / "central.db"
    env["COUNTERLINE_CENTRAL_DATABASE_URL"] = f"sqlite:///{db}"
    env["COUNTERLINE_CENTRAL_PORT"] = str(_free_port())
    args = _directives()["ExecStart"].split()[1:]
    args = [re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], a) for a in args]
    # the virtualenv's command, or a built bundle's (COUNTERLINE_CENTRAL_BUNDLE=dist/counterline-central)
    bundle = os.environ.get("COUNTERLINE_CENTRAL_BUNDLE")
    program = (
        Path(bundle) / "counterline-central"
        if bundle
        else Path(sys.executable).with_name("counterline-central")
    )
    proc = subprocess.Popen([str(program), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        url = f"http://{env['COUNTERLINE_CENTRAL_HOST']}:{env['COUNTERLINE_CENTRAL_PORT']}/v1/status"
        deadline = time.monotonic() + 30
        status = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status = httpx.get(url, timeout=1).status_code
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert status is not None, (
            proc.stdout.read().decode() if proc.stdout and proc.poll() is not None else ""
        )
        con = sqlite3.connect(db)
        try:
            assert con.execute("SELECT version_num FROM alembic_version").fetchall() == [(head,)]
        finally:
            con.close()
    finally:
        proc.terminate()
        proc.wait(timeout=15)


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb not installed (Debian's dpkg)")
def test_the_central_deb_installs_the_unit_its_user_and_the_environment_file(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle" / "counterline-central"
    (bundle / "_internal").mkdir(parents=True)
    (bundle / "counterline-central").write_text('#!/bin/sh\necho "central ran with $*"\n')
    (bundle / "counterline-central").chmod(0o755)
    done = subprocess.run(
        ["sh", str(CENTRAL / "build-central-deb.sh"), str(bundle), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    deb = Path(done.stdout.strip().splitlines()[-1])
    scratch = tmp_path / "root"
    subprocess.run(["dpkg", "-x", str(deb), str(scratch)], check=True)
    control = tmp_path / "control"
    subprocess.run(["dpkg-deb", "-e", str(deb), str(control)], check=True)

    assert (scratch / "lib/systemd/system/counterline-central.service").read_text() == UNIT.read_text()
    assert (scratch / "usr/lib/sysusers.d/counterline-central.conf").exists()
    env = scratch / "etc/counterline/central.env"
    assert env.read_text() == ENV.read_text() and env.stat().st_mode & 0o007 == 0
    assert (control / "conffiles").read_text().split() == ["/etc/counterline/central.env"]
    postinst = (control / "postinst").read_text()
    assert "systemd-sysusers" in postinst and "systemctl enable counterline-central.service" in postinst
    # the expire-orders timer and its job beside the service, enabled on install and stopped on removal
    for unit in (TIMER, EXPIRE):
        assert (scratch / "lib/systemd/system" / unit.name).read_text() == unit.read_text()
    assert "systemctl enable counterline-central-expire-orders.timer" in postinst
    assert "disable --now counterline-central-expire-orders.timer" in (control / "prerm").read_text()
    # ExecStart's program is the bundle's (through bin/), as is the command on PATH
    program = scratch / EXEC.lstrip("/")
    assert program.is_symlink() and os.access(program.resolve(), os.X_OK)
    ran = subprocess.run([str(program), "serve", "--help"], capture_output=True, text=True)
    assert ran.stdout.strip() == "central ran with serve --help"
    assert os.readlink(scratch / "usr/bin/counterline-central") == EXEC


TIMER = CENTRAL / "counterline-central-expire-orders.timer"
EXPIRE = CENTRAL / "counterline-central-expire-orders.service"


def _keys(path: Path) -> dict[str, str]:
    return dict(
        (m.group(1), m.group(2)) for m in re.finditer(r"^(\w+)=(.*)$", path.read_text(), re.MULTILINE)
    )


def test_the_expire_orders_timer_runs_the_job_as_the_services_user() -> None:
    job, timer = _keys(EXPIRE), _keys(TIMER)
    assert job["Type"] == "oneshot" and job["ExecStart"] == f"{EXEC} expire-orders"
    assert job["User"] == job["Group"] == _directives()["User"]
    assert job["EnvironmentFile"] == _directives()["EnvironmentFile"]  # the same database
    assert timer["Unit"] == EXPIRE.name and timer["OnCalendar"] == "*:0/15" and timer["Persistent"] == "yes"
    assert timer["WantedBy"] == "timers.target"


def test_the_expire_orders_command_the_job_starts_runs(tmp_path: Path) -> None:
    """What the job's ExecStart runs, against a scratch database named the way the environment file names it."""
    env = dict(os.environ, **_env_file())
    env["COUNTERLINE_CENTRAL_DATABASE_URL"] = f"sqlite:///{tmp_path / 'central.db'}"
    program = Path(sys.executable).with_name("counterline-central")
    args = _keys(EXPIRE)["ExecStart"].split()[1:]
    done = subprocess.run([str(program), *args], env=env, capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout.splitlines()[:1]) == (0, ["reminded 0, expired 0, failed 0"]), (
        done.stderr
    )


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed (apt: systemd)"
)
def test_systemd_analyze_verifies_the_timer_and_its_job(tmp_path: Path) -> None:
    program = tmp_path / "counterline-central"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    shutil.copy(ENV, tmp_path / "central.env")
    for path in (EXPIRE, TIMER):
        text = path.read_text().replace(EXEC, str(program))
        (tmp_path / path.name).write_text(
            text.replace("/etc/counterline/central.env", str(tmp_path / "central.env"))
        )
    done = _verify(tmp_path / TIMER.name)  # verifies the timer and the service it starts
    if "Failed to setup manager" in done.stderr or "Operation not permitted" in done.stderr:
        pytest.skip(f"systemd-analyze cannot run in this container: {done.stderr.strip()[:200]}")
    assert (done.returncode, done.stderr.strip()) == (0, "")
    job = _verify(tmp_path / EXPIRE.name)
    assert (job.returncode, job.stderr.strip()) == (0, "")
    bad = tmp_path / "bad.timer"
    bad.write_text((tmp_path / TIMER.name).read_text().replace("OnCalendar=", "OnCalender="))
    assert "Unknown key 'OnCalender'" in _verify(bad).stderr
