"""The page every travesia report is: one self-contained HTML file, filled once, written safely.

Every report (run, ensemble, forecast, backtest) is ``assets/report.html`` filled with its
sections, its data (one JSON document) and the same scripts: Vega, Vega-Lite and vega-embed
(standalone builds from npm, shipped in ``assets/`` with their licences) and ``assets/report.js``,
which draws the map and the charts from the data with Vega-Lite. The Content-Security-Policy
forbids every load from outside the file, and the expressions are run by vega-embed's interpreter
(``ast: true``), so the page needs no ``eval`` either.

The template is filled in **one pass** (:func:`fill`): each ``{{NAME}}`` of the template is
replaced by its value, and nothing inside a value is ever read as a placeholder. Each value is
escaped for its context beforehand: HTML text with :func:`esc`, the JSON data with
:func:`json_for_script` (``<``, ``>``, ``&`` written as ``\\u003c``... so that no ``</script>``
or ``<!--`` in a place name can end the script), the scripts checked by :func:`script_text`.

:func:`write_report_file` applies the rule of ``travesia run --out`` to a report: it writes a new
path, or replaces an earlier travesia report (with ``force``, or in the result folder it belongs
to); a file travesia did not write is never replaced.
"""

from __future__ import annotations

import html
import json
import re
from importlib import resources
from pathlib import Path

LIBRARIES = ("vega.min.js", "vega-lite.min.js", "vega-embed.min.js")
_PLACEHOLDER = re.compile(r"\{\{([A-Z_]+)\}\}")


def asset(name: str) -> str:
    """The text of a file in ``travesia/report/assets``."""
    return resources.files("travesia.report").joinpath("assets", name).read_text(encoding="utf-8")


def esc(x) -> str:
    """Text for HTML (element content or a quoted attribute)."""
    return html.escape(str(x), quote=True)


def json_for_script(data) -> str:
    """JSON for a ``<script type="application/json">`` element: ``<``, ``>``, ``&`` and the two line
    separators escaped, so that nothing in the data can close the element or open a comment."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    for a, b in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(a, b)
    return text


def script_text(js: str, name: str) -> str:
    """A script's text for an inline ``<script>``: refused if it could end the element early."""
    low = js.lower()
    if "</script" in low or "<!--" in low:
        raise RuntimeError(f"{name} cannot be inlined: it contains '</script' or '<!--'")
    return js


def fill(template: str, values: dict[str, str]) -> str:
    """Replace every ``{{NAME}}`` of ``template`` by ``values[NAME]`` in one pass (values are not
    scanned again); a placeholder without a value is an error."""
    missing = sorted(set(_PLACEHOLDER.findall(template)) - set(values))
    if missing:
        raise KeyError(f"template placeholders without a value: {missing}")
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def page(*, title: str, kind: str, cards: list[tuple[str, str]], nav: list[tuple[str, str]], body: str,
         data: dict, footer: str) -> str:
    """The whole report page. ``body`` is trusted HTML (made with :func:`esc`); ``data`` any JSON."""
    cards_html = "".join(f"<div class='card'><div class='k'>{esc(k)}</div><div class='v'>{esc(v)}</div></div>"
                         for k, v in cards)
    nav_html = " · ".join(f"<a href='#{esc(i)}'>{esc(t)}</a>" for i, t in nav)
    libs = "".join(f"<script>{script_text(asset(n), n)}</script>\n" for n in LIBRARIES)
    return fill(asset("report.html"), {
        "TITLE": esc(title), "KIND": esc(kind), "CSS": asset("report.css"), "CARDS": cards_html, "NAV": nav_html,
        "BODY": body, "DATA": json_for_script(data), "LIBS": libs, "JS": script_text(asset("report.js"), "report.js"),
        "FOOTER": footer,
    })


# --------------------------------------------------------------------------- writing, safely

#: The generator mark every report carries in its first line: how a later ``report`` knows its own file.
SIGNATURE = b'<meta name="generator" content="travesia report">'


def check_report_path(out: Path, force: bool, own: bool) -> Path:
    """Refuse to write ``out`` unless it is new, or an earlier travesia report that may be replaced
    (with ``force``, or ``own``: the default report of a result folder); by
    :func:`travesia.output.may_write_file`. Returns the path to write."""
    from travesia.output import may_write_file

    return may_write_file(out, force or own, signature=SIGNATURE)


def write_report_file(out: Path, text: str, force: bool, own: bool) -> Path:
    """Write a report to ``out`` atomically (:func:`travesia.output.write_file`: a new path is claimed
    with a hard link, an earlier report checked again at the rename)."""
    from travesia.output import write_file

    return write_file(out, text, force or own, signature=SIGNATURE)
