"""The central service's layout: `sync.central.service` re-exports every public name of its modules (callers use
only the package, routing and stock the low modules), no module of it grows past about 600 lines, and routing
imports the package's errors and order payload without an import cycle."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import subprocess
import sys
from pathlib import Path

from sync.central import service


def _modules() -> list[str]:
    return [m.name for m in pkgutil.iter_modules(service.__path__, "sync.central.service.")]


def test_the_package_re_exports_every_public_name_of_its_modules_and_nothing_else() -> None:
    assert len(service.__all__) == len(set(service.__all__))
    defined: set[str] = set()
    for name in _modules():
        module = importlib.import_module(name)
        # Its own functions, classes and constants (what its source defines), not what it imported.
        for node in ast.parse(inspect.getsource(module)).body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                names = [node.name]
            elif isinstance(node, ast.Assign):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            else:
                continue
            for attr in names:
                if not attr.startswith("_"):
                    defined.add(attr)
                    assert getattr(service, attr) is getattr(module, attr), (
                        f"service.{attr} is not {name}.{attr}"
                    )
    assert set(service.__all__) == defined


def test_no_module_of_the_central_service_passes_600_lines() -> None:
    files = [Path(importlib.import_module(name).__file__ or "") for name in _modules()]
    files.append(Path(service.__file__ or ""))
    sizes = {f.name: len(f.read_text().splitlines()) for f in files}
    assert len(sizes) == len(_modules()) + 1
    assert max(sizes.values()) <= 600, sizes


def test_routing_and_stock_import_first_without_a_cycle() -> None:
    # A fresh interpreter, so the import order is the one a process starting with routing or stock sees.
    for first in ("sync.central.routing", "sync.central.stock", "sync.central.service.orders"):
        code = (
            f"import {first}; from sync.central import service; assert service.place_order and service.push"
        )
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
