"""Ledgers (台账) in every format load into WGS-84 cameras; relative paths, secrets and the example config."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from test_config_coords import COORDTRANSFORM_BD, COORDTRANSFORM_WGS, WGS_GCJ_PAIRS, metres

from camwatch.config.errors import ConfigError
from camwatch.config.load import load_config
from camwatch.config.models import Config

TESTDATA = Path(__file__).parent / "testdata"
EXAMPLES = Path(__file__).parent.parent / "examples"
PASSWORD = "Tr0ub4dor&3-not-for-logs"


def write_config(folder: Path, text: str) -> Path:
    path = folder / "camwatch.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_chinese_gcj02_ledger_converts_within_5_m(tmp_path: Path) -> None:
    shutil.copy(TESTDATA / "ledger-gcj02.csv", tmp_path / "台账.csv")
    config = load_config(write_config(tmp_path, "cameras: 台账.csv\n"), environ={})
    by_id = {c.id: c for c in config.cameras}
    assert list(by_id) == ["SH-001", "SZ-001", "BJ-001", "BJ-002"]

    lat = np.array([by_id[i].lat for i in ("SH-001", "SZ-001", "BJ-001")])
    lon = np.array([by_id[i].lon for i in ("SH-001", "SZ-001", "BJ-001")])
    assert metres(lat, lon, WGS_GCJ_PAIRS[:, 0], WGS_GCJ_PAIRS[:, 1]).max() < 5.0
    assert metres(by_id["BJ-002"].lat, by_id["BJ-002"].lon, *COORDTRANSFORM_WGS) < 5.0
    assert {c.source_crs for c in config.cameras} == {"gcj02"}

    shanghai = by_id["SH-001"]
    assert shanghai.name == "上海浦东"
    assert shanghai.rtsp_url == "rtsp://10.1.0.1:554/"
    assert shanghai.onvif_host is None  # the ledger names no ONVIF host or port: ONVIF is not probed
    assert (shanghai.direction, shanghai.hfov, shanghai.range) == (45.0, 90.0, 100.0)
    assert (shanghai.county, shanghai.township, shanghai.village) == ("浦东新区", "三林镇", "")
    assert (shanghai.site, shanghai.vendor, shanghai.model) == (
        "key_intersection",
        "海康威视",
        "DS-2DE4425IW",
    )
    assert (shanghai.switch, shanghai.fibre, shanghai.power) == ("SW-1", "F-1", "市电")
    assert (shanghai.priority, shanghai.tier, shanghai.camera_type, shanghai.resolution) == (
        True,
        "key",
        "球机",
        "4MP",
    )
    assert by_id["SZ-001"].rtsp_url == "rtsp://10.1.0.2:8554/"
    assert by_id["BJ-001"].direction == 180.0  # 南


def test_bd09_ledger_from_defaults(tmp_path: Path) -> None:
    (tmp_path / "baidu.csv").write_text(
        f"编号,名称,经度,纬度\nbd-1,百度点,{COORDTRANSFORM_BD[1]},{COORDTRANSFORM_BD[0]}\n", encoding="utf-8"
    )
    config = load_config(
        write_config(tmp_path, "cameras: {file: baidu.csv, defaults: {crs: bd09}}\n"), environ={}
    )
    (camera,) = config.cameras
    assert camera.source_crs == "bd09"
    assert metres(camera.lat, camera.lon, *COORDTRANSFORM_WGS) < 5.0


def test_gb18030_ledger(tmp_path: Path) -> None:
    text = "设备编号,点位名称,IP地址,所属乡镇,经度,纬度\nq-1,前进路口,10.0.0.1,城关镇,115.65,34.41\n"
    (tmp_path / "gbk.csv").write_bytes(text.encode("gb18030"))
    (camera,) = load_config(write_config(tmp_path, "cameras: gbk.csv\n"), environ={}).cameras
    assert (camera.id, camera.name, camera.township) == ("q-1", "前进路口", "城关镇")
    assert (camera.lat, camera.lon) == (34.41, 115.65)


def test_utf8_bom_and_tab_separated_ledger(tmp_path: Path) -> None:
    text = "编号\t名称\tRTSP地址\nt-1\t北门\trtsp://10.0.0.9/live\n"
    (tmp_path / "bom.csv").write_bytes(text.encode("utf-8-sig"))
    (camera,) = load_config(write_config(tmp_path, "cameras: bom.csv\n"), environ={}).cameras
    assert (camera.id, camera.rtsp_url) == ("t-1", "rtsp://10.0.0.9/live")


def test_xlsx_ledger_with_title_row_and_named_sheet(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.title = "说明"
    sheet = book.create_sheet("点位")
    sheet.append(["XX县视频监控点位台账"])
    sheet.append(["编号", "名称", "IP", "端口", "经度", "纬度", "坐标系", "方向", "重点"])
    sheet.append([1001, "东门", "10.0.0.1", 554, 121.531541859215, 31.17530398364597, "gcj02", 90, "是"])
    sheet.append([1002, "西门", "10.0.0.2", 8554, 121.5316, 31.1754, "gcj02", "四百", "否"])
    book.save(tmp_path / "ledger.xlsx")
    config_path = write_config(tmp_path, "cameras: {file: ledger.xlsx, sheet: 点位}\n")

    with pytest.raises(ConfigError) as caught:
        load_config(config_path, environ={})
    (problem,) = caught.value.problems
    assert (Path(problem.file).name, problem.where, problem.field) == ("ledger.xlsx", "row 4", "direction")

    sheet["H4"] = 270
    book.save(tmp_path / "ledger.xlsx")
    first, second = load_config(config_path, environ={}).cameras
    assert (first.id, second.id) == ("1001", "1002")
    assert (first.rtsp_url, second.rtsp_url) == ("rtsp://10.0.0.1:554/", "rtsp://10.0.0.2:8554/")
    assert metres(first.lat, first.lon, WGS_GCJ_PAIRS[0, 0], WGS_GCJ_PAIRS[0, 1]) < 5.0
    assert (first.priority, second.priority, second.direction) == (True, False, 270.0)


def test_xlsx_unknown_sheet(tmp_path: Path) -> None:
    openpyxl.Workbook().save(tmp_path / "ledger.xlsx")
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, "cameras: {file: ledger.xlsx, sheet: 点位}\n"), environ={})
    assert str(caught.value) == f"{tmp_path / 'ledger.xlsx'}: file has no sheet named '点位'; sheets: Sheet"


def test_geojson_and_yaml_ledgers(tmp_path: Path) -> None:
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [24.9384, 60.1699]},
            "properties": {"id": "hel-1", "名称": "Rautatientori", "camera:direction": 90, "rtsp_url": None},
        }
    ]
    (tmp_path / "cams.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    (camera,) = load_config(write_config(tmp_path, "cameras: cams.geojson\n"), environ={}).cameras
    assert (camera.id, camera.name, camera.direction, camera.lat, camera.lon) == (
        "hel-1",
        "Rautatientori",
        90.0,
        60.1699,
        24.9384,
    )

    (tmp_path / "cams.yaml").write_text(
        "cameras:\n  - {id: y-1, 设备名称: 南门, rtsp_url: 'rtsps://cam.example:322/s1'}\n"
        "  - {id: y-2, rtsp_url: 'rtsp://cam2.example/s1', onvif_port: 8000}\n",
        encoding="utf-8",
    )
    camera, with_onvif = load_config(write_config(tmp_path, "cameras: cams.yaml\n"), environ={}).cameras
    assert (camera.id, camera.name, camera.rtsp_url, camera.onvif_host) == (
        "y-1",
        "南门",
        "rtsps://cam.example:322/s1",
        None,
    )
    # An ONVIF port in the ledger means the device speaks ONVIF at the stream's host.
    assert (with_onvif.onvif_host, with_onvif.onvif_port) == ("cam2.example", 8000)


def test_custom_columns_extend_the_mapping(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text("编号,杆号,安装日期,视频地址\nc-1,P-7,2023-01-01,rtsp://10.0.0.1/a\n")
    config = load_config(
        write_config(
            tmp_path,
            "cameras:\n  file: c.csv\n  columns: {杆号: switch, 安装日期: ignore, 视频地址: rtsp_url}\n",
        ),
        environ={},
    )
    (camera,) = config.cameras
    assert (camera.switch, camera.rtsp_url) == ("P-7", "rtsp://10.0.0.1/a")


def test_relative_paths_resolve_against_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    (site / "data").mkdir(parents=True)
    (site / "data" / "cams.csv").write_text("id,host,credentials\nr-1,10.0.0.1,nvr\n")
    (site / "data" / "roads.geojson").write_text('{"type": "FeatureCollection", "features": []}')
    (site / "nvr.pw").write_text(PASSWORD + "\n")
    write_config(
        site,
        "cameras: data/cams.csv\n"
        "credentials: {nvr: {username: viewer, password_file: nvr.pw}}\n"
        "monitor: {state: var/camwatch.db}\n"
        "coverage: {roads: data/roads.geojson}\n",
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_config(Path("../site/camwatch.yaml"), environ={})
    (camera,) = config.cameras
    assert (camera.username, camera.password.get_secret_value()) == ("viewer", PASSWORD)
    assert config.monitor.state.resolve() == (site / "var" / "camwatch.db").resolve()
    assert config.coverage is not None and config.coverage.roads is not None
    assert config.coverage.roads.resolve() == (site / "data" / "roads.geojson").resolve()
    assert config.source.resolve() == (site / "camwatch.yaml").resolve()


def test_credentials_precedence(tmp_path: Path) -> None:
    config = load_config(
        write_config(
            tmp_path,
            "credentials:\n"
            "  default: {username: admin, password_env: DEFAULT_PW}\n"
            "  hik: {username: hikuser, password_env: HIK_PW}\n"
            "cameras:\n"
            "  - {id: a, host: 10.0.0.1}\n"
            "  - {id: b, host: 10.0.0.2, credentials: hik}\n"
            "  - {id: c, host: 10.0.0.3, username: root, password_env: CAM_C_PW}\n"
            "  - {id: d, host: 10.0.0.4, username: operator}\n",
        ),
        environ={"DEFAULT_PW": "pw-default", "HIK_PW": "pw-hik", "CAM_C_PW": "pw-c"},
    )
    logins = {
        c.id: (c.username, c.password.get_secret_value() if c.password else None) for c in config.cameras
    }
    assert logins == {
        "a": ("admin", "pw-default"),
        "b": ("hikuser", "pw-hik"),
        "c": ("root", "pw-c"),
        "d": ("operator", "pw-default"),
    }


def test_password_in_url_is_moved_out_and_never_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_config(
        tmp_path, f"cameras:\n  - {{id: u, rtsp_url: 'rtsp://admin:{PASSWORD}@10.0.0.1:554/live'}}\n"
    )
    with caplog.at_level(logging.WARNING):
        (camera,) = load_config(path, environ={}).cameras
    assert camera.rtsp_url == "rtsp://10.0.0.1:554/live"
    assert (camera.username, camera.password.get_secret_value()) == ("admin", PASSWORD)
    assert "carry a password" in caplog.text and f"{path} line 2" in caplog.text
    assert PASSWORD not in caplog.text
    assert PASSWORD not in repr(camera) and PASSWORD not in camera.model_dump_json()


def test_passwords_never_appear_in_error_text(tmp_path: Path) -> None:
    (tmp_path / "pw.txt").write_text(PASSWORD)
    (tmp_path / "ledger.csv").write_text(f"编号,IP,密码,经度,纬度\nx-1,10.0.0.1,{PASSWORD},200,34\n")
    ledger_config = tmp_path / "ledger.yaml"
    ledger_config.write_text(
        "credentials: {default: {username: admin, password_file: pw.txt}}\ncameras: ledger.csv\n"
    )
    url_configs = []
    for index, url in enumerate(
        (f"ftp://admin:{PASSWORD}@10.0.0.2/", f"rtsp://admin:{PASSWORD}@10.0.0.2:99999/")
    ):
        url_configs.append(tmp_path / f"url-{index}.yaml")
        url_configs[-1].write_text(f"cameras:\n  - {{id: y, rtsp_url: '{url}', hfov: 0}}\n")

    texts = []
    for path in (ledger_config, *url_configs):
        with pytest.raises(ConfigError) as caught:
            load_config(path, environ={"SOME_VAR": PASSWORD})
        texts.append(str(caught.value))
    assert "密码" in texts[0] and "longitude must be within" in texts[0]
    for text in texts[1:]:
        assert "field 'hfov'" in text and "field 'rtsp_url'" in text and "admin:***@10.0.0.2" in text
    for text in texts:
        assert PASSWORD not in text


def test_loading_is_pure(tmp_path: Path) -> None:
    text = "cameras:\n  - {id: p-1, host: 10.0.0.1, lat: 34.4, lon: 115.6, crs: gcj02}\n"
    path = write_config(tmp_path, text)
    first = load_config(path, environ={})
    path.write_text("cameras:\n  - {id: p-1, host: [broken\n")
    with pytest.raises(ConfigError):
        load_config(path, environ={})
    # A failed load changes nothing: the config in hand is intact; the same text loads to an equal one.
    path.write_text(text)
    assert load_config(path, environ={}) == first
    assert first.cameras[0].source_crs == "gcj02" and first.cameras[0].lat != 34.4
    with pytest.raises(ValueError, match="frozen"):
        first.cameras[0].lat = 0.0


def test_example_config_loads(tmp_path: Path) -> None:
    config = load_config(EXAMPLES / "config.yaml", environ={"CAMWATCH_PASSWORD": PASSWORD})
    assert isinstance(config, Config)
    assert len(config.cameras) == 5
    assert {c.source_crs for c in config.cameras} == {"gcj02"}
    assert all(c.rtsp_url and c.rtsp_url.endswith("/Streaming/Channels/101") for c in config.cameras)
    assert {c.username for c in config.cameras} == {"admin"}
    assert config.monitor.schedule("key", "rtsp").interval == 30.0


def test_public_security_ledger_fields(tmp_path: Path) -> None:
    shutil.copy(TESTDATA / "ledger-public-security.csv", tmp_path / "台账.csv")
    # The same ledger with its bad rows left out.
    lines = (tmp_path / "台账.csv").read_text(encoding="utf-8").splitlines()
    (tmp_path / "台账.csv").write_text(
        "\n".join([lines[0].removesuffix(",点位名"), lines[1].removesuffix(",DS-2CD3T47")]) + "\n",
        encoding="utf-8",
    )
    (camera,) = load_config(write_config(tmp_path, "cameras: 台账.csv\n"), environ={}).cameras
    assert (camera.id, camera.gb_id, camera.police_station) == (
        "41140200001320000001",
        "41140200001320000001",
        "平原派出所",
    )
    assert (camera.rtsp_url, camera.direction, camera.networked) == ("rtsp://10.20.1.11:554/", 270.0, True)


def test_commands_that_probe_need_an_address_unless_not_networked(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        "cameras:\n"
        "  - {id: planned, lat: 34.41, lon: 115.65}\n"
        "  - {id: offline-by-design, lat: 34.42, lon: 115.65, networked: 否}\n"
        "  - {id: streams, host: 10.0.0.1}\n"
        "  - {id: gb-only, gb_id: '34020000001310000001'}\n",
    )
    # A planning inventory (positions only) is fine for coverage ...
    assert len(load_config(config, environ={}).cameras) == 4
    # ... but a camera that is to be probed needs something to probe (a GB/T 28181 id will do when a
    # platform it registers with is configured to tell its status).
    with pytest.raises(ConfigError) as caught:
        load_config(config, environ={}, require_address=True)
    assert [str(p) for p in caught.value.problems] == [
        f"{config}, line 2: nothing to probe: no rtsp_url, host (IP), onvif_host, snapshot_url or gb_id; "
        "fill one in, "
        "or mark a camera that is not on the network with 是否联网 = 否 (networked: false)",
        f"{config}, line 5, field 'gb_id': linked to GB/T 28181 by its gb_id (国标编码) only, but the config "
        "has no gb28181: section, so nothing would ever report its status; add a gb28181: section (README: "
        "GB/T 28181), fill in its IP, or mark it 是否联网 = 否 (networked: false)",
    ]


def test_unknown_key_is_named_once_per_file(tmp_path: Path) -> None:
    rows = "".join(f"  - {{id: c{i}, host: 10.0.0.{i + 1}, 点位名: x}}\n" for i in range(50))
    config = write_config(tmp_path, "cameras:\n" + rows)
    with pytest.raises(ConfigError) as caught:
        load_config(config, environ={})
    (problem,) = caught.value.problems
    assert (problem.where, problem.field) == ("line 2", "点位名")
    assert "closest known: 点位名称" in problem.reason
    assert len(str(problem)) < 250


def test_cameras_share_equal_values_and_a_copy_gets_its_own(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        "cameras:\n"
        "  - {id: a, host: 10.0.0.1, township: 城关镇, switch: sw-1}\n"
        "  - {id: b, host: 10.0.0.2, township: 城关镇, switch: sw-1}\n"
        "  - {id: c, host: 10.0.0.3, township: 城关镇, switch: sw-2, lat: 34.4, lon: 115.6}\n",
    )
    a, b, c = load_config(config, environ={}).cameras
    assert a.township is b.township is c.township and a.switch is b.switch
    assert a.model_fields_set is b.model_fields_set is c.model_fields_set
    moved = a.model_copy(update={"switch": "gb28181:34020000001180000001"})
    assert moved.switch.startswith("gb28181:") and a.switch == b.switch == "sw-1"
    assert moved.model_fields_set is not a.model_fields_set and b.model_fields_set == a.model_fields_set
    assert a != b and a == a.model_copy()


FULL_WIDTH_LEDGER = (
    "编号,名称,IP地址,端口,经度,纬度,设备类型,MAC地址,运维单位\n"
    "XJ－01,谢集村口,１２７．２０．０．１５,５５４,１１５．６５１２３４,３４．４１２０００,枪机,"
    "00:1A:2B:3C:4D:5E,商丘某某科技有限公司\n"
    "XJ-02,谢集小学,10.0.0.2,554,115.652,34.413,球机,00:1A:2B:3C:4D:5F,维保公司　乙\n"
)


def test_full_width_values_are_read_as_typed_by_a_chinese_input_method(tmp_path: Path, caplog) -> None:
    (tmp_path / "台账.csv").write_bytes(FULL_WIDTH_LEDGER.encode("gbk"))
    with caplog.at_level(logging.WARNING, logger="camwatch.config.load"):
        first, second = load_config(write_config(tmp_path, "cameras: 台账.csv\n"), environ={}).cameras
    assert (first.id, first.rtsp_url) == ("XJ-01", "rtsp://127.20.0.15:554/")
    assert (first.lon, first.lat) == (115.651234, 34.412)
    # Words for people stay as typed (the ideographic space in a company name included).
    assert (first.name, first.contractor, second.contractor) == (
        "谢集村口",
        "商丘某某科技有限公司",
        "维保公司　乙",
    )
    # Unknown columns: one warning naming both, left out; a type column is never hinted towards `name`.
    (warning,) = [r.getMessage() for r in caplog.records if "unknown column" in r.getMessage()]
    assert "台账.csv row 1: 2 unknown column(s) left out: 设备类型" in warning and "MAC地址" in warning
    assert "{设备类型: camera_type}" in warning and ": name}" not in warning
    assert "cameras.strict: true" in warning


def test_a_strict_ledger_refuses_unknown_columns(tmp_path: Path) -> None:
    (tmp_path / "台账.csv").write_bytes(FULL_WIDTH_LEDGER.encode("gbk"))
    config = write_config(tmp_path, "cameras: {file: 台账.csv, strict: true}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(config, environ={})
    assert [(p.where, p.field) for p in caught.value.problems] == [
        ("row 1", "设备类型"),
        ("row 1", "MAC地址"),
    ]
    assert "e.g. {设备类型: camera_type} or {设备类型: ignore}" in caught.value.problems[0].reason


def test_a_misspelt_file_name_gets_did_you_mean(tmp_path: Path) -> None:
    (tmp_path / "台账.csv").write_text("编号,IP\nc1,10.0.0.1\n", encoding="utf-8")
    config = write_config(tmp_path, "cameras: 台帐.csv\n")  # 帐 for 账: the usual slip
    with pytest.raises(ConfigError) as caught:
        load_config(config, environ={})
    assert str(caught.value).endswith(
        f"inventory file not found: {tmp_path / '台帐.csv'}; did you mean '台账.csv'?"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "camwatch.yml", environ={})
    assert str(caught.value).endswith("config file not found; did you mean 'camwatch.yaml'?")


def test_transport_column(tmp_path: Path) -> None:
    """传输协议 pins how RTP comes (tcp/udp, in any case), 自动 or an empty cell leave it to camwatch;
    anything else is a problem naming the file, row and field."""
    (tmp_path / "cams.csv").write_text(
        "编号,IP地址,传输协议\nt-1,10.0.0.1,UDP\nt-2,10.0.0.2,自动\nt-3,10.0.0.3,\nt-4,10.0.0.4,tcp\n",
        encoding="utf-8",
    )
    config = load_config(write_config(tmp_path, "cameras: cams.csv\n"), environ={})
    assert [c.transport for c in config.cameras] == ["udp", "auto", "auto", "tcp"]
    (tmp_path / "cams.csv").write_text("编号,IP地址,传输协议\nt-1,10.0.0.1,sctp\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, "cameras: cams.csv\n"), environ={})
    (problem,) = caught.value.problems
    assert (Path(problem.file).name, problem.field) == ("cams.csv", "transport")
    assert problem.where is not None and "2" in problem.where
    assert "'auto', 'tcp' or 'udp'" in problem.reason


def test_timezone_column(tmp_path: Path) -> None:
    """时区 gives a camera's local clock (an IANA name); empty leaves reports.timezone; a wrong name is a
    problem naming the file, row and field."""
    (tmp_path / "cams.csv").write_text(
        "编号,IP地址,时区\nz-1,10.0.0.1,Asia/Urumqi\nz-2,10.0.0.2,\n", encoding="utf-8"
    )
    config = load_config(write_config(tmp_path, "cameras: cams.csv\n"), environ={})
    assert [c.timezone for c in config.cameras] == ["Asia/Urumqi", None]
    (tmp_path / "cams.csv").write_text("编号,IP地址,时区\nz-1,10.0.0.1,Beijing\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, "cameras: cams.csv\n"), environ={})
    (problem,) = caught.value.problems
    assert (Path(problem.file).name, problem.field) == ("cams.csv", "timezone")
    assert problem.where is not None and "2" in problem.where
    assert "unknown time zone 'Beijing'" in problem.reason
