"""Read camera inventories (YAML, CSV, XLSX, GeoJSON ledgers) and validate their records into cameras."""

from __future__ import annotations

import csv
import datetime as dt
import io
import ipaddress
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import numpy as np
import yaml
from numpy.typing import NDArray
from pydantic import BeforeValidator, ConfigDict, Field, ValidationError

from camwatch.config.columns import IGNORE, PASSWORD_COLUMN_REASON, ColumnMap, known_fields
from camwatch.config.coords import to_wgs84
from camwatch.config.credentials import Profile, SecretUnavailable, UrlLogin, read_password, split_userinfo
from camwatch.config.errors import ConfigError, Problem
from camwatch.config.models import Camera, Frozen, Stream
from camwatch.redact import redact_url

# libyaml's parser is ~20x faster than PyYAML's pure-Python one (a 10^4-camera YAML ledger: ~1 s, not ~20 s).
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

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
    field_where: dict[str, str] = field(default_factory=dict)

    def problem(self, field_name: str | None, reason: str) -> Problem:
        return Problem(self.file, self.field_where.get(field_name or "", self.where), field_name, reason)


@dataclass
class Records:
    """Records read from one source, and the problems met reading it."""

    records: list[RawRecord] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------------------
# YAML with line numbers
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class YamlDocument:
    """Parsed YAML plus its node tree, so that a path into the data maps back to a line."""

    data: Any
    root: yaml.Node | None

    def line_of(self, path: Iterable[str | int]) -> str | None:
        """``line N`` of the deepest node ``path`` reaches (a mapping key's own line); None for an empty file.

        Path parts that match nothing (e.g. validator tags in pydantic locations) are skipped.
        """
        node = self.root
        if node is None:
            return None
        mark = node.start_mark
        for part in path:
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                        node, mark = value, key.start_mark
                        break
            elif (
                isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value)
            ):
                node = node.value[part]
                mark = node.start_mark
        return f"line {mark.line + 1}"


def parse_yaml(text: str, file: str) -> YamlDocument:
    """Parse one YAML document (safe loader); a syntax error or duplicate key raises :class:`ConfigError`."""
    try:
        loader = _SafeLoader(text)
        try:
            root, data = _parse_nodes(loader, may_alias="*" in text)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        # libyaml puts an end-of-stream error one line past a last line that has no line break.
        last_line = max(len(text.splitlines()), 1)
        where = f"line {min(mark.line + 1, last_line)}" if mark else None
        reason = f"invalid YAML: {exc.problem or exc}"
        if exc.context and exc.context_mark:
            reason += f" ({exc.context} at line {exc.context_mark.line + 1})"
        raise ConfigError([Problem(file, where, None, reason)]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([Problem(file, None, None, f"invalid YAML: {exc}")]) from None
    except RecursionError:
        raise ConfigError([Problem(file, None, None, "invalid YAML: nested too deeply")]) from None
    duplicates = sorted(_duplicate_keys(root, file), key=lambda p: int((p.where or "0").split()[-1]))
    if duplicates:
        raise ConfigError(duplicates)
    return YamlDocument(data, root)


def _parse_nodes(loader: Any, *, may_alias: bool) -> tuple[yaml.Node | None, Any]:
    root = loader.get_single_node()
    if root is not None and may_alias and _expanded_size(root, {}) > _MAX_YAML_NODES:
        # Aliases of aliases ("billion laughs") would make every later walk over the data explode.
        raise yaml.YAMLError(f"aliases expand to more than {_MAX_YAML_NODES:,} nodes")
    return root, (loader.construct_document(root) if root is not None else None)


_MAX_YAML_NODES = 2_000_000


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """How many nodes the document has once aliases are expanded (each shared node counted per use)."""
    if id(node) not in memo:
        memo[id(node)] = 1  # a cycle (a recursive alias) counts once instead of recursing forever
        children: list[yaml.Node] = []
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = node.value
        memo[id(node)] = 1 + sum(_expanded_size(child, memo) for child in children)
    return memo[id(node)]


def _duplicate_keys(root: yaml.Node | None, file: str) -> Iterator[Problem]:
    """Keys given twice in one mapping (PyYAML keeps the last silently, hiding a hand-editing mistake)."""
    stack = [root] if root is not None else []
    visited: set[int] = set()  # aliases share nodes; visit each once
    while stack:
        node = stack.pop()
        if id(node) in visited:
            continue
        visited.add(id(node))
        if isinstance(node, yaml.MappingNode):
            lines: dict[str, int] = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    line = key.start_mark.line + 1
                    if key.value in lines:
                        reason = f"duplicate key (first at line {lines[key.value]})"
                        yield Problem(file, f"line {line}", key.value, reason)
                    lines.setdefault(key.value, line)
                stack.append(value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


def records_from_yaml(
    doc: YamlDocument, items: Any, path: tuple[str | int, ...], *, columns: ColumnMap, file: str
) -> Records:
    """Records from a YAML list of camera mappings at ``path`` in ``doc`` (a ledger file or the config)."""
    out = Records()
    if not isinstance(items, list):
        out.problems.append(Problem(file, doc.line_of(path), None, "expected a list of cameras"))
        return out
    for index, item in enumerate(items):
        where = doc.line_of((*path, index)) or "line 1"
        if not isinstance(item, dict):
            out.problems.append(Problem(file, where, None, "expected a mapping of camera fields"))
            continue
        values: dict[str, Any] = {}
        field_where: dict[str, str] = {}
        for key, value in item.items():
            key_where = doc.line_of((*path, index, str(key))) or where
            target = _target(str(key), columns, file, key_where, out.problems)
            if target and value is not None:
                values[target] = value
                field_where[target] = key_where
        out.records.append(RawRecord(file, where, values, field_where))
    return out


def _target(key: str, columns: ColumnMap, file: str, where: str, problems: list[Problem]) -> str | None:
    """The field a key or header names; a problem (and None) when it is a password or unknown."""
    if ColumnMap.is_password(key):
        problems.append(Problem(file, where, key, PASSWORD_COLUMN_REASON))
        return None
    target = columns.field_for(key)
    if target is None:
        problems.append(
            Problem(
                file,
                where,
                key,
                f"unknown column; known fields: {known_fields()} "
                "(or an alias such as 编号, 名称, IP, 经度, 纬度); "
                f"map it under cameras.columns, e.g. {{{key}: name}} or {{{key}: ignore}}",
            )
        )
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
        target = _target(name, columns, file, header_where, out.problems) if name else None
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
    return out


def _csv_rows(path: Path) -> Iterator[tuple[int, list[Any]]]:
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
    try:
        yield from enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1)
    except csv.Error as exc:
        raise _Unreadable(f"is not valid CSV: {exc}") from None


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
    unknown_seen: set[str] = set()
    for index, feature in enumerate(features, start=1):
        where = f"feature {index}"
        if not isinstance(feature, dict) or not isinstance(feature.get("properties") or {}, dict):
            out.problems.append(Problem(file, where, None, "expected a GeoJSON Feature"))
            continue
        values: dict[str, Any] = {}
        # Report an unknown property once per file, not once per feature.
        key_problems: list[Problem] = []
        for key, value in (feature.get("properties") or {}).items():
            target = _target(str(key), columns, file, where, key_problems)
            if target and value is not None and value != "":
                values[target] = value
        for p in key_problems:
            if p.field not in unknown_seen:
                unknown_seen.add(p.field or "")
                out.problems.append(p)
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
    return out


# ---------------------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------------------


class _Unreadable(Exception):
    """A ledger file that cannot be read at all; the message completes 'FILE ...'."""


def _read_yaml_file(path: Path, file: str, columns: ColumnMap, sheet: str | None) -> Records:
    doc = parse_yaml(path.read_text(encoding="utf-8"), file)
    if isinstance(doc.data, dict) and "cameras" in doc.data:
        return records_from_yaml(doc, doc.data["cameras"], ("cameras",), columns=columns, file=file)
    return records_from_yaml(doc, doc.data, (), columns=columns, file=file)


def _read_csv_file(path: Path, file: str, columns: ColumnMap, sheet: str | None) -> Records:
    return records_from_table(list(_csv_rows(path)), columns=columns, file=file)


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


# ---------------------------------------------------------------------------------------------------------
# Records → cameras
# ---------------------------------------------------------------------------------------------------------


def _crs(value: Any) -> str:
    key = re.sub(r"[\s\-_:.]", "", unicodedata.normalize("NFKC", str(value)).casefold())
    if key not in _CRS_ALIASES:
        raise ValueError(f"unknown coordinate system {value!r}; expected wgs84, gcj02 or bd09")
    return _CRS_ALIASES[key]


# CGCS2000 (China's national datum) agrees with WGS-84 to a few centimetres, so it is read as WGS-84.
_CRS_ALIASES = {
    **dict.fromkeys(("wgs84", "wgs1984", "epsg4326", "4326", "cgcs2000", "gps"), "wgs84"),
    **dict.fromkeys(("gcj02", "gcj", "火星坐标", "火星坐标系", "国测局坐标", "高德", "腾讯"), "gcj02"),
    **dict.fromkeys(("bd09", "bd09ll", "baidu", "百度", "百度坐标", "百度坐标系"), "bd09"),
}

_BEARINGS = {
    **{
        "北": 0.0,
        "东北": 45.0,
        "东": 90.0,
        "东南": 135.0,
        "南": 180.0,
        "西南": 225.0,
        "西": 270.0,
        "西北": 315.0,
    },
    **{"n": 0.0, "ne": 45.0, "e": 90.0, "se": 135.0, "s": 180.0, "sw": 225.0, "w": 270.0, "nw": 315.0},
}


def _bearing(value: Any) -> float:
    """Degrees clockwise from north, from a number or a compass word (东北, 朝南, NE)."""
    if isinstance(value, str):
        word = value.strip().removeprefix("朝").removeprefix("向").casefold()
        if word in _BEARINGS:
            return _BEARINGS[word]
        try:
            value = float(word)
        except ValueError:
            raise ValueError(
                "expected a compass bearing in degrees (0 = north, clockwise) "
                f"or a direction such as 东北 or NE, got {value!r}"
            ) from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a compass bearing in degrees, got {value!r}")
    if not 0 <= value <= 360:
        raise ValueError(f"direction must be from 0 to 360 degrees (0 = north, clockwise), got {value:g}")
    return float(value)


_YES = {"是", "重点", "高", "y", "yes", "true", "1", "key", "high"}
_NO = {"否", "一般", "普通", "低", "n", "no", "false", "0", "normal", "low"}


def _flag(value: Any) -> Any:
    if isinstance(value, str) and value.strip().casefold() in _YES | _NO:
        return value.strip().casefold() in _YES
    return value


class CameraRecord(Frozen):
    """One camera as written in a ledger or config, with types checked; see ``Camera`` for the result."""

    # cache_strings off: the cache keeps up to 16,384 stripped strings alive after loading, scattered over
    # the memory the whole load used, so none of it could go back to the system (≈ 170 MB at 10^4 cameras).
    model_config = ConfigDict(coerce_numbers_to_str=True, str_strip_whitespace=True, cache_strings=False)

    id: str = Field(min_length=1, max_length=128)
    name: str = ""
    rtsp_url: str | None = None
    host: str | None = None
    rtsp_port: int = Field(554, gt=0, lt=65536)
    rtsp_path: str = "/"
    streams: tuple[Stream, ...] = ()
    onvif_host: str | None = None
    onvif_port: int | None = Field(None, gt=0, lt=65536)
    username: str | None = None
    password_env: str | None = None
    password_file: Path | None = None
    credentials: str | None = None
    lat: float | None = Field(None, allow_inf_nan=False)
    lon: float | None = Field(None, allow_inf_nan=False)
    crs: Annotated[str, BeforeValidator(_crs)] = "wgs84"
    direction: Annotated[float | None, BeforeValidator(_bearing)] = None
    hfov: float | None = Field(None, gt=0, le=360)
    range: float | None = Field(None, gt=0, le=5000)
    vendor: str = ""
    model: str = ""
    camera_type: str = ""
    resolution: str = ""
    county: str = ""
    township: str = ""
    village: str = ""
    site: str = ""
    switch: str = ""
    fibre: str = ""
    power: str = ""
    tier: str = "default"
    priority: Annotated[bool, BeforeValidator(_flag)] = False


def validation_reason(error: Mapping[str, Any]) -> str:
    """A pydantic error as a sentence, with the offending value when that helps (URL passwords masked)."""
    kind = error["type"]
    if kind == "missing":
        return "required field is missing"
    message = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input")
    if kind != "value_error" and isinstance(value, str | int | float) and not isinstance(value, bool):
        message += f" (got {redact_url(repr(value))})"
    return message


@dataclass
class _Draft:
    """A record that passed the per-field checks; coordinates still in their source system."""

    record: RawRecord
    fields: dict[str, Any]


def _record_problems(record: RawRecord, exc: ValidationError) -> list[Problem]:
    problems = []
    for error in exc.errors():
        loc = error["loc"]
        name = ".".join(str(p) for p in loc) if loc else None
        if loc == ("id",) and error["type"] in ("missing", "string_too_short"):
            problems.append(record.problem("id", "missing id"))
        else:
            problems.append(record.problem(name if loc else None, validation_reason(error)))
    return problems


def _stream_url(url: str) -> UrlLogin:
    """Check an RTSP URL and take its userinfo out; ``ValueError`` says what is wrong (never the password)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port raises ValueError for a bad one
    except ValueError as exc:
        raise ValueError(f"not a valid URL ({exc}): {redact_url(url)!r}") from None
    if parts.scheme.lower() not in ("rtsp", "rtsps"):
        raise ValueError(f"URL scheme must be rtsp or rtsps, got {redact_url(url)!r}")
    if not parts.hostname:
        raise ValueError(f"URL has no host: {redact_url(url)!r}")
    return split_userinfo(url)


def _url_from_host(host: str, port: int, path: str) -> str:
    """``rtsp://host:port/path``; IPv6 literals get their brackets."""
    if not re.fullmatch(r"[A-Za-z0-9.\-:%\[\]]+", host):
        raise ValueError(f"not a host name or IP address: {host!r}")
    bare = host.strip("[]")
    try:
        literal = ipaddress.ip_address(bare.split("%")[0])
    except ValueError:
        literal = None
    if literal is None and ":" in host:
        raise ValueError(f"give the port in rtsp_port, not in the host: {host!r}")
    netloc = f"[{bare}]" if literal is not None and literal.version == 6 else bare
    return f"rtsp://{netloc}:{port}/{path.lstrip('/')}"


@dataclass
class CameraBuilder:
    """Turns raw records into ``Camera`` models, collecting every problem instead of stopping at the first.

    ``profiles`` are the resolved ``credentials:`` entries; ``default`` applies to cameras naming none.
    """

    profiles: Mapping[str, Profile]
    problems: list[Problem] = field(default_factory=list)
    # Cameras whose rtsp_url carried a password (reported as one warning, never with the password).
    url_passwords: list[str] = field(default_factory=list)
    _profile_users: dict[str, list[str]] = field(default_factory=dict)

    def build(
        self, records: Iterable[RawRecord], *, base_dir: Path, environ: Mapping[str, str]
    ) -> list[Camera]:
        drafts = [d for r in records if (d := self._draft(r, base_dir=base_dir, environ=environ))]
        self._check_duplicates(drafts)
        self._report_profile_failures()
        positioned = self._check_positions(drafts)
        lat, lon = to_wgs84(
            [d.fields["lat"] for d in positioned],
            [d.fields["lon"] for d in positioned],
            [d.fields["source_crs"] for d in positioned],
        )
        for draft, la, lo in zip(positioned, lat.tolist(), lon.tolist(), strict=True):
            draft.fields["lat"], draft.fields["lon"] = la, lo
        cameras = []
        for draft in drafts:
            try:
                cameras.append(Camera(**draft.fields))
            except ValidationError as exc:
                self.problems.extend(_record_problems(draft.record, exc))
        return cameras

    def _draft(self, record: RawRecord, *, base_dir: Path, environ: Mapping[str, str]) -> _Draft | None:
        count = len(self.problems)
        bad: set[str | int] = set()
        try:
            rec = CameraRecord.model_validate(record.values)
        except ValidationError as exc:
            self.problems.extend(_record_problems(record, exc))
            # Check what is left too (URL, login), so one bad cell does not hide another problem.
            bad = {e["loc"][0] for e in exc.errors() if e["loc"]}
            rest = {k: v for k, v in record.values.items() if k not in bad}
            try:
                rec = CameraRecord.model_validate({**rest, "id": rest.get("id") or "?"})
            except ValidationError:
                return None
        fields: dict[str, Any] = rec.model_dump(
            exclude={"host", "rtsp_port", "rtsp_path", "password_env", "password_file", "credentials", "crs"}
        )
        fields["source_crs"] = rec.crs
        login = self._stream(record, rec, fields)
        self._login(record, rec, login, fields, base_dir=base_dir, environ=environ)
        if (rec.lat is None) != (rec.lon is None) and not bad & {"lat", "lon"}:
            missing = "lon" if rec.lon is None else "lat"
            self.problems.append(
                record.problem(missing, f"{missing} is missing while the other coordinate is given")
            )
        return _Draft(record, fields) if len(self.problems) == count else None

    def _stream(self, record: RawRecord, rec: CameraRecord, fields: dict[str, Any]) -> UrlLogin | None:
        """Set ``rtsp_url``/``streams``/``onvif_host``; return the login found in a URL, if any."""
        login: UrlLogin | None = None
        try:
            if rec.rtsp_url:
                login = _stream_url(rec.rtsp_url)
                fields["rtsp_url"] = login.url
            elif rec.host:
                fields["rtsp_url"] = _url_from_host(rec.host, rec.rtsp_port, rec.rtsp_path)
        except ValueError as exc:
            self.problems.append(record.problem("rtsp_url" if rec.rtsp_url else "host", str(exc)))
            return None
        streams = []
        for index, stream in enumerate(rec.streams):
            try:
                found = _stream_url(stream.rtsp_url)
            except ValueError as exc:
                self.problems.append(record.problem(f"streams.{index}.rtsp_url", str(exc)))
                continue
            login = login if login and login.username else found
            streams.append(Stream(role=stream.role, rtsp_url=found.url))
        fields["streams"] = tuple(streams)
        first_url = fields.get("rtsp_url") or (streams[0].rtsp_url if streams else None)
        url_host = urlsplit(first_url).hostname if first_url else None
        if rec.host and rec.rtsp_url and url_host != rec.host.strip("[]").lower():
            self.problems.append(
                record.problem("host", f"host {rec.host!r} differs from the host in rtsp_url ({url_host})")
            )
        # ONVIF is probed only where the ledger says the device speaks it (a host or a port), not on
        # every RTSP camera's port 80: a probe per camera that can only fail is load and noise.
        fields["onvif_host"] = rec.onvif_host or (url_host if rec.onvif_port is not None else None)
        fields["onvif_port"] = rec.onvif_port or 80
        if login and login.password is not None:
            self.url_passwords.append(f"{record.file} {record.where}")
        return login

    def _login(
        self,
        record: RawRecord,
        rec: CameraRecord,
        url_login: UrlLogin | None,
        fields: dict[str, Any],
        *,
        base_dir: Path,
        environ: Mapping[str, str],
    ) -> None:
        """Username and password, each from the first source that has one: the camera's own fields, its URL's
        userinfo, then its named profile (or ``default``)."""
        profile: Profile | None = None
        if rec.credentials is not None:
            profile = self.profiles.get(rec.credentials)
            if profile is None:
                known = ", ".join(sorted(self.profiles)) or "none"
                self.problems.append(
                    record.problem(
                        "credentials", f"unknown credentials profile '{rec.credentials}'; defined: {known}"
                    )
                )
                return
        else:
            profile = self.profiles.get("default")
        try:
            own = read_password(
                password_env=rec.password_env,
                password_file=rec.password_file,
                base_dir=base_dir,
                environ=environ,
            )
        except SecretUnavailable as exc:
            self.problems.append(record.problem(exc.field, exc.reason))
            return
        password = own or (url_login.password if url_login else None)
        username = rec.username or (url_login.username if url_login else None)
        if password is None and profile is not None:
            self._profile_users.setdefault(profile.name, []).append(record.where)
            password = profile.password
            username = username or profile.username
        elif username is None and profile is not None:
            username = profile.username
        if password is not None and username is None:
            field_name = (
                "password_env" if rec.password_env else "password_file" if rec.password_file else "rtsp_url"
            )
            self.problems.append(record.problem(field_name, "a password is given but no username"))
            return
        fields["username"], fields["password"] = username, password

    def _report_profile_failures(self) -> None:
        for name, users in self._profile_users.items():
            profile = self.profiles[name]
            if profile.failure is not None:
                used_by = f"used by {len(users)} camera{'s' if len(users) != 1 else ''}, e.g. {users[0]}"
                self.problems.append(
                    Problem(
                        profile.file,
                        profile.where,
                        f"credentials.{name}.{profile.failure.field}",
                        f"{profile.failure.reason} ({used_by})",
                    )
                )

    def _check_duplicates(self, drafts: list[_Draft]) -> None:
        first: dict[str, _Draft] = {}
        keep = []
        for draft in drafts:
            camera_id = draft.fields["id"]
            if camera_id in first:
                earlier = first[camera_id].record
                place = (
                    earlier.where if earlier.file == draft.record.file else f"{earlier.file} {earlier.where}"
                )
                self.problems.append(
                    draft.record.problem("id", f"duplicate id '{camera_id}' (first at {place})")
                )
            else:
                first[camera_id] = draft
                keep.append(draft)
        drafts[:] = keep

    def _check_positions(self, drafts: list[_Draft]) -> list[_Draft]:
        """Range and swapped-coordinate checks; drop bad drafts; return those with a position."""
        positioned = [d for d in drafts if d.fields["lat"] is not None]
        if not positioned:
            return []
        lat = np.array([d.fields["lat"] for d in positioned], dtype=np.float64)
        lon = np.array([d.fields["lon"] for d in positioned], dtype=np.float64)
        reasons = position_problems(lat, lon)
        bad = set()
        for index, (field_name, reason) in reasons.items():
            self.problems.append(positioned[index].record.problem(field_name, reason))
            bad.add(id(positioned[index]))
        drafts[:] = [d for d in drafts if id(d) not in bad]
        return [d for d in positioned if id(d) not in bad]


# An inventory covers one city or county; a point this far out, whose swap lands among the others, is swapped.
_FAR_KM = 100.0
_EARTH_KM_PER_DEG = 111.195


def _distance_km(
    lat: NDArray[np.float64], lon: NDArray[np.float64], lat0: float, lon0: float
) -> NDArray[Any]:
    # Equirectangular is plenty for "near" versus "hundreds of kilometres away".
    dx = (lon - lon0) * np.cos(np.radians(lat0))
    return np.hypot(lat - lat0, dx) * _EARTH_KM_PER_DEG


def position_problems(lat: NDArray[np.float64], lon: NDArray[np.float64]) -> dict[int, tuple[str, str]]:
    """Index → (field, reason) for coordinates out of range or swapped.

    Swapped means: latitude beyond ±90 while longitude would be a valid latitude, or — for an inventory of at
    least four points — a point far (more than max(100 km, 10× the median distance)) from the inventory's
    median point that lands among the others (within max(10 km, 3× that distance)) once lat and lon swap.
    """
    found: dict[int, tuple[str, str]] = {}

    def swapped(i: int, detail: str = "") -> tuple[str, str]:
        return "lat/lon", f"lat {lat[i]:g} and lon {lon[i]:g} look swapped{detail}; exchange the two columns"

    for i in np.flatnonzero((np.abs(lat) > 90) & (np.abs(lon) <= 90)):
        found[int(i)] = swapped(int(i))
    for i in np.flatnonzero((np.abs(lat) > 90) & (np.abs(lon) > 90)):
        found[int(i)] = ("lat", f"latitude must be within -90..90, got {lat[i]:g}")
    for i in np.flatnonzero((np.abs(lat) <= 90) & (np.abs(lon) > 180)):
        found[int(i)] = ("lon", f"longitude must be within -180..180, got {lon[i]:g}")

    valid = np.ones(len(lat), dtype=bool)
    valid[list(found)] = False
    if valid.sum() >= 4:
        lat0, lon0 = float(np.median(lat[valid])), float(np.median(lon[valid]))
        given = _distance_km(lat, lon, lat0, lon0)
        spread = float(np.median(given[valid]))
        as_swapped = _distance_km(lon, lat, lat0, lon0)
        suspect = valid & (given > max(_FAR_KM, 10 * spread)) & (as_swapped <= max(10.0, 3 * spread))
        for i in np.flatnonzero(suspect):
            found[int(i)] = swapped(
                int(i), f" ({given[i]:,.0f} km from the other cameras, among them if swapped)"
            )
    return found
