"""The README's two commands on a new machine: the Makefile's virtualenv step and who owns what it makes.

Each test copies the Makefile into a temp dir beside a one-module project whose in-tree build backend needs nothing
from a package index (PIP_NO_INDEX=1), then runs the real `make venv` there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOBODY = 65534
as_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("runuser") is None, reason="needs root (runuser)"
)

PYPROJECT = """\
[build-system]
requires = []
build-backend = "tinybackend"
backend-path = ["."]

[project]
name = "tiny"
version = "0"
dependencies = [{deps}]

[project.optional-dependencies]
dev = []
"""

# PEP 660: an editable wheel holding a .pth file that puts the project dir on sys.path.
BACKEND = """\
import base64, hashlib, os, tomllib, zipfile

def _wheel(wheel_directory):
    dist = "tiny-0.dist-info"
    with open("pyproject.toml", "rb") as f:
        requires = "".join(f"Requires-Dist: {d}\\n" for d in tomllib.load(f)["project"]["dependencies"])
    files = {
        "tiny_editable.pth": os.getcwd() + "\\n",
        dist + "/METADATA": "Metadata-Version: 2.1\\nName: tiny\\nVersion: 0\\nProvides-Extra: dev\\n" + requires,
        dist + "/WHEEL": "Wheel-Version: 1.0\\nGenerator: tiny\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
    }
    record = ""
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record += f"{name},sha256={digest},{len(text.encode())}\\n"
    files[dist + "/RECORD"] = record + dist + "/RECORD,,\\n"
    name = "tiny-0-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as z:
        for path, text in files.items():
            z.writestr(path, text)
    return name

def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory)

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory)
"""


def make_project(path: Path, deps: str = "") -> Path:
    shutil.copy(ROOT / "Makefile", path / "Makefile")
    (path / "pyproject.toml").write_text(PYPROJECT.format(deps=deps))
    (path / "tinybackend.py").write_text(BACKEND)
    (path / "tiny.py").write_text("ANSWER = 42\n")
    return path


@pytest.fixture
def project() -> Iterator[Path]:
    # not pytest's tmp_path: that is private to its user, and some tests run make as another user
    path = Path(tempfile.mkdtemp(prefix="counterline-make-"))
    path.chmod(0o755)
    try:
        yield make_project(path)
    finally:
        shutil.rmtree(path, ignore_errors=True)


def make(project: Path, *args: str, user: int | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS", "VIRTUAL_ENV"))}
    env.update(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", PY="python3")
    cmd = ["make", "--no-print-directory", *args]
    if user is not None:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *cmd]
        env["HOME"] = str(project)
    return subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=300)


def imports_tiny(project: Path) -> bool:
    python = project / ".venv" / "bin" / "python"
    return subprocess.run([python, "-c", "import tiny; assert tiny.ANSWER == 42"], cwd="/").returncode == 0


def owned_by(path: Path, uid: int) -> list[str]:
    return [str(p) for p in [path, *path.rglob("*")] if p.lstat().st_uid == uid]


def test_half_made_venv_is_made_again(project: Path) -> None:
    """What Debian's python3 leaves when python3-venv is missing: bin/python, no pip."""
    subprocess.run(["python3", "-m", "venv", "--without-pip", project / ".venv"], check=True)
    assert (project / ".venv/bin/python").exists() and not (project / ".venv/bin/pip").exists()

    result = make(project, "venv")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "incomplete" in result.stdout
    assert (project / ".venv/.installed").exists()
    assert imports_tiny(project)


def test_no_stamp_until_the_install_is_complete(project: Path) -> None:
    (project / "pyproject.toml").write_text(PYPROJECT.format(deps='"counterline-no-such-package"'))
    failed = make(project, "venv")
    assert failed.returncode != 0
    assert not (project / ".venv/.installed").exists()

    (project / "pyproject.toml").write_text(PYPROJECT.format(deps=""))
    result = make(project, "venv")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "incomplete" not in result.stdout  # the venv itself was whole: kept
    assert (project / ".venv/.installed").exists() and imports_tiny(project)


def test_missing_venv_module_names_the_package_and_leaves_nothing(project: Path) -> None:
    """A python3 without ensurepip (Debian without python3-venv) fails as Debian's does, leaving bin/python."""
    fake = project / "fakepython3"
    fake.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = -c ]; then case "$2" in *ensurepip*) exit 1;; esac; fi\n'
        'if [ "$1" = -m ] && [ "$2" = venv ]; then mkdir -p "$3/bin" && ln -s "$(command -v python3)" "$3/bin/python";'
        ' echo "ensurepip is not available" >&2; exit 1; fi\n'
        'exec python3 "$@"\n'
    )
    fake.chmod(0o755)

    result = make(project, "venv", f"PY={fake}")

    assert result.returncode != 0
    assert "python3-venv" in result.stdout and "sudo make system" in result.stdout
    assert not (project / ".venv").exists()


def test_debian_packages_include_the_venv_module() -> None:
    result = subprocess.run(
        ["make", "--no-print-directory", "--eval", "print-apt: ; @echo $(APT_PACKAGES)", "print-apt"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert "python3-venv" in result.stdout.split()


@as_root
def test_root_in_a_users_checkout_leaves_no_root_files(project: Path) -> None:
    """`sudo make ...` in an ordinary user's checkout: the user's steps run as the user, and what an earlier
    root run left there is given back."""
    (project / "var" / "demo").mkdir(parents=True)
    (project / "var" / "demo" / "left-by-sudo").write_text("")
    for p in [project, *project.rglob("*")]:
        if p.name != "left-by-sudo":
            os.chown(p, NOBODY, NOBODY)

    result = make(project, "venv")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "runs as nobody" in result.stdout and "belonged to root" in result.stdout
    assert owned_by(project, 0) == []
    assert (project / ".venv/.installed").stat().st_uid == NOBODY
    assert imports_tiny(project)


@as_root
def test_user_is_told_how_to_get_root_files_back(project: Path) -> None:
    (project / ".venv").mkdir()  # root's, as an earlier `sudo make run` left it
    for p in [project, *project.rglob("*")]:
        if p.name != ".venv":
            os.chown(p, NOBODY, NOBODY)

    result = make(project, "venv", user=NOBODY)

    assert result.returncode != 0
    assert "belong to root" in result.stdout and "sudo make system" in result.stdout
    assert "PermissionError" not in result.stdout + result.stderr
