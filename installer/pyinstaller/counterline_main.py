"""Entry point of the bundled till: the same `counterline` command as `ui.main:main`.

`COUNTERLINE_CHECK_ZBAR=1` instead loads the zbar library the way the camera scanner's pyzbar decoder does (through
the runtime hook rthook_zbar.py), scans a blank picture with it, prints where the library came from and exits 0
(1 where it cannot be loaded): tests/installer/test_zbar_hook.py runs it with the system's libzbar hidden.
"""

import os
import sys


def check_zbar() -> int:
    try:
        from pyzbar import pyzbar, zbar_library

        library, _dependencies = zbar_library.load()
        found = pyzbar.decode((bytes(64 * 64), 64, 64))
    except (ImportError, OSError) as exc:
        print(f"zbar not loaded: {exc}", file=sys.stderr)
        return 1
    print(f"zbar loaded from {library._name}; a blank picture holds {len(found)} codes")
    return 0


if __name__ == "__main__":
    if os.environ.get("COUNTERLINE_CHECK_ZBAR") == "1":
        sys.exit(check_zbar())
    from ui.main import main

    sys.exit(main())
