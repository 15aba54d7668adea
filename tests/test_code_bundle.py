"""The fast-registration bundle: the app's loaded modules, as flytekit's own listing finds them.

``registration.maybe_under`` narrows ``sys.modules`` before flytekit's per-module path test; the
files it lets through must be exactly those flytekit's test finds over all of ``sys.modules``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import types
from pathlib import Path

import pytest
from flytekit.tools.script_mode import list_imported_modules_as_files

from scaffold_flyte.registration import make_bundle, maybe_under


def fake_module(name: str, file: str | None) -> types.ModuleType:
    module = types.ModuleType(name)
    if file is not None:
        module.__file__ = file
    return module


def test_the_narrowed_listing_is_flytekits(tmp_path: Path) -> None:
    app = tmp_path / "app"
    (app / "pkg").mkdir(parents=True)
    modules = [
        *sys.modules.values(),
        fake_module("app_main", str(app / "main.py")),
        fake_module("app_pkg", str(app / "pkg" / "__init__.py")),
        fake_module("dotted", f"{app}/./pkg/util.py"),  # un-normalized: flytekit's commonpath judges it
        fake_module("doubled", f"{app}//pkg/other.py"),
        fake_module("sibling", f"{app}_other/main.py"),  # a folder whose name starts like the app's
        fake_module("relative", "main.py"),
        fake_module("builtin_like", None),
    ]
    expected = list_imported_modules_as_files(str(app), modules)
    assert list_imported_modules_as_files(str(app), maybe_under(app, modules)) == expected
    assert {os.path.normpath(f) for f in expected} == {
        str(app / "main.py"),
        str(app / "pkg" / "__init__.py"),
        str(app / "pkg" / "util.py"),
        str(app / "pkg" / "other.py"),
    }
    assert len(maybe_under(app, modules)) < 10  # the thousands of other modules are not handed on


def test_the_bundle_packs_the_apps_loaded_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "main.py").write_text("x = 1\n")
    (app / "helper.py").write_text("y = 2\n")
    (app / "unused.py").write_text("z = 3\n")
    monkeypatch.setitem(sys.modules, "bundle_main", fake_module("bundle_main", str(app / "main.py")))
    monkeypatch.setitem(sys.modules, "bundle_helper", fake_module("bundle_helper", str(app / "helper.py")))
    out = tmp_path / "out"
    out.mkdir()
    bundle = make_bundle(app, out)
    assert bundle.files == ("helper.py", "main.py") and bundle.archive.exists()


def test_a_lazily_loaded_module_is_not_imported_to_ask_for_its_file(tmp_path: Path) -> None:
    (tmp_path / "heavy.py").write_text("import sys\nsys.modules['heavy_was_run'] = sys\n")
    spec = importlib.util.spec_from_file_location("heavy_lazy", tmp_path / "heavy.py")
    assert spec is not None and spec.loader is not None
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # lazy: nothing run until an attribute is read
    app = tmp_path / "app"
    app.mkdir()
    assert maybe_under(app, [module]) == [] and maybe_under(tmp_path, [module]) == [module]
    assert "heavy_was_run" not in sys.modules
