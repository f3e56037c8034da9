"""A YAML ledger read row by row gives what the whole-tree parse gives: data, lines and errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from camwatch.config.errors import ConfigError
from camwatch.config.yamldoc import parse_yaml
from camwatch.config.yamlrows import RowLines, parse_ledger_yaml

LEDGER = """\
# a county's ledger
defaults: &d {vendor: hikvision, lat: 34.1}
cameras:
  - id: a
    name: "东门 \\"1\\""
    lat: 34.2
    installed: 2024-01-02
    on: yes
    port: 0x10
    note: ~
  - {id: b, lon: 115.3}
  - <<: *d
    id: c
  - <<: *d
    id: d
  -
    id: e
    streams:
      - {role: main, rtsp_url: "rtsp://x/1"}
  - just a string
other: [1, 2]
"""

CASES = {
    "ledger": LEDGER,
    "bare list": "- {id: a, lat: 1}\n- id: b\n  lat: 2\n",
    "duplicate key in a row": "cameras:\n  - id: a\n    name: x\n    id: b\n",
    "a row overriding a merged key": "d: &d {lat: 1}\ncameras:\n  - <<: *d\n    lat: 2\n",
    "duplicate top-level key": "cameras: []\ncameras: []\n",
    "a scalar": "hello\n",
    "empty": "",
    "two documents": "- a\n---\n- b\n",
    "syntax error": "cameras:\n  - id: [a\n",
    "tagged list": "cameras: !!seq\n  - id: a\n",
    "anchored list": "cameras: &all\n  - id: a\nagain: *all\n",
    "alias across rows": "cameras:\n  - &x {id: a}\n  - *x\n",
    "undefined alias": "cameras:\n  - *x\n",
    "duplicate anchor": "cameras:\n  - &x {id: a}\n  - &x {id: b}\n",
    "cameras not a list": "cameras: {id: a}\n",
    "binary and timestamps": "cameras:\n  - {id: a, t: 2001-12-14t21:59:43.10-05:00, b: !!binary aGk=}\n",
    "billion laughs": "\n".join(
        [
            "a: &a [x,x,x,x,x,x,x,x,x,x]",
            *(f"{k}: &{k} [{', '.join([f'*{p}'] * 10)}]" for p, k in zip("abcdef", "bcdefg", strict=True)),
        ]
    ),
    "billion laughs in rows": "\n".join(
        [
            "cameras:",
            "  - &a [x,x,x,x,x,x,x,x,x,x]",
            *(f"  - &{k} [{', '.join([f'*{p}'] * 10)}]" for p, k in zip("abcdef", "bcdefg", strict=True)),
        ]
    ),
}


def outcome(parse, text: str):  # type: ignore[no-untyped-def]
    try:
        return "data", parse(text)
    except ConfigError as exc:
        return "problems", [(p.file, p.where, p.field, p.reason) for p in exc.problems]


@pytest.mark.parametrize("name", CASES)
def test_same_data_and_errors_as_the_whole_tree(name: str) -> None:
    text = CASES[name]
    whole = outcome(lambda t: parse_yaml(t, "ledger.yaml").data, text)
    rows = outcome(lambda t: parse_ledger_yaml(t, "ledger.yaml")[0], text)
    assert rows == whole


def paths(data: object) -> list[tuple[str | int, ...]]:
    """Every path a ledger's problems may name, and some that match nothing."""
    prefix: tuple[str, ...] = ("cameras",) if isinstance(data, dict) else ()
    rows = data.get("cameras", []) if isinstance(data, dict) else data
    out: list[tuple[str | int, ...]] = [(), ("cameras",), ("other",), ("nowhere", 1)]
    for i, row in enumerate(rows if isinstance(rows, list) else []):
        out += [(*prefix, i), (*prefix, i, "missing"), (*prefix, i, "id", "deeper")]
        out += [(*prefix, i, str(key)) for key in (row if isinstance(row, dict) else {})]
    return [*out, (*prefix, 999), (*prefix, "x")]


@pytest.mark.parametrize("name", ["ledger", "bare list", "cameras not a list", "alias across rows"])
def test_same_lines_as_the_whole_tree(name: str) -> None:
    text = CASES[name]
    doc = parse_yaml(text, "ledger.yaml")
    data, lines = parse_ledger_yaml(text, "ledger.yaml")
    assert isinstance(lines, RowLines)  # read row by row, not whole
    for path in paths(data):
        assert lines.line_of(path) == doc.line_of(path), path


_scalars = st.one_of(st.text(max_size=8), st.integers(), st.booleans(), st.none(), st.floats(allow_nan=False))
_rows = st.lists(st.dictionaries(st.sampled_from(["id", "name", "lat", "lon", "site"]), _scalars), max_size=6)


@settings(max_examples=60, deadline=None)
@given(_rows, st.booleans(), st.sampled_from([None, True]))
def test_any_ledger_of_rows(rows: list[dict[str, object]], wrapped: bool, flow: bool | None) -> None:
    import yaml

    text = yaml.safe_dump({"cameras": rows} if wrapped else rows, allow_unicode=True, default_flow_style=flow)
    doc = parse_yaml(text, "f")
    data, lines = parse_ledger_yaml(text, "f")
    assert data == doc.data
    for path in paths(data):
        assert lines.line_of(path) == doc.line_of(path), path


def test_a_field_problem_names_its_key_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Each record keeps its fields' lines compactly; a problem still names the key's own line, the last
    of two keys that fill one field (``lat`` and ``纬度``), and the row's line for a field it lacks."""
    from camwatch.config.columns import ColumnMap
    from camwatch.config.ledgers import read_inventory

    ledger = tmp_path / "cameras.yaml"
    ledger.write_text(
        "cameras:\n  - id: a\n    纬度: 1\n    name: x\n    lat: 2\n  - id: b\n", encoding="utf-8"
    )
    first, second = read_inventory(ledger, columns=ColumnMap.build()).records
    assert first.values == {"id": "a", "lat": 2, "name": "x"}
    assert dict(first.field_where) == {"id": "line 2", "lat": "line 5", "name": "line 4"}
    assert first.problem("lat", "bad").where == "line 5"
    assert second.problem("lat", "missing").where == "line 6"
