"""The terminal: two Rich consoles that never read markup in what they print.

Names, paths and messages come from users (a place named ``[/x]``, a folder ``runs[v2]``), so
Rich markup is off: text is printed as written, always. Styles are given with ``style=`` or
:class:`rich.text.Text`, never with ``[bold]`` inside a string. Off a terminal, lines are not
wrapped (a long path stays on one line, for logs and scripts) and tables are laid out PIPED_WIDTH
wide, not cut at 80 columns (``$COLUMNS`` still wins).
"""

from __future__ import annotations

import os

from rich.console import Console

# off a terminal Rich would lay tables out in 80 columns and cut them (| less, CI logs): use this width
PIPED_WIDTH = 400

out = Console(markup=False, highlight=False, emoji=False)
err = Console(stderr=True, markup=False, highlight=False, emoji=False)
for _c in (out, err):
    if not _c.is_terminal:
        _c.soft_wrap = True
        if not os.environ.get("COLUMNS"):
            _c.width = PIPED_WIDTH


def one_line(text: str) -> str:
    """Text with its control characters (line breaks, tabs, escapes) written as ``\\n``, ``\\t`` ...,
    so that a message about it stays on one line and cannot move the cursor."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in str(text))


def error(message: str) -> None:
    """Print one error line to stderr: ``error: message`` (user text in it as written, on one line)."""
    from rich.text import Text

    err.print(Text.assemble(("error: ", "bold red"), one_line(message)))
