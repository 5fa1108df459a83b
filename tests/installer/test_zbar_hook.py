"""The bundle's zbar library is found at run time on a machine without libzbar0, and a bundle built without OpenCV
says a camera scanner is not in it.

pyzbar finds libzbar with `ctypes.util.find_library("zbar")` (bound into pyzbar.zbar_library at its import), which on
Linux asks ldconfig's cache and answers a bare name, "libzbar.so.0", that dlopen then looks up on the system:
LD_LIBRARY_PATH tricks do not show whether the bundle's copy is used. So the system's libzbar is hidden for real:
in a private mount namespace (`unshare --mount --map-root-user`, no root needed where user namespaces are allowed)
/dev/null is mounted over the system's file, so dlopen of it fails, as on a machine without the package.

- Cheap, always: a folder standing in for the bundle's `_internal` (sys._MEIPASS) holds a copy of libzbar; with the
  runtime hook (installer/pyinstaller/rthook_zbar.py) pyzbar loads that copy and scans a picture; without the hook
  the same process cannot load zbar (which shows the system's copy is really hidden).
- The real bundle's own program, with COUNTERLINE_CHECK_ZBAR=1 (installer/pyinstaller/counterline_main.py), loads
  zbar from `_internal` with the system's hidden: tests/installer/test_bundle.py, which builds the bundle once.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).parents[2]
HOOK = ROOT / "installer" / "pyinstaller" / "rthook_zbar.py"
FOLDERS = ("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib")


def system_zbar() -> Path:
    for folder in FOLDERS:
        candidate = Path(folder) / "libzbar.so.0"
        if candidate.exists():
            return candidate.resolve()  # the real file behind the symlink: the one to hide
    pytest.skip("libzbar0 is not installed here: nothing to hide (`make system` installs it)")


def hidden(
    command: list[str], lib: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`command` with /dev/null mounted over `lib`, in a mount namespace of its own."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed")
    script = f'mount --bind /dev/null "{lib}" && exec "$@"'
    done = subprocess.run(
        ["unshare", "--mount", "--map-root-user", "sh", "-c", script, "sh", *command],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    if "unshare failed" in done.stderr or "mount:" in done.stderr:
        pytest.skip(f"no private mount namespace here: {done.stderr.strip()[:200]}")
    return done


LOAD = """
import runpy, sys
sys._MEIPASS = sys.argv[1]
if sys.argv[2] == "hook":
    runpy.run_path(sys.argv[3])
from pyzbar import pyzbar, zbar_library
library, _deps = zbar_library.load()
print("loaded", library._name, len(pyzbar.decode((bytes(64 * 64), 64, 64))))
"""


def test_the_runtime_hook_loads_the_shipped_zbar_when_the_system_has_none(tmp_path: Path) -> None:
    lib = system_zbar()
    internal = tmp_path / "_internal"
    internal.mkdir()
    shutil.copy(lib, internal / "libzbar.so.0")  # what the spec ships beside the program

    with_hook = hidden([sys.executable, "-c", LOAD, str(internal), "hook", str(HOOK)], lib)
    assert with_hook.returncode == 0, with_hook.stderr[-2000:]
    assert with_hook.stdout.split() == ["loaded", str(internal / "libzbar.so.0"), "0"]

    without = hidden([sys.executable, "-c", LOAD, str(internal), "none", str(HOOK)], lib)
    assert without.returncode != 0  # the system's copy is hidden: only the hook's path finds zbar
    assert "file too short" in without.stderr or "Unable to find zbar shared library" in without.stderr


def test_a_camera_scanner_in_a_build_without_opencv_says_so(
    monkeypatch: pytest.MonkeyPatch, qapp: QApplication
) -> None:
    """As in a bundle built with COUNTERLINE_BUNDLE_CAMERA=0: OpenCV cannot be imported."""
    from ui.camera_preview import NO_CAMERA, camera_parts
    from ui.scan_router import ScanRouter
    from ui.scan_sources import ScanSources

    for name in ("devices.scanners.camera", "devices.scanners.decoders", "devices.scanners.regions"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setitem(sys.modules, "cv2", None)  # `import cv2` now fails, as where it was left out
    with pytest.raises(ValueError, match="not in this build"):
        camera_parts()
    said: list[str] = []
    router = ScanRouter()
    router.refused.connect(said.append)
    sources = ScanSources(router)
    sources.start({"type": "camera", "camera": 0})
    assert said == [NO_CAMERA] and sources.workers == []
