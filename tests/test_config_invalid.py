"""Each invalid config in tests/testdata gives exactly its expected problems: file, line/row, field, why."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from camwatch.config.errors import ConfigError
from camwatch.config.load import describe_problems, load_config

TESTDATA = Path(__file__).parent / "testdata"

_KNOWN_FIELDS = (
    "id, name, host, rtsp_port, rtsp_path, rtsp_url, streams, onvif_host, onvif_port, snapshot_url, "
    "username, password_env, password_file, credentials, lon, lat, crs, direction, hfov, range, county, "
    "township, village, police_station, contractor, gb_id, gb_device, networked, vendor, model, switch, "
    "fibre, power, "
    "site, camera_type, resolution, priority, tier, transport, recorder, recorder_channel, timezone"
)
_NO_PASSWORD_COLUMN = (
    "a password column is not accepted; remove it and give each camera (or a credentials profile) "
    "password_env or password_file instead"
)

# File name → the exact problems, in order (paths inside tests/testdata shown relative to it).
CASES: dict[str, list[str]] = {
    "invalid-yaml-syntax.yaml": [
        "invalid-yaml-syntax.yaml, line 5: invalid YAML: did not find expected key "
        "(while parsing a block mapping at line 3)",
    ],
    "invalid-duplicate-key.yaml": [
        "invalid-duplicate-key.yaml, line 4, field 'concurrency': duplicate key (first at line 3)",
    ],
    "invalid-unknown-field.yaml": [
        "invalid-unknown-field.yaml, line 1, field 'camera': unknown field; did you mean 'cameras'? "
        "(known: cameras, credentials, monitor, coverage, reports, gb28181, recorders)",
        "invalid-unknown-field.yaml, line 1, field 'cameras': required: a ledger file or a list",
        "invalid-unknown-field.yaml, line 4, field 'monitor.rtsp.intervall': unknown field; "
        "did you mean 'interval'? (known: interval, timeout, jitter)",
        "invalid-unknown-field.yaml, line 7, field 'monitor.tiers.key.video.blur': unknown field (known: "
        "interval, timeout, jitter, frozen_tolerance, frozen_seconds, black_luma, blur_ratio, "
        "blur_floor, occluded_fraction, color_cast_ratio, color_cast_chroma, scene_match_min, "
        "tampered_fraction, scene_refresh, dark_high, bright_low, contrast_min, noise_max, stripe_min, "
        "jitter_shift, flicker_depth, confirm, duration, udp_ports, rtp_wait)",
    ],
    "invalid-settings-values.yaml": [
        "invalid-settings-values.yaml, line 3, field 'monitor.listen': "
        "expected HOST:PORT such as 127.0.0.1:9640, got 'localhost'",
        "invalid-settings-values.yaml, line 5, field 'monitor.rtsp.timeout': "
        "expected a duration such as 5s, 500ms or 15m, got '5x'",
        "invalid-settings-values.yaml, line 7, field 'monitor.debounce.down_after': "
        "Input should be greater than or equal to 1 (got 0)",
        "invalid-settings-values.yaml, line 9, field 'reports.thresholds': "
        "thresholds must satisfy red <= orange <= yellow",
    ],
    "invalid-inventory-missing.yaml": [
        "invalid-inventory-missing.yaml, line 1, field 'cameras': "
        "inventory file not found: no-such-ledger.csv",
        "invalid-inventory-missing.yaml, line 3, field 'coverage.roads': file not found: no-such-roads.gpkg",
    ],
    "invalid-inventory-format.yaml": [
        "ledger-bad-format.txt: unsupported inventory format '.txt'; use .yaml, .yml, .csv, .xlsx, .geojson",
    ],
    "invalid-duplicate-id.yaml": [
        "invalid-duplicate-id.yaml, line 6, field 'id': duplicate id 'gate-1' (first at line 2)",
    ],
    "invalid-missing-id.yaml": [
        "invalid-missing-id.yaml, line 2, field 'id': missing id",
        "invalid-missing-id.yaml, line 4, field 'id': missing id",
    ],
    "invalid-url.yaml": [
        "invalid-url.yaml, line 3, field 'rtsp_url': URL scheme must be rtsp or rtsps, got 'http://10.0.0.1/live'",
        "invalid-url.yaml, line 5, field 'rtsp_url': URL has no host: 'rtsp:///live'",
        "invalid-url.yaml, line 7, field 'rtsp_url': "
        "not a valid URL (Port out of range 0-65535): 'rtsp://10.0.0.3:99999/live'",
        "invalid-url.yaml, line 9, field 'host': "
        "host '10.0.0.4' differs from the host in rtsp_url (10.0.0.5)",
        "invalid-url.yaml, line 12, field 'host': "
        "give the port in rtsp_port, not in the host: '10.0.0.6:554'",
        "invalid-url.yaml, line 14, field 'rtsp_url': not a valid IPv4 address: '10.0.0.999'",
    ],
    "invalid-snapshot.yaml": [
        "invalid-snapshot.yaml, line 4, field 'snapshot_url': "
        "expected an http(s) URL or onvif, got 'ftp://10.0.0.1/picture.jpg'",
        "invalid-snapshot.yaml, line 7, field 'snapshot_url': "
        "put the login in username and password, not in the URL",
        "invalid-snapshot.yaml, line 8: snapshot_url onvif needs an onvif_host",
    ],
    "invalid-coordinates.yaml": [
        "invalid-coordinates.yaml, line 2, field 'lat': latitude must be within -90..90, got 95.5",
        "invalid-coordinates.yaml, line 3, field 'lat/lon': "
        "lat 116.39 and lon 39.91 look swapped; exchange the two columns",
        "invalid-coordinates.yaml, line 4, field 'lon': longitude must be within -180..180, got 181",
        "invalid-coordinates.yaml, line 5, field 'lon': lon is missing while the other coordinate is given",
        "invalid-coordinates.yaml, line 6, field 'lat': "
        "Input should be a valid number, unable to parse string as a number (got 'north')",
    ],
    "invalid-swapped-extent.yaml": [
        "invalid-swapped-extent.yaml, line 6, field 'lat/lon': lat 75.97 and lon 39.45 look swapped "
        "(5,129 km from the other cameras, among them if swapped); exchange the two columns",
    ],
    "invalid-camera-values.yaml": [
        "invalid-camera-values.yaml, line 4, field 'crs': "
        "unknown coordinate system 'utm50'; expected wgs84, gcj02 or bd09",
        "invalid-camera-values.yaml, line 5, field 'direction': "
        "direction must be from 0 to 360 degrees (0 = north, clockwise), got 400",
        "invalid-camera-values.yaml, line 6, field 'hfov': "
        "Input should be a valid number, unable to parse string as a number (got 'wide')",
        "invalid-camera-values.yaml, line 7, field 'range': Input should be greater than 0 (got -5)",
        "invalid-camera-values.yaml, line 8, field 'rtsp_port': Input should be less than 65536 (got 70000)",
        "invalid-camera-values.yaml, line 11, field 'direction': expected a compass bearing in degrees "
        "(0 = north, clockwise) or a direction such as 东北 or NE, got '东北偏北'",
        "invalid-camera-values.yaml, line 12, field 'priority': "
        "Input should be a valid boolean, unable to interpret input (got 'maybe')",
        f"invalid-camera-values.yaml, line 13, field 'password': {_NO_PASSWORD_COLUMN}",
    ],
    "invalid-secrets.yaml": [
        "invalid-secrets.yaml, line 2, field 'credentials.default.password_env': "
        "environment variable CAMWATCH_TEST_UNSET is not set (used by 1 camera, e.g. line 6)",
        "invalid-secrets.yaml, line 4, field 'credentials.nvr.password_file': cannot read the file it names "
        f"(looked in {TESTDATA.absolute()}): No such file or directory (used by 1 camera, e.g. line 8)",
        "invalid-secrets.yaml, line 9, field 'credentials': "
        "unknown credentials profile 'hik'; defined: default, nvr, spare",
        "invalid-secrets.yaml, line 10, field 'password_env': give password_env or password_file, not both",
        "invalid-secrets.yaml, line 11, field 'password_env': "
        "environment variable CAMWATCH_TEST_CAM6 is not set",
    ],
    "invalid-gb28181.yaml": [
        "invalid-gb28181.yaml, line 2, field 'gb28181.listen': "
        "expected HOST:PORT such as 127.0.0.1:9640, got '127.0.0.1'",
        "invalid-gb28181.yaml, line 3, field 'gb28181.id': "
        "a GB/T 28181 id (国标编码) must be 20 digits, got '3402000000200000001'",
        "invalid-gb28181.yaml, line 4, field 'gb28181.domain': domain must be 10 digits, got '34020000X0'",
        "invalid-gb28181.yaml, line 6, field 'gb28181.keepalive.count': "
        "Input should be greater than or equal to 1 (got 0)",
        "invalid-gb28181.yaml, line 9, field 'gb28181.devices.3402': "
        "a GB/T 28181 id (国标编码) must be 20 digits, got '3402'",
        "invalid-gb28181.yaml, line 11, field 'gb_id': "
        "a GB/T 28181 id (国标编码) has 20 digits, got '3402000000131000001'; "
        "store the column as text in Excel",
    ],
    "invalid-gb28181-password.yaml": [
        "invalid-gb28181-password.yaml, line 4, field 'gb28181.password_env': "
        "environment variable CAMWATCH_TEST_GB_UNSET is not set",
        "invalid-gb28181-password.yaml, line 6, field 'gb28181.devices.34020000001320000001.password_file': "
        f"cannot read the file it names (looked in {TESTDATA.absolute()}): No such file or directory",
    ],
    "invalid-gb28181-nopassword.yaml": [
        "invalid-gb28181-nopassword.yaml, line 1, field 'gb28181.password_env': "
        "devices authenticate with a password: give password_env or password_file",
    ],
    "invalid-ledger-columns.yaml": [
        "invalid-ledger-columns.yaml, line 4, field 'cameras.columns.自定义列': "
        f"unknown field 'nonsense'; use one of {_KNOWN_FIELDS} or ignore",
        f"ledger-columns.csv, row 1, field '密码': {_NO_PASSWORD_COLUMN}",
        # strict: an unknown column is an error, and the hint maps it to no field it does not resemble
        "ledger-columns.csv, row 1, field '安装单位': unknown column; closest known: 安装位置, 运维单位, "
        "维护单位; map it under cameras.columns, e.g. {安装单位: ignore} (README: camera record fields)",
    ],
    # The headers of a public-security ledger (国标编码 as the id, 所属派出所, 是否联网, ...) are known; an
    # unknown one (点位名) is left out with a warning (test_config_ledgers).
    "invalid-ledger-public-security.yaml": [
        "ledger-public-security.csv, row 3, field 'host': not a valid IPv4 address: '10.20.1.999'",
        "ledger-public-security.csv, row 4, field 'gb_id': a GB/T 28181 id (国标编码) has 20 digits, "
        "got '4114020000132000003'; store the column as text in Excel",
        "ledger-public-security.csv, row 5, field 'lat/lon': "
        "0, 0 is a placeholder, not a position; fill in both or leave both empty",
    ],
    "invalid-ledger-header-only.yaml": [
        "ledger-header-only.csv, row 1: no cameras: the ledger has only its header",
    ],
    "invalid-ledger-quote.yaml": [
        'ledger-quote.csv, row 3: a quote (") opens a cell here and is never closed',
    ],
    "invalid-ledger-rows.yaml": [
        "ledger-rows.csv, row 4, field 'lat/lon': lat 115.655 and lon 34.415 look swapped; "
        "exchange the two columns",
        "ledger-rows.csv, row 5, field 'id': missing id",
        "ledger-rows.csv, row 6, field 'id': duplicate id 'k2' (first at row 3)",
        "ledger-rows.csv, row 7, field 'lon': "
        "Input should be a valid number, unable to parse string as a number (got '115.65.1')",
        "ledger-rows.csv, row 7, field 'range': "
        "Input should be a valid number, unable to parse string as a number (got '八十')",
        "ledger-rows.csv, row 9: cells in column(s) 8 have no header",
    ],
    # The coverage map's tile server: a local XYZ template, checked where it is written.
    "invalid-basemap.yaml": [
        "invalid-basemap.yaml, line 4, field 'coverage.basemap.tiles': "
        "tile URL must contain {z}, {x} and {y} (or {-y}); 'http://10.1.2.3/tiles/{z}/{x}.png' lacks {y}",
        "invalid-basemap.yaml, line 5, field 'coverage.basemap.max_zoom': "
        "Input should be less than or equal to 24 (got 30)",
        "invalid-basemap.yaml, line 6, field 'coverage.basemap.attributions': unknown field; "
        "did you mean 'attribution'? (known: tiles, attribution, max_zoom)",
    ],
    # map.html is read by everyone it is sent to: the login is refused and not repeated.
    "invalid-basemap-login.yaml": [
        "invalid-basemap-login.yaml, line 4, field 'coverage.basemap.tiles': "
        "a tile URL must not carry a user or password; serve the tiles without a login",
    ],
    "invalid-basemap-scheme.yaml": [
        "invalid-basemap-scheme.yaml, line 3, field 'coverage.basemap.tiles': "
        "tile URL scheme must be http or https, got 'tiles/{z}/{x}/{y}.png'",
    ],
    "invalid-ledger-yaml.yaml": [
        "ledger-syntax.yaml, line 4: invalid YAML: did not find expected ',' or ']' "
        "(while parsing a flow sequence at line 4)",
    ],
}


def test_yaml_is_parsed_by_libyaml() -> None:
    # The syntax-error messages above are libyaml's (PyYAML's wheels bundle it; the pure parser words differ).
    assert yaml.__with_libyaml__


def test_every_invalid_file_has_a_case() -> None:
    assert sorted(p.name for p in TESTDATA.glob("invalid-*.yaml")) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_invalid_config_reports_every_problem(name: str) -> None:
    environ = {"CAMWATCH_TEST_CAM2": "pw-for-cam2"}
    with pytest.raises(ConfigError) as caught:
        load_config(TESTDATA / name, environ=environ)
    shown = [str(p).replace(f"{TESTDATA}/", "") for p in caught.value.problems]
    assert shown == CASES[name]
    # The exception text and the CLI text carry the same lines.
    assert str(caught.value).splitlines() == [str(p) for p in caught.value.problems]
    assert describe_problems(caught.value).splitlines()[1:] == [f"  {p}" for p in caught.value.problems]


def test_problem_parts_are_structured() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(TESTDATA / "invalid-duplicate-id.yaml", environ={})
    (problem,) = caught.value.problems
    assert (Path(problem.file).name, problem.where, problem.field) == (
        "invalid-duplicate-id.yaml",
        "line 6",
        "id",
    )


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "nope.yaml")
    assert str(caught.value) == f"{tmp_path / 'nope.yaml'}: config file not found"
