"""Errors a user can cause and fix: they reach the command line as one clear message, exit code 2."""

from typing import Iterator


class UserError(Exception):
    """Bad input from the user: a file, a row or key, what was expected.

    The command line prints the message (no traceback) and exits with code 2.
    """

    def __init__(self, message: str, *, where: str | None = None):
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


# what the program is doing now, for the one line printed when something unexpected fails
_doing: list[str] = []


class doing:  # noqa: N801 - read as a phrase: with doing("..."):
    """``with doing("writing the run folder"):`` names the step for the last-resort error message."""

    def __init__(self, what: str):
        self.what = what

    def __enter__(self):
        _doing.append(self.what)
        return self

    def __exit__(self, *exc):
        if _doing and _doing[-1] == self.what and exc[0] is None:
            _doing.pop()
        return False


def current_step() -> str | None:
    """The innermost step in progress (kept when an exception leaves it)."""
    return _doing[-1] if _doing else None


def csv_records(text: str, path) -> Iterator[tuple[int, list[str]]]:
    """``csv.reader`` over ``text``, numbered from 1 as ``enumerate`` would; what the csv module
    cannot read (a field longer than its limit, as after a quote left open) is a UserError naming
    ``path`` and the record where it starts."""
    import csv
    import io

    reader = csv.reader(io.StringIO(text))
    n = 0
    while True:
        try:
            rec = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            hint = "; is a quote (\") left open?" if "field limit" in str(e) else ""
            raise UserError(f"not readable as CSV: {e}{hint}", where=f"{path}:{n + 1}") from None
        n += 1
        yield n, rec
