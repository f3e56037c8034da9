"""Hostile ledgers and configs end in a clean ConfigError (or a valid Config), never another exception."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from camwatch.config.errors import ConfigError
from camwatch.config.load import load_config
from camwatch.config.models import Config

FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
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
    "重点",
    "用户名",
]

cell = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "",
            "0",
            "-1",
            "360",
            "361",
            "nan",
            "inf",
            "1e400",
            "34.5",
            "115.6",
            "是",
            "东北",
            "gcj02",
            "rtsp://a:b@10.0.0.1/x",
            "rtsp://[::1",
            "http://x",
            "10.0.0.1:554",
            "１２",
        ]
    ),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


def load(folder: Path, ledger_name: str, content: bytes) -> Config | ConfigError:
    (folder / ledger_name).write_bytes(content)
    config = folder / "camwatch.yaml"
    config.write_text(f"cameras: {ledger_name}\n", encoding="utf-8")
    try:
        return load_config(config, environ={})
    except ConfigError as exc:
        assert exc.problems and all(p.reason for p in exc.problems)
        return exc


@FUZZ
@given(content=st.binary(max_size=400), suffix=st.sampled_from([".csv", ".yaml", ".geojson", ".xlsx"]))
def test_random_bytes_in_any_format(content: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        load(Path(folder), f"ledger{suffix}", content)


@FUZZ
@given(rows=st.lists(st.lists(cell, min_size=0, max_size=len(HEADERS) + 2), max_size=6))
def test_csv_with_hostile_cells(rows: list[list[str]]) -> None:
    lines = [",".join(HEADERS)] + [",".join(json.dumps(c, ensure_ascii=False) for c in row) for row in rows]
    with tempfile.TemporaryDirectory() as folder:
        result = load(Path(folder), "ledger.csv", "\n".join(lines).encode("utf-8"))
        if isinstance(result, Config):
            assert all(-90 <= c.lat <= 90 for c in result.cameras if c.lat is not None)


json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@FUZZ
@given(
    features=st.lists(
        st.fixed_dictionaries({"type": st.just("Feature"), "geometry": json_value, "properties": json_value}),
        max_size=4,
    )
)
def test_geojson_with_hostile_features(features: list[object]) -> None:
    text = json.dumps({"type": "FeatureCollection", "features": features})
    with tempfile.TemporaryDirectory() as folder:
        load(Path(folder), "ledger.geojson", text.encode())


@FUZZ
@given(
    cameras=st.lists(
        st.dictionaries(st.sampled_from([*HEADERS, "id", "streams", "x"]), json_value), max_size=4
    )
)
def test_yaml_ledger_with_hostile_values(cameras: list[dict[str, object]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        load(Path(folder), "ledger.yaml", json.dumps({"cameras": cameras}).encode())


def test_billion_laughs_is_refused(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    lines += ["cameras: *a8"]
    (tmp_path / "camwatch.yaml").write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "camwatch.yaml", environ={})
    assert str(caught.value) == (
        f"{tmp_path / 'camwatch.yaml'}: invalid YAML: aliases expand to more than 2,000,000 nodes"
    )


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    (tmp_path / "camwatch.yaml").write_text("cameras: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "camwatch.yaml", environ={})
    # PyYAML 6.0.3 stops at its own depth limit; older releases parse it and the ledger check refuses it.
    assert str(caught.value) in (
        f"{tmp_path / 'camwatch.yaml'}, line 1: expected a mapping of camera fields",
        f"{tmp_path / 'camwatch.yaml'}, line 1: invalid YAML: exceeded maximum nesting depth "
        "(while increasing flow level at line 1)",
    )
