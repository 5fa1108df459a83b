"""Entry point of the bundled till: the same `counterline` command as `ui.main:main`."""

import sys

from ui.main import main

if __name__ == "__main__":
    sys.exit(main())
