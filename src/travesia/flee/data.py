"""FLEE's refugee count tables, with FLEE 3.1's semantics (including its quirks).

A table is a float64 array ``[k, 2]`` of (day offset from the start date, count). FLEE:

- reads ``YYYY-MM-DD,count`` rows (``#`` comments and rows with an empty count skipped);
- sums several files named on one ``data_layout.csv`` row with its own merge (which pairs a
  date of the second file with the *next* value of the first, and drops second-file dates after
  the first file's last date) — :func:`add_tables` reproduces it;
- applies registration corrections: every value before the correction date is multiplied by
  (value on that date) / (value just before it) — :func:`apply_correction`;

How FLEE interpolates the tables day by day and injects people from them belongs to the ``flee``
rule set (:mod:`travesia.engine.processes.flee_rules.counts`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from travesia.errors import UserError, csv_records
from travesia.scenario.load import read_input_text
from travesia.scenario.schema import MAX_COUNT


def read_count_file(path: Path, start: dt.date, named_at: str | None = None) -> np.ndarray:
    """Read a FLEE count file (``YYYY-MM-DD,count`` per row) into a table of (day offset, count).

    ``named_at`` (the data_layout.csv row naming the file) is blamed when the file cannot be read
    at all (missing, not a regular file, too large, not UTF-8); its rows are blamed on the file."""
    text = read_input_text(path, what="count file", where=named_at)
    rows = []
    for lineno, row in csv_records(text, path):
        if len(row) < 2 or not row[0].strip() or row[0].strip().startswith("#"):
            continue
        if lineno == 1 and row[0].strip() in ("DateTime", "Date"):
            continue
        if row[1].strip() == "":
            continue
        w = f"{path}:{lineno}"
        try:
            date = dt.date.fromisoformat(row[0].strip())
        except ValueError:
            raise UserError(f"expected a date YYYY-MM-DD in the first column, got '{row[0]}'", where=w) from None
        try:
            count = float(row[1].strip())
        except ValueError:
            raise UserError(f"expected a count in the second column, got '{row[1]}'", where=w) from None
        if not np.isfinite(count) or count < 0:
            raise UserError(f"count must be a finite number >= 0, got '{row[1]}'", where=w)
        if count > MAX_COUNT:
            raise UserError(f"count '{row[1]}' is more people than live on Earth (at most {MAX_COUNT:,})", where=w)
        rows.append(((date - start).days, count))
    if not rows:
        raise UserError("no count rows (expected YYYY-MM-DD,count)", where=str(path))
    return np.array(rows, dtype=np.float64)


def add_tables(t1: np.ndarray, t2: np.ndarray) -> np.ndarray:
    """Sum two count tables the way FLEE 3.1 does (its ``AddCSVTables``, quirks included)."""
    out: list[tuple[float, float]] = []
    j = 0
    last2 = 0.0
    n1 = len(t1)
    for d2, v2 in t2:
        while d2 > t1[j, 0]:
            out.append((t1[j, 0], last2 + t1[j, 1]))
            if j < n1 - 1:
                j += 1
            else:
                break
        if d2 == t1[j, 0]:
            out.append((d2, v2 + t1[j, 1]))
            if j < n1 - 1:
                j += 1
            last2 = v2
            continue
        if d2 < t1[j, 0]:
            out.append((d2, v2 + t1[j, 1]))
            last2 = v2
    return np.array(out, dtype=np.float64).reshape(-1, 2)


def apply_correction(table: np.ndarray, day: int, where: str) -> np.ndarray:
    """Registration correction: scale all values before ``day`` by value(day) / value(previous date)."""
    t = table.copy()
    hits = [i for i in range(len(t)) if int(t[i, 0]) == int(day)]
    if not hits:
        raise UserError(f"no count on this date (day {day} of the simulation) to correct from", where=where)
    for i in hits:
        if i == 0:
            continue
        if t[i - 1, 1] == 0:
            raise UserError("the count before the correction date is 0; cannot scale by it", where=where)
        t[:i, 1] *= t[i, 1] / t[i - 1, 1]
    return t
