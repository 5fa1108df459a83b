"""Entry point of the bundled central store: the same `counterline-central` command as `sync.central.cli:main`."""

import sys

from sync.central.cli import main

if __name__ == "__main__":
    sys.exit(main())
