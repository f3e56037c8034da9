"""Read camera ledgers (YAML, CSV, XLSX, GeoJSON) into raw records (field → value, and where)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from camwatch.config.columns import IGNORE, PASSWORD_COLUMN_REASON, ColumnMap, unknown_column_reason
from camwatch.config.errors import ConfigError, Problem
from camwatch.config.yamldoc import YamlDocument
from camwatch.config.yamlrows import LEDGER_KEY, RowLines, parse_ledger_yaml

# Ledgers from Chinese offices are often saved by Excel/WPS as GB18030 (GBK) rather than UTF-8.
_CSV_ENCODINGS = ("utf-8-sig", "gb18030")
_CSV_DELIMITERS = (",", "\t", ";")


@dataclass(frozen=True)
class RawRecord:
    """One camera as a ledger gave it: field → value, before validation.

    ``where`` locates the record (``row 7``, ``line 12``, ``feature 3``); ``field_where`` the individual
    fields where they have their own place (YAML keys).
    """

    file: str
    where: str
    values: dict[str, Any]
    field_where: Mapping[str, str] = field(default_factory=dict)

    def problem(self, field_name: str | None, reason: str) -> Problem:
        return Problem(self.file, self.field_where.get(field_name or "", self.where), field_name, reason)


class FieldLines(Mapping[str, str]):
    """A YAML record's fields → ``line N``, the text made only when a problem asks: a string and a dict
    entry per field of every camera were ≈ 1.4 KB a camera while a ledger loads (70 MB at 50,000)."""

    __slots__ = ("_fields", "_lines")

    def __init__(self, fields: tuple[str, ...], wheres: Iterable[str]):
        self._fields = fields  # shared between rows with the same fields
        self._lines = array("l", (int(w.removeprefix("line ")) for w in wheres))

    def __getitem__(self, name: str) -> str:
        try:
            return f"line {self._lines[self._fields.index(name)]}"
        except ValueError:
            raise KeyError(name) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)


@dataclass
class Records:
    """Records read from one source, and the problems met reading it.

    ``unknown`` names each column (key) that maps to no field, once: its cells are left out, and the caller
    decides whether that is an error (``cameras.strict``, the config's own list) or a warning."""

    records: list[RawRecord] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    unknown: list[Problem] = field(default_factory=list)


def records_from_yaml(
    doc: YamlDocument | RowLines, items: Any, path: tuple[str | int, ...], *, columns: ColumnMap, file: str
) -> Records:
    """Records from a YAML list of camera mappings at ``path`` in ``doc`` (a ledger file or the config)."""
    out = Records()
    if not isinstance(items, list):
        out.problems.append(Problem(file, doc.line_of(path), None, "expected a list of cameras"))
        return out
    # An unknown key is reported at its first use only, not on every camera that repeats it.
    key_problems: list[Problem] = []
    key_unknown: list[Problem] = []
    shapes: dict[tuple[str, ...], tuple[str, ...]] = {}  # rows nearly all name the same fields: one tuple
    for index, item in enumerate(items):
        where = doc.line_of((*path, index)) or "line 1"
        if not isinstance(item, dict):
            out.problems.append(Problem(file, where, None, "expected a mapping of camera fields"))
            continue
        values: dict[str, Any] = {}
        field_where: dict[str, str] = {}
        for key, value in item.items():
            key_where = doc.line_of((*path, index, str(key))) or where
            target = _target(str(key), columns, file, key_where, key_problems, key_unknown)
            if target and value is not None:
                values[target] = value
                field_where[target] = key_where
        fields = tuple(values)
        lines = FieldLines(shapes.setdefault(fields, fields), (field_where[f] for f in fields))
        out.records.append(RawRecord(file, where, values, lines))
    out.problems += _first_per_key(key_problems)
    out.unknown += _first_per_key(key_unknown)
    return out


def _first_per_key(problems: Iterable[Problem]) -> list[Problem]:
    """The first problem of each key (field), in order."""
    first: dict[str | None, Problem] = {}
    for p in problems:
        first.setdefault(p.field, p)
    return list(first.values())


def _target(
    key: str, columns: ColumnMap, file: str, where: str, problems: list[Problem], unknown: list[Problem]
) -> str | None:
    """The field a key or header names; None, with a problem when it is a password or a note in ``unknown``
    when it names no field."""
    if ColumnMap.is_password(key):
        problems.append(Problem(file, where, key, PASSWORD_COLUMN_REASON))
        return None
    target = columns.field_for(key)
    if target is None:
        unknown.append(Problem(file, where, key, unknown_column_reason(key)))
        return None
    return None if target == IGNORE else target


# ---------------------------------------------------------------------------------------------------------
# Tables: CSV and XLSX
# ---------------------------------------------------------------------------------------------------------


def _cell(value: Any) -> Any:
    """A cell as a record value: trimmed text, integral floats as ints (Excel stores 1001 as 1001.0)."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return value


def _present(value: Any) -> bool:
    return value is not None and value != ""


def records_from_table(rows: Iterable[tuple[int, list[Any]]], *, columns: ColumnMap, file: str) -> Records:
    """Records from spreadsheet rows ``(row number, cells)``.

    The header is the first row with at least two filled cells, so a title row above it
    (``XX县视频监控点位台账``) is skipped; empty rows are skipped; row numbers stay the spreadsheet's own.
    """
    out = Records()
    row_iter = iter(rows)
    found = next(((n, cells) for n, cells in row_iter if sum(_present(_cell(c)) for c in cells) >= 2), None)
    if found is None:
        out.problems.append(
            Problem(file, None, None, "no header row (a row of column names such as 编号, 名称, IP)")
        )
        return out
    header_row, header = found

    targets: list[str | None] = []
    claimed: dict[str, str] = {}
    header_where = f"row {header_row}"
    for cell in header:
        name = str(_cell(cell)) if _present(_cell(cell)) else ""
        target = _target(name, columns, file, header_where, out.problems, out.unknown) if name else None
        if target and target in claimed:
            out.problems.append(
                Problem(
                    file, header_where, name, f"column '{claimed[target]}' already maps to field '{target}'"
                )
            )
            target = None
        if target:
            claimed[target] = name
        targets.append(target)
    unnamed = {i for i, c in enumerate(header) if not _present(_cell(c))}

    for row_number, cells in row_iter:
        values = [_cell(c) for c in cells]
        if not any(_present(v) for v in values):
            continue
        where = f"row {row_number}"
        stray = [i + 1 for i, v in enumerate(values) if _present(v) and (i >= len(header) or i in unnamed)]
        if stray:
            out.problems.append(
                Problem(file, where, None, f"cells in column(s) {', '.join(map(str, stray))} have no header")
            )
        record = {t: v for t, v in zip(targets, values, strict=False) if t and _present(v)}
        out.records.append(RawRecord(file, where, record))
    if not out.records:
        out.problems.append(Problem(file, header_where, None, "no cameras: the ledger has only its header"))
    return out


def _csv_rows(path: Path, file: str) -> Iterator[tuple[int, list[Any]]]:
    data = path.read_bytes()
    for encoding in _CSV_ENCODINGS:
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise _Unreadable("is neither UTF-8 nor GB18030 text")
    # The delimiter is the one most used in the first lines (a title row above the header may have none).
    sample = "\n".join(text.splitlines()[:5])
    delimiter = max(_CSV_DELIMITERS, key=sample.count)
    # strict: a stray quote is an error, not a cell that silently swallows the rest of the file.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    row = 0
    try:
        for row, cells in enumerate(reader, start=1):
            yield row, cells
    except csv.Error as exc:
        why = (
            'a quote (") opens a cell here and is never closed'
            if str(exc) == "unexpected end of data"
            else f"not valid CSV ({exc}); check the quotes"
        )
        raise ConfigError([Problem(file, f"row {row + 1}", None, why)]) from None


def _xlsx_rows(path: Path, sheet: str | None) -> Iterator[tuple[int, list[Any]]]:
    import openpyxl  # imported lazily: only XLSX ledgers need it

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError, XML and value errors for broken files
        raise _Unreadable(f"is not a readable XLSX workbook: {type(exc).__name__}") from None
    try:
        if sheet is None:
            worksheet = book.worksheets[0]
        elif sheet in book.sheetnames:
            worksheet = book[sheet]
        else:
            raise _Unreadable(f"has no sheet named '{sheet}'; sheets: {', '.join(book.sheetnames)}")
        # Some exporters (WPS among them) write a wrong sheet size; measure it from the cells instead.
        worksheet.reset_dimensions()
        rows = [list(r) for r in worksheet.iter_rows(min_row=1, values_only=True)]
    finally:
        book.close()
    yield from enumerate(rows, start=1)


# ---------------------------------------------------------------------------------------------------------
# GeoJSON
# ---------------------------------------------------------------------------------------------------------


def records_from_geojson(text: str, *, columns: ColumnMap, file: str) -> Records:
    """Records from a FeatureCollection of Points; ``properties`` are fields (through the column map)."""
    out = Records()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        out.problems.append(Problem(file, f"line {exc.lineno}", None, f"invalid JSON: {exc.msg}"))
        return out
    except RecursionError:
        out.problems.append(Problem(file, None, None, "invalid JSON: nested too deeply"))
        return out
    features = data.get("features") if isinstance(data, dict) else None
    if (
        not isinstance(data, dict)
        or data.get("type") != "FeatureCollection"
        or not isinstance(features, list)
    ):
        out.problems.append(Problem(file, None, None, "expected a GeoJSON FeatureCollection"))
        return out
    # Report an unknown property once per file, not once per feature.
    key_problems: list[Problem] = []
    key_unknown: list[Problem] = []
    for index, feature in enumerate(features, start=1):
        where = f"feature {index}"
        if not isinstance(feature, dict) or not isinstance(feature.get("properties") or {}, dict):
            out.problems.append(Problem(file, where, None, "expected a GeoJSON Feature"))
            continue
        values: dict[str, Any] = {}
        for key, value in (feature.get("properties") or {}).items():
            target = _target(str(key), columns, file, where, key_problems, key_unknown)
            if target and value is not None and value != "":
                values[target] = value
        geometry = feature.get("geometry")
        if geometry is not None:
            coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
            if (
                not isinstance(geometry, dict)
                or geometry.get("type") != "Point"
                or not isinstance(coords, list)
            ):
                kind = geometry.get("type") if isinstance(geometry, dict) else type(geometry).__name__
                out.problems.append(
                    Problem(file, where, "geometry", f"expected a Point geometry, got {kind}")
                )
            elif "lat" in values or "lon" in values:
                out.problems.append(
                    Problem(
                        file, where, "geometry", "coordinates given both in the geometry and in properties"
                    )
                )
            elif len(coords) >= 2:
                values["lon"], values["lat"] = coords[0], coords[1]
        out.records.append(RawRecord(file, where, values))
    out.problems += _first_per_key(key_problems)
    out.unknown += _first_per_key(key_unknown)
    return out


# ---------------------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------------------


class _Unreadable(Exception):
    """A ledger file that cannot be read at all; the message completes 'FILE ...'."""


def _read_yaml_file(path: Path, file: str, columns: ColumnMap, sheet: str | None) -> Records:
    data, lines = parse_ledger_yaml(path.read_text(encoding="utf-8"), file)  # row by row: no node tree
    if isinstance(data, dict) and LEDGER_KEY in data:
        return records_from_yaml(lines, data[LEDGER_KEY], (LEDGER_KEY,), columns=columns, file=file)
    return records_from_yaml(lines, data, (), columns=columns, file=file)


def _read_csv_file(path: Path, file: str, columns: ColumnMap, sheet: str | None) -> Records:
    return records_from_table(list(_csv_rows(path, file)), columns=columns, file=file)


def _read_xlsx_file(path: Path, file: str, columns: ColumnMap, sheet: str | None) -> Records:
    return records_from_table(list(_xlsx_rows(path, sheet)), columns=columns, file=file)


def _read_geojson_file(path: Path, file: str, columns: ColumnMap, sheet: str | None) -> Records:
    return records_from_geojson(path.read_text(encoding="utf-8"), columns=columns, file=file)


_READERS: dict[str, Callable[[Path, str, ColumnMap, str | None], Records]] = {
    ".yaml": _read_yaml_file,
    ".yml": _read_yaml_file,
    ".csv": _read_csv_file,
    ".xlsx": _read_xlsx_file,
    ".geojson": _read_geojson_file,
}


def read_inventory(
    path: Path, *, columns: ColumnMap, sheet: str | None = None, file: str | None = None
) -> Records:
    """Every record of an inventory file, and every problem met reading it (never raises for bad input).

    ``file`` is the name problems carry (default: ``path``). The format follows the suffix:
    .yaml/.yml, .csv (UTF-8 with or without BOM, else GB18030), .xlsx (first sheet or ``sheet``), .geojson.
    """
    name = file or str(path)
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        reason = f"unsupported inventory format '{path.suffix}'; use {', '.join(_READERS)}"
        return Records(problems=[Problem(name, None, None, reason)])
    try:
        return reader(path, name, columns, sheet)
    except ConfigError as exc:
        return Records(problems=exc.problems)
    except FileNotFoundError:
        return Records(problems=[Problem(name, None, None, "file not found")])
    except _Unreadable as exc:
        return Records(problems=[Problem(name, None, None, f"file {exc}")])
    except UnicodeDecodeError:
        return Records(problems=[Problem(name, None, None, "file is not UTF-8 text")])
    except OSError as exc:
        return Records(problems=[Problem(name, None, None, f"cannot read file: {exc.strerror or exc}")])


def apply_defaults(records: Iterable[RawRecord], defaults: Mapping[str, Any]) -> list[RawRecord]:
    """Records with ``defaults`` filling the fields they leave empty (e.g. one ``crs`` for a whole ledger)."""
    if not defaults:
        return list(records)
    return [RawRecord(r.file, r.where, {**defaults, **r.values}, r.field_where) for r in records]
