"""Built-in scenarios shipped inside the package (``travesia run caravan-2018``)."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from travesia.errors import UserError


def _root() -> Path:
    return Path(str(resources.files("travesia") / "builtin"))


def builtin_names() -> list[str]:
    return sorted(p.name for p in _root().iterdir() if (p / "scenario.yaml").is_file())


def builtin_path(name: str) -> Path | None:
    p = _root() / name
    return p if (p / "scenario.yaml").is_file() else None


def scenario_source(folder: str | Path | None) -> str | None:
    """How to name a loaded scenario on the command line: its built-in name, or its folder's absolute path."""
    if folder is None:
        return None
    folder = Path(folder).resolve()
    root = _root().resolve()
    if folder.parent == root and (folder / "scenario.yaml").is_file():
        return folder.name
    return str(folder)


def init_scenario(name: str, folder: str | Path) -> Path:
    """Copy a built-in scenario into ``folder`` (which must not exist or be empty) to edit."""
    src = builtin_path(name)
    if src is None:
        raise UserError(f"no built-in scenario '{name}' (built-in: {', '.join(builtin_names())})")
    dst = Path(folder)
    if dst.exists() and (not dst.is_dir() or any(dst.iterdir())):
        raise UserError("exists and is not an empty folder; choose a new folder (nothing was overwritten)",
                        where=str(dst))
    dst.mkdir(parents=True, exist_ok=True)
    for f in sorted(src.iterdir()):
        if f.is_file() and not f.name.startswith("."):
            shutil.copy2(f, dst / f.name)
    return dst
