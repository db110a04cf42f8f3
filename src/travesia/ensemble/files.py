"""Writing result folders and files atomically, never over a user's own folder."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from travesia import __version__
from travesia.output import RUN_MARKER, check_out_dir


def csv_text(df: pd.DataFrame) -> str:
    """CSV text with LF line ends (the same bytes on every platform)."""
    return df.to_csv(index=False, lineterminator="\n")


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write a file through a temporary file beside it, then rename it into place."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def new_partial(out: Path, force: bool) -> Path:
    """Check ``out`` may be written (new, empty, or an earlier travesia result with ``force``) and
    return a temporary folder beside it to fill."""
    out = Path(out)
    check_out_dir(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))


def commit_partial(tmp: Path, out: Path, what: str) -> Path:
    """Mark ``tmp`` as a travesia result and let it take the place of ``out``."""
    (tmp / RUN_MARKER).write_text(f"travesia {__version__} {what}, {dt.datetime.now().isoformat()}\n")
    out = Path(out)
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.rename(out, old / "run")
        os.rename(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, out)
    return out


def write_folder(out: Path, files: dict[str, str | bytes], force: bool, what: str) -> Path:
    """Write ``files`` (name -> content) as the folder ``out``, atomically."""
    tmp = new_partial(out, force)
    try:
        for name, data in files.items():
            p = tmp / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        return commit_partial(tmp, out, what)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
