"""Hand-edited ledgers under fuzzing: only ``ConfigError`` escapes, and every problem points into a real file.

Complements tests/test_config_fuzz.py (random bytes and hostile cells): here every problem is checked to name
the file it is about and a row or line that exists in it, across encodings, BOMs, quoting, Chinese headers,
spreadsheet cells of every type, random config documents, and swapped coordinates found at the right row.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import tempfile
from pathlib import Path

import openpyxl
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from camwatch.config.errors import ConfigError, Problem
from camwatch.config.load import load_config
from camwatch.config.models import Config

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

HEADERS = [
    "编号",
    "名称",
    "IP地址",
    "端口",
    "经度",
    "纬度",
    "坐标系",
    "方向",
    "视场角",
    "RTSP地址",
    "所属乡镇",
    "重点",
]
ENGLISH = [
    "id",
    "name",
    "host",
    "rtsp_port",
    "lon",
    "lat",
    "crs",
    "direction",
    "hfov",
    "rtsp_url",
    "township",
]
ODD_HEADERS = ["序号", "备注", "密码", "unknown", "", "ＩＤ", " 名称 ", "lat"]

number_text = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.integers(-(10**12), 10**12).map(str),
    st.sampled_from(["34,5", "１１５.６", "115°36′", "-", "1e309", "0x1F", " 34.5 ", "三十四", "N34.5"]),
)
cell_text = st.one_of(
    st.text(max_size=10),
    number_text,
    st.sampled_from(
        [
            "东北",
            "朝南",
            "NE",
            "361",
            "gcj02",
            "百度",
            "是",
            "否",
            "cam-1",
            "cam-1",
            "rtsp://[::1",
            "10.0.0.1",
        ]
    ),
    st.sampled_from(['"quoted"', 'a"b', "a,b", "line\nbreak", "tab\tcell", "\u200b", "\ufeff编号"]),
)


def check_problems(error: ConfigError, files: dict[str, int]) -> None:
    """Each problem names one of ``files`` (path -> rows/lines in it) and, if placed, a place inside it."""
    assert error.problems
    for problem in error.problems:
        assert isinstance(problem, Problem) and problem.reason
        path = str(Path(problem.file).resolve())
        assert path in files, f"problem names an unknown file: {problem}"
        if problem.where is not None:
            found = re.fullmatch(r"(row|line|feature) (\d+)", problem.where)
            assert found, f"unexpected place: {problem}"
            assert 1 <= int(found[2]) <= files[path], f"place outside the file: {problem}"
        assert str(problem).startswith(problem.file)


def load_ledger(folder: Path, name: str, content: bytes, places: int) -> Config | ConfigError:
    """Load a config naming ledger ``name``; problems may name the config (3 lines) or the ledger."""
    ledger = folder / name
    ledger.write_bytes(content)
    config = folder / "camwatch.yaml"
    config.write_text(f"# fuzzed ledger\ncameras:\n  file: {name}\n", encoding="utf-8")
    try:
        return load_config(config, environ={})
    except ConfigError as exc:
        check_problems(exc, {str(config.resolve()): 3, str(ledger.resolve()): max(places, 1)})
        return exc


def csv_text(header: list[str], rows: list[list[str]], delimiter: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


@FUZZ
@given(
    header=st.lists(st.sampled_from(HEADERS + ENGLISH + ODD_HEADERS), min_size=1, max_size=9),
    rows=st.lists(st.lists(cell_text, max_size=10), max_size=6),
    delimiter=st.sampled_from([",", "\t", ";"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]),
    title=st.booleans(),
)
def test_csv_ledgers(
    header: list[str], rows: list[list[str]], delimiter: str, encoding: str, title: bool
) -> None:
    text = csv_text(header, rows, delimiter)
    if title:
        text = "XX县视频监控点位台账\r\n" + text
    try:
        content = text.encode(encoding)
    except UnicodeEncodeError:
        content = text.encode("utf-8")
    # Quoted cells may span lines: a row number never exceeds the physical line count.
    places = text.count("\n") + text.count("\r") + 1
    with tempfile.TemporaryDirectory() as folder:
        result = load_ledger(Path(folder), "台账.csv", content, places)
    if isinstance(result, Config):
        assert len({c.id for c in result.cameras}) == len(result.cameras)
        for camera in result.cameras:
            assert camera.lat is None or (-90 <= camera.lat <= 90 and -180 <= (camera.lon or 0) <= 180)


xlsx_cell = st.one_of(
    st.none(),
    cell_text,
    st.integers(-(10**15), 10**15),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(2100, 1, 1)),
    st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2100, 1, 1)),
    st.sampled_from(["=1/0", "=A1", "#N/A", "#DIV/0!"]),
)


def xlsx_bytes(rows: list[list[object]], *, sheet: str) -> bytes:
    book = openpyxl.Workbook()
    worksheet = book.active
    assert worksheet is not None
    worksheet.title = sheet
    for row in rows:
        worksheet.append([_printable(c) for c in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _printable(value: object) -> object:
    # openpyxl refuses control characters in cells (Excel cannot store them either).
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", value) if isinstance(value, str) else value


@FUZZ
@given(
    blank_rows=st.integers(0, 2),
    header=st.lists(st.sampled_from(HEADERS + ODD_HEADERS) | st.none(), min_size=1, max_size=8),
    rows=st.lists(st.lists(xlsx_cell, max_size=9), max_size=6),
    sheet=st.sampled_from(["台账", "Sheet1"]),
)
def test_xlsx_ledgers(
    blank_rows: int, header: list[str | None], rows: list[list[object]], sheet: str
) -> None:
    all_rows: list[list[object]] = [[None, None, None] for _ in range(blank_rows)]
    all_rows += [list(header), *rows]
    with tempfile.TemporaryDirectory() as folder:
        load_ledger(Path(folder), "台账.xlsx", xlsx_bytes(all_rows, sheet=sheet), len(all_rows))


yaml_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(["60s", "5", "-1s", "0", "127.0.0.1:9640", "CAMWATCH_PASSWORD", "nope.csv", "1h", "x:y"]),
)
yaml_value = st.recursive(
    yaml_scalar,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                ["interval", "timeout", "down_after", "username", "password_env", "file", "id", "lat"]
            )
            | st.text(max_size=6),
            inner,
            max_size=3,
        )
    ),
    max_leaves=12,
)
config_document = st.fixed_dictionaries(
    {},
    optional={
        "cameras": st.lists(
            st.dictionaries(
                st.sampled_from(ENGLISH + HEADERS + ["password", "credentials"]), yaml_value, max_size=5
            ),
            max_size=4,
        )
        | yaml_value,
        "credentials": st.dictionaries(st.sampled_from(["default", "site"]), yaml_value, max_size=2),
        "monitor": st.dictionaries(
            st.sampled_from(["listen", "state", "rtsp", "debounce", "web", "concurrency", "tiers"]),
            yaml_value,
        ),
        "coverage": yaml_value,
        "reports": yaml_value,
        "extra": yaml_value,
    },
)


@FUZZ
@given(
    document=config_document,
    cut=st.integers(0, 400),
    damage=st.sampled_from(["", "\t", ": :", "- {", "&a *a"]),
)
def test_random_config_documents(document: dict[str, object], cut: int, damage: str) -> None:
    text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    if damage:
        at = cut % (len(text) + 1)
        # Ends with a line break as editors save it; see the end-of-file case below for a file without one.
        text = text[:at] + damage + text[at:].rstrip("\n") + "\n"
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "camwatch.yaml"
        config.write_text(text, encoding="utf-8")
        try:
            load_config(config, environ={"CAMWATCH_PASSWORD": "x"})
        except ConfigError as exc:
            check_problems(exc, {str(config.resolve()): text.count("\n") + 1})


# Cameras of one county around 34.4 N, 115.6 E: a swapped pair lands hundreds of kilometres away, in the sea.
@FUZZ
@given(
    count=st.integers(5, 12),
    offsets=st.lists(st.tuples(st.floats(-0.2, 0.2), st.floats(-0.2, 0.2)), min_size=12, max_size=12),
    swapped=st.sets(st.integers(0, 11), min_size=1, max_size=2),
    english=st.booleans(),
)
def test_swapped_coordinates_are_found_at_their_row(
    count: int, offsets: list[tuple[float, float]], swapped: set[int], english: bool
) -> None:
    swapped = {i % count for i in swapped}
    header = ["id", "name", "lon", "lat"] if english else ["编号", "名称", "经度", "纬度"]
    rows = []
    for i, (dlat, dlon) in enumerate(offsets[:count]):
        lat, lon = round(34.4 + dlat, 6), round(115.6 + dlon, 6)
        if i in swapped:
            lat, lon = lon, lat
        rows.append([f"cam-{i}", f"路口{i}", str(lon), str(lat)])
    with tempfile.TemporaryDirectory() as folder:
        result = load_ledger(
            Path(folder), "台账.csv", csv_text(header, rows, ",").encode("utf-8-sig"), count + 1
        )
    assert isinstance(result, ConfigError)
    assert {p.where for p in result.problems} == {f"row {i + 2}" for i in swapped}
    assert all(p.field == "lat/lon" and "swapped" in p.reason for p in result.problems)


def test_a_key_with_a_bracket_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    config = tmp_path / "camwatch.yaml"
    config.write_text('cameras: {"x[y": 1}\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(config, environ={})
    check_problems(caught.value, {str(config.resolve()): 1})


def test_yaml_error_at_end_of_file_without_final_line_break_names_its_last_line(
    tmp_path: Path,
) -> None:
    config = tmp_path / "camwatch.yaml"
    config.write_text("cameras:\n- id: a\n&a *a", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(config, environ={})
    check_problems(caught.value, {str(config.resolve()): 3})
