"""The till's bundle and its Debian package.

- The .deb (installer/debian/build-deb.sh) is built around a stand-in bundle and unpacked into a scratch root with
  `dpkg -x`: the program under /opt/counterline, the /usr/bin/counterline launcher that runs it, the desktop entry
  and its icon. Fast; runs wherever dpkg-deb is.
- The real bundle (installer/pyinstaller/counterline.spec) is built once for this file, started offscreen on a fresh
  data dir with the demo store, and must show its main window and exit 0; then, with the system's libzbar hidden,
  it must load the zbar it ships. The build takes about 2 min on 2 cores and runs in every `make test` (CI's
  included); COUNTERLINE_BUNDLE=dir uses a bundle already built, and COUNTERLINE_SKIP_BUNDLE=1 leaves it out of a
  quick local run (never in CI: .ci/run does not set it).
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
BUILD_DEB = ROOT / "installer" / "debian" / "build-deb.sh"


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb not installed (Debian's dpkg)")
def test_the_deb_installs_the_bundle_a_launcher_and_a_desktop_entry(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle" / "counterline"
    (bundle / "_internal").mkdir(parents=True)
    (bundle / "counterline").write_text('#!/bin/sh\necho "bundle ran with $*"\n')
    (bundle / "counterline").chmod(0o755)
    out = tmp_path / "out"
    done = subprocess.run(
        ["sh", str(BUILD_DEB), str(bundle), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    deb = Path(done.stdout.strip().splitlines()[-1])
    assert re.fullmatch(r"counterline_[\d.]+_\w+\.deb", deb.name) and deb.exists()
    fields = subprocess.run(["dpkg-deb", "-f", str(deb)], capture_output=True, text=True, check=True).stdout
    assert "Package: counterline" in fields and "libzbar0" in fields
    scratch = tmp_path / "root"
    subprocess.run(["dpkg", "-x", str(deb), str(scratch)], check=True)

    program = scratch / "opt" / "counterline" / "counterline"
    assert program.exists() and os.access(program, os.X_OK)
    launcher = scratch / "usr" / "bin" / "counterline"
    assert os.access(launcher, os.X_OK)
    assert 'exec /opt/counterline/counterline "$@"' in launcher.read_text()
    # the launcher runs the program with every argument, once /opt is where the package put it
    moved = launcher.read_text().replace("/opt/counterline", str(scratch / "opt" / "counterline"))
    ran = subprocess.run(["sh", "-c", moved, "counterline", "--demo", "x y"], capture_output=True, text=True)
    assert ran.stdout.strip() == "bundle ran with --demo x y"

    entry = configparser.ConfigParser(interpolation=None)
    entry.read(scratch / "usr" / "share" / "applications" / "counterline.desktop")
    desktop = entry["Desktop Entry"]
    assert (desktop["Type"], desktop["Exec"], desktop["Icon"]) == (
        "Application",
        "counterline",
        "counterline",
    )
    assert (
        scratch / "usr" / "share" / "icons" / "hicolor" / "scalable" / "apps" / "counterline.svg"
    ).exists()
    if shutil.which("desktop-file-validate"):
        check = subprocess.run(
            ["desktop-file-validate", str(scratch / "usr/share/applications/counterline.desktop")],
            capture_output=True,
            text=True,
        )
        assert check.returncode == 0, check.stdout + check.stderr


def test_build_deb_says_what_is_missing_without_a_bundle(tmp_path: Path) -> None:
    if shutil.which("dpkg-deb") is None:
        pytest.skip("dpkg-deb not installed")
    done = subprocess.run(
        ["sh", str(BUILD_DEB), str(tmp_path / "nothing"), str(tmp_path)], capture_output=True, text=True
    )
    assert done.returncode == 2 and "run make dist" in done.stderr


SKIP_BUNDLE = os.environ.get("COUNTERLINE_SKIP_BUNDLE") == "1"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The till's bundle, built once for this file (or the one COUNTERLINE_BUNDLE names)."""
    if SKIP_BUNDLE:
        pytest.skip("COUNTERLINE_SKIP_BUNDLE=1: the PyInstaller bundle is not built in this run")
    given = os.environ.get("COUNTERLINE_BUNDLE")
    if given:
        return Path(given)
    work = tmp_path_factory.mktemp("pyinstaller")
    subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "ERROR", "--distpath",
         str(work / "dist"), "--workpath", str(work / "build"), str(ROOT / "installer/pyinstaller/counterline.spec")],
        check=True,
        cwd=ROOT,
        timeout=1200,
    )  # fmt: skip
    return work / "dist" / "counterline"


def test_the_bundle_starts_on_a_fresh_data_dir_and_shows_its_window(bundle: Path, tmp_path: Path) -> None:
    for part in ("_internal/app/db/migrations/versions", "_internal/sync/central/migrations/versions"):
        assert any((bundle / part).glob("0001_*.py")), part
    assert (bundle / "_internal" / "escpos" / "capabilities.json").exists()
    assert (bundle / "_internal" / "libzbar.so.0").exists()
    # COUNTERLINE_BUNDLE_CAMERA=0 (`make dist CAMERA=0`): built without OpenCV; the app still starts.
    camera = os.environ.get("COUNTERLINE_BUNDLE_CAMERA", "1") != "0"
    assert (bundle / "_internal" / "cv2").exists() == camera
    assert (bundle / "_internal" / "PySide6" / "Qt" / "plugins" / "platforms" / "libqoffscreen.so").exists()
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", COUNTERLINE_EXIT_WHEN_READY="1")
    env.pop("COUNTERLINE_DATA_DIR", None)
    env.pop("COUNTERLINE_DATABASE_URL", None)
    data = tmp_path / "data"
    done = subprocess.run(
        [str(bundle / "counterline"), "--data-dir", str(data), "--demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "window ready in" in done.stdout
    assert (data / "counterline.db").exists()
    # a second start on the same data dir: migrations found at head, the demo store's audit chain intact
    check = subprocess.run(
        [str(bundle / "counterline"), "--data-dir", str(data), "audit", "verify"],
        env=env,
        capture_output=True,
    )
    assert check.returncode == 0, check.stderr


def test_the_bundle_loads_its_own_zbar_with_the_systems_hidden(bundle: Path) -> None:
    from tests.installer.test_zbar_hook import hidden, system_zbar

    lib = system_zbar()
    env = dict(os.environ, COUNTERLINE_CHECK_ZBAR="1")
    done = hidden([str(bundle / "counterline")], lib, env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"zbar loaded from {bundle.resolve() / '_internal' / 'libzbar.so.0'}" in done.stdout
