"""The central service's layout: `sync.central.service` re-exports every public name of its modules (callers use
only the package, routing and stock the low modules), no module of it grows past about 600 lines, and routing
imports the package's errors and order payload without an import cycle. The central's models are a package too,
with the same rules."""

from __future__ import annotations

import subprocess
import sys

from sync.central import service
from tests.layout import assert_no_file_passes_600_lines, assert_re_exports_exactly_its_modules


def test_the_package_re_exports_every_public_name_of_its_modules_and_nothing_else() -> None:
    assert_re_exports_exactly_its_modules(service)


def test_no_module_of_the_central_service_passes_600_lines() -> None:
    assert_no_file_passes_600_lines(service)


def test_routing_and_stock_import_first_without_a_cycle() -> None:
    # A fresh interpreter, so the import order is the one a process starting with routing or stock sees.
    for first in ("sync.central.routing", "sync.central.stock", "sync.central.service.orders"):
        code = (
            f"import {first}; from sync.central import service; assert service.place_order and service.push"
        )
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr


def test_the_central_models_package_re_exports_its_tables_and_no_module_passes_600_lines() -> None:
    from sync.central import models

    assert_re_exports_exactly_its_modules(models)
    assert_no_file_passes_600_lines(models)
