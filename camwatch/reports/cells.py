"""Values from ledgers and OSM written into report files as data: spreadsheet cells that cannot start a
formula, markdown table cells that carry no HTML and cannot break their table."""

from __future__ import annotations

import html
import re
from typing import TypeVar

__all__ = ["markdown_cell", "spreadsheet_cell"]

T = TypeVar("T")

# OWASP "CSV injection": a cell starting with one of these is read as a formula by Excel, LibreOffice or
# Google Sheets (tab and CR as well, which some of them skip before looking).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A plain number such as -3.5 or +1e3 is not a formula and stays a number in the sheet.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
# Markdown that would change a table or its text: a backslash escape makes each one literal (CommonMark).
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]|~])")
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\u2028\u2029]")


def spreadsheet_cell(value: T) -> T | str:
    """``value`` safe for a CSV or XLSX cell: text that a spreadsheet would run as a formula gets a leading
    single quote (OWASP's advice); other text and every non-text value are unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def markdown_cell(value: object) -> str:
    """``value`` as the text of a markdown table cell: HTML escaped (``<img …>`` is shown, not loaded),
    markdown punctuation (``|``, backticks, ``*``, ``_``, ``[``, ``]``…) escaped, line breaks as spaces."""
    text = html.escape(_LINE_BREAKS.sub(" ", str(value)), quote=False)
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)
