"""Runtime hook: pyzbar finds libzbar with ctypes.util.find_library, which does not look inside the bundle on Linux;
point it at the copy shipped beside the program (the system's libzbar0 is used where none was shipped)."""

import ctypes.util
import os
import sys

_bundled = os.path.join(getattr(sys, "_MEIPASS", ""), "libzbar.so.0")
if os.path.exists(_bundled):
    _find_library = ctypes.util.find_library

    def _find(name: str) -> str | None:
        return _bundled if name == "zbar" else _find_library(name)

    ctypes.util.find_library = _find
