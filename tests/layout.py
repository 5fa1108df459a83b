"""A package split into modules keeps one face: it re-exports exactly the public names its modules define (callers
use only the package), and no file of it grows past about 600 lines."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path
from types import ModuleType


def modules(package: ModuleType) -> list[str]:
    return [m.name for m in pkgutil.iter_modules(package.__path__, package.__name__ + ".")]


def assert_re_exports_exactly_its_modules(package: ModuleType) -> None:
    assert len(package.__all__) == len(set(package.__all__))
    short = package.__name__.rsplit(".", 1)[-1]
    defined: set[str] = set()
    for name in modules(package):
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
                    assert getattr(package, attr) is getattr(module, attr), (
                        f"{short}.{attr} is not {name}.{attr}"
                    )
    assert set(package.__all__) == defined


def assert_no_file_passes_600_lines(package: ModuleType, *others: ModuleType) -> None:
    """The package's modules, its `__init__` and any `others` that belong with it."""
    names = modules(package)
    files = [Path(importlib.import_module(name).__file__ or "") for name in names]
    files += [Path(m.__file__ or "") for m in (package, *others)]
    sizes = {f.name: len(f.read_text().splitlines()) for f in files}
    assert len(sizes) == len(names) + 1 + len(others)
    assert max(sizes.values()) <= 600, sizes
