"""Load and validate a camwatch config file and its camera inventory into one immutable ``Config``.

The order follows blackbox_exporter's config loading: defaults come from the models, unknown fields are
refused, then cross-field checks run — but every problem is collected and raised together, each with its file,
line or row, and field. Loading is pure: it returns a new ``Config`` or raises, and touches no running state,
so a reload can swap configs atomically or keep the old one.
"""

from __future__ import annotations

import difflib
import logging
import os
import pickle
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from camwatch.config.columns import ColumnMap, known_fields, unknown_targets
from camwatch.config.credentials import (
    Profile,
    SecretUnavailable,
    load_profile,
    read_password,
    resolve_path,
)
from camwatch.config.errors import ConfigError, Problem
from camwatch.config.inventory import CameraBuilder
from camwatch.config.ledgers import Records, apply_defaults, read_inventory, records_from_yaml
from camwatch.config.models import (
    Camera,
    Config,
    CoverageSettings,
    CredentialRef,
    Frozen,
    Gb28181Device,
    Gb28181Settings,
    MonitorSettings,
    ReportSettings,
)
from camwatch.config.recorders import NOT_YET, Recorder
from camwatch.config.records import CameraRecord, validation_reason
from camwatch.config.yamldoc import YamlDocument, parse_yaml

log = logging.getLogger(__name__)


class InventorySource(Frozen):
    """``cameras:`` in its long form: a ledger file and how to read it."""

    file: Path
    # XLSX only: the sheet to read (default: the first).
    sheet: str | None = None
    # Extra header → field mappings for this ledger's own column names (a field name, or ``ignore``).
    columns: dict[str, str] = Field(default_factory=dict)
    # Values for fields a ledger leaves empty, e.g. {crs: gcj02, rtsp_path: /Streaming/Channels/101}.
    defaults: dict[str, Any] = Field(default_factory=dict)
    # Unknown columns are errors (a strict ledger), instead of being left out with one warning.
    strict: bool = False


# Top-level sections other than ``cameras``, each validated on its own so one bad section hides nothing else.
_SECTIONS: dict[str, Any] = {
    "credentials": dict[str, CredentialRef],
    "monitor": MonitorSettings,
    "coverage": CoverageSettings,
    "reports": ReportSettings,
    "gb28181": Gb28181Settings,
}
# ``recorders:`` is a list validated entry by entry: one bad recorder hides neither the others nor its rows.
_TOP_LEVEL = ("cameras", *_SECTIONS, "recorders")


def load_config(
    path: Path,
    *,
    environ: Mapping[str, str] | None = None,
    resolve_secrets: bool = True,
    require_address: bool = False,
) -> Config:
    """Read ``path`` and everything it names into a validated ``Config``.

    Relative paths (inventory, state, coverage layers, password files, TLS files) resolve against the config
    file's folder. Passwords come from ``environ`` (default: the process environment) or password files.
    With ``resolve_secrets=False`` (commands that never talk to a camera: reports, coverage, maintenance)
    password references are not read at all, so an unset variable is no error and every ``password`` is None.
    ``require_address`` (commands that probe): a networked camera with nothing to probe is a problem; a
    planning inventory (positions only, e.g. from ``camwatch import osm``) is fine without.

    Raises
    ------
    ConfigError
        With every problem found, sorted by file and line/row.
    """
    path = Path(path)
    file = str(path)
    env = os.environ if environ is None else environ
    base_dir = path.absolute().parent
    doc = _read(path)
    data: dict[str, Any] = doc.data
    problems: list[Problem] = []
    sections = _sections(data, doc, file, problems)
    profiles = {
        name: load_profile(
            name,
            ref,
            base_dir=base_dir,
            environ=env if resolve_secrets else None,
            file=file,
            where=doc.line_of(("credentials", name)),
        )
        for name, ref in sections.get("credentials", {}).items()
    }
    inputs: list[Path] = []
    recorders = _recorders(
        data.get("recorders"), base_dir, env if resolve_secrets else None, doc, file, problems, inputs
    )
    cameras = _load_cameras(
        data,
        doc,
        file,
        base_dir=base_dir,
        profiles=profiles,
        environ=env if resolve_secrets else None,
        require_address=require_address,
        problems=problems,
        inputs=inputs,
        recorders=recorders,
    )
    monitor = _monitor_paths(sections.get("monitor", MonitorSettings()), base_dir, doc, file, problems)
    coverage = _coverage_paths(sections.get("coverage"), base_dir, doc, file, problems)
    # Commands that talk to no device (reports, maintenance) run where the platform's password is not set.
    gb28181 = (
        _gb28181_passwords(sections.get("gb28181"), base_dir, env, doc, file, problems, inputs)
        if resolve_secrets
        else sections.get("gb28181")
    )

    if problems:
        raise ConfigError(sort_problems(problems))
    _share_repeats(cameras)
    packed = pickle.dumps(
        Config(
            source=path.absolute(),
            cameras=tuple(cameras),
            inputs=tuple(inputs),
            monitor=monitor,
            coverage=coverage,
            reports=sections.get("reports", ReportSettings()),
            gb28181=gb28181,
            recorders=tuple(r for r in recorders.values() if r is not None),
        ),
        protocol=pickle.HIGHEST_PROTOCOL,
    )
    # Loading peaks at several times the size of its result (YAML node tree, raw and checked records), and
    # the result's many small objects end up spread over all of that memory, so the allocator could give
    # none of it back. Rebuilt from bytes once every object of the load is gone, the result lands in fresh
    # memory and the rest goes back to the system (10,000 cameras: ≈ 175 MB kept before, ≈ 75 MB now).
    del cameras
    config: Config = pickle.loads(packed)
    return config


def _read(path: Path) -> YamlDocument:
    """The config file parsed, its top level a mapping; ``ConfigError`` otherwise."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([Problem(file, None, None, "config file not found" + did_you_mean(path))]) from None
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError([Problem(file, None, None, f"cannot read config file: {why}")]) from None
    doc = parse_yaml(text, file)
    if not isinstance(doc.data, dict):
        raise ConfigError(
            [Problem(file, doc.line_of(()), None, "expected a mapping with at least 'cameras:'")]
        )
    return doc


def _sections(data: dict[str, Any], doc: YamlDocument, file: str, problems: list[Problem]) -> dict[str, Any]:
    """The top-level sections other than ``cameras`` and ``recorders``, each validated on its own; unknown
    top-level keys are problems."""
    for key in data:
        if key not in _TOP_LEVEL:
            problems.append(
                Problem(file, doc.line_of((key,)), str(key), _unknown_field(str(key), _TOP_LEVEL))
            )
    return {
        name: section
        for name, schema in _SECTIONS.items()
        if data.get(name) is not None
        and (section := _validate(schema, data[name], (name,), doc, file, problems)) is not None
    }


def _share_repeats(cameras: Sequence[Camera]) -> None:
    """Make equal values one object across cameras before the result is rebuilt (pickle keeps the sharing).

    A county's ten thousand cameras name a few dozen townships, switches, vendors and sites, and pydantic
    keeps, for every model, the set of fields it was given (2.2 KB), nearly always the same set: shared,
    they cost once (kept after the load: 81 → 64 MB at 10,000 cameras, 340 → 129 MB at 50,000). Only
    equal values are swapped, so nothing changes but memory: the models are frozen, and a copy
    (``model_copy``) gets a set of its own.
    """
    strings: dict[str, str] = {}
    given_sets: dict[frozenset[str], set[str]] = {}
    for camera in cameras:
        values = camera.__dict__
        for key, value in values.items():
            if type(value) is str:
                values[key] = strings.setdefault(value, value)
        given = camera.__pydantic_fields_set__
        shared = given_sets.setdefault(frozenset(given), given)
        object.__setattr__(camera, "__pydantic_fields_set__", shared)


def _ledger_records(
    spec: Any, doc: YamlDocument, file: str, base_dir: Path, problems: list[Problem], inputs: list[Path]
) -> Records | None:
    """The records of ``cameras:`` naming a ledger (a path or ``{file, sheet, columns, defaults}``), its
    defaults applied; None when the entry or the file is unusable (the problem is recorded)."""
    source = _validate(
        InventorySource, {"file": spec} if isinstance(spec, str) else spec, ("cameras",), doc, file, problems
    )
    if source is None:
        return None
    bad_targets = list(unknown_targets(source.columns))
    for header, target in bad_targets:
        where = doc.line_of(("cameras", "columns", header))
        reason = f"unknown field '{target}'; use one of {known_fields()} or ignore"
        problems.append(Problem(file, where, f"cameras.columns.{header}", reason))
    if not _defaults_ok(source.defaults, doc, file, problems):
        return None
    ledger = resolve_path(source.file, base_dir)
    if not ledger.is_file():
        where = doc.line_of(("cameras", "file") if isinstance(spec, dict) else ("cameras",))
        problems.append(
            Problem(file, where, "cameras", f"inventory file not found: {ledger}{did_you_mean(ledger)}")
        )
        return None
    inputs.append(ledger)
    columns = {h: t for h, t in source.columns.items() if (h, t) not in bad_targets}
    records = read_inventory(ledger, columns=ColumnMap.build(columns), sheet=source.sheet)
    if source.strict:
        records.problems += records.unknown
    elif records.unknown:
        _warn_unknown_columns(records.unknown)
    return Records(apply_defaults(records.records, source.defaults), records.problems)


def _load_cameras(
    data: dict[str, Any],
    doc: YamlDocument,
    file: str,
    *,
    base_dir: Path,
    profiles: Mapping[str, Profile],
    environ: Mapping[str, str] | None,
    require_address: bool,
    problems: list[Problem],
    inputs: list[Path],
    recorders: Mapping[str, Recorder | None],
) -> list[Any]:
    """The ``cameras:`` entry: a ledger path, ``{file, sheet, columns, defaults}``, or an inline list.

    The ledger's path is appended to ``inputs`` (the files a reload watches); ``environ`` None: passwords
    are not resolved."""
    spec = data.get("cameras")
    if spec is None:
        problems.append(
            Problem(file, doc.line_of(("cameras",)), "cameras", "required: a ledger file or a list")
        )
        return []
    if isinstance(spec, list):
        records = records_from_yaml(doc, spec, ("cameras",), columns=ColumnMap.build(), file=file)
        # The config's own list: an unknown key is a typo in the config, an error like any unknown field.
        problems.extend(records.unknown)
    else:
        found = _ledger_records(spec, doc, file, base_dir, problems, inputs)
        if found is None:
            return []
        records = found
    problems.extend(records.problems)
    builder = CameraBuilder(
        profiles,
        require_address=require_address,
        gb28181_platform=data.get("gb28181") is not None,
        recorders=recorders,
    )
    cameras = builder.build(records.records, base_dir=base_dir, environ=environ)
    problems.extend(builder.problems)
    if builder.url_passwords:
        # Accepted for ledgers exported from NVR tools, but the password now sits in a file in plain text.
        log.warning(
            "%d camera URL(s) carry a password (first: %s); it was moved out of the URL — "
            "prefer password_env or password_file",
            len(builder.url_passwords),
            builder.url_passwords[0],
        )
    return cameras


def _warn_unknown_columns(unknown: Sequence[Problem]) -> None:
    """One warning for all the columns a ledger has beyond the known ones: they are left out."""
    first = unknown[0]
    log.warning(
        "%s %s: %d unknown column(s) left out: %s; set cameras.strict: true to refuse them",
        first.file,
        first.where,
        len(unknown),
        "; ".join(f"{p.field} ({p.reason.removeprefix('unknown column; ')})" for p in unknown),
    )


def _defaults_ok(defaults: dict[str, Any], doc: YamlDocument, file: str, problems: list[Problem]) -> bool:
    """Check ``cameras.defaults`` once, against the camera record fields, instead of once per row."""
    count = len(problems)
    for key in ("id", "name"):
        if key in defaults:
            problems.append(
                Problem(
                    file,
                    doc.line_of(("cameras", "defaults", key)),
                    f"cameras.defaults.{key}",
                    "is per camera",
                )
            )
    try:
        CameraRecord.model_validate({**defaults, "id": "defaults"})
    except ValidationError as exc:
        problems.extend(_problems(exc, ("cameras", "defaults"), doc, file, CameraRecord))
    return len(problems) == count


def _validate(
    schema: Any,
    value: Any,
    prefix: tuple[str | int, ...],
    doc: YamlDocument,
    file: str,
    problems: list[Problem],
) -> Any:
    """``value`` validated against ``schema`` (a model or type); None, with problems added, when invalid."""
    try:
        return TypeAdapter(schema).validate_python(value)
    except ValidationError as exc:
        problems.extend(_problems(exc, prefix, doc, file, schema))
        return None


def _problems(
    exc: ValidationError, prefix: tuple[str | int, ...], doc: YamlDocument, file: str, schema: Any
) -> list[Problem]:
    out = []
    for error in exc.errors():
        loc = tuple(p for p in error["loc"] if isinstance(p, int) or not _is_tag(p))
        full = (*prefix, *loc)
        if error["type"] == "extra_forbidden":
            # The unknown key is always the raw location's last part, whatever characters it holds.
            reason = _unknown_field(str(error["loc"][-1]), _fields_of(schema, loc[:-1]))
        else:
            reason = validation_reason(error)
        out.append(Problem(file, doc.line_of(full), ".".join(str(p) for p in full), reason))
    return out


_TAG = re.compile(r"[a-z][a-z-]*\[.*\]")


def _is_tag(part: str) -> bool:
    # pydantic adds validator names such as 'function-after[...]' to locations; they are no YAML key.
    return part in ("str", "int", "float", "bool", "[key]") or _TAG.fullmatch(part) is not None


def _unknown_field(name: str, known: tuple[str, ...] | None) -> str:
    if not known:
        return "unknown field"
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"unknown field{hint} (known: {', '.join(known)})"


def _fields_of(schema: Any, path: tuple[Any, ...]) -> tuple[str, ...] | None:
    """The field names of the model that ``path`` leads to inside ``schema``, for 'known:' hints."""
    current = schema
    for part in (*path, None):
        while get_origin(current) is Union or type(current).__name__ == "UnionType":
            current = next(a for a in get_args(current) if a is not type(None))
        if isinstance(current, type) and issubclass(current, BaseModel):
            if part is None:
                return tuple(current.model_fields)
            field_info = current.model_fields.get(str(part))
            if field_info is None:
                return None
            current = field_info.annotation
        elif get_origin(current) in (dict, tuple, list) and part is not None:
            current = get_args(current)[-1 if get_origin(current) is dict else 0]
        else:
            return None
    return None


def did_you_mean(path: Path) -> str:
    """``; did you mean 'cameras.csv'?`` when a file of a close name sits in the same folder (a typo, 台帐 for
    台账, .xls for .xlsx), else ``""``."""
    try:
        names = [p.name for p in path.parent.iterdir() if p.is_file()][:10_000]
    except OSError:
        return ""
    close = difflib.get_close_matches(path.name, names, n=1, cutoff=0.8)
    return f"; did you mean '{close[0]}'?" if close else ""


def _checked_file(
    path: Path, base_dir: Path, loc: tuple[str, ...], doc: YamlDocument, file: str, problems: list[Problem]
) -> Path:
    resolved = resolve_path(path, base_dir)
    if not resolved.exists():
        problems.append(
            Problem(
                file, doc.line_of(loc), ".".join(loc), f"file not found: {resolved}{did_you_mean(resolved)}"
            )
        )
    return resolved


def _monitor_paths(
    monitor: MonitorSettings, base_dir: Path, doc: YamlDocument, file: str, problems: list[Problem]
) -> MonitorSettings:
    web = monitor.web
    tls = {
        name: _checked_file(value, base_dir, ("monitor", "web", name), doc, file, problems)
        for name in ("tls_cert_file", "tls_key_file")
        if (value := getattr(web, name)) is not None
    }
    return monitor.model_copy(
        update={
            "state": resolve_path(monitor.state, base_dir),
            "snapshots": resolve_path(monitor.snapshots, base_dir) if monitor.snapshots else None,
            "web": web.model_copy(update=tls),
        }
    )


def _coverage_paths(
    coverage: CoverageSettings | None, base_dir: Path, doc: YamlDocument, file: str, problems: list[Problem]
) -> CoverageSettings | None:
    if coverage is None:
        return None
    layers = {
        name: _checked_file(value, base_dir, ("coverage", name), doc, file, problems)
        for name in ("roads", "sites", "buildings", "areas")
        if (value := getattr(coverage, name)) is not None
    }
    return coverage.model_copy(update=layers)


def _gb28181_passwords(
    gb: Gb28181Settings | None,
    base_dir: Path,
    environ: Mapping[str, str],
    doc: YamlDocument,
    file: str,
    problems: list[Problem],
    inputs: list[Path],
) -> Gb28181Settings | None:
    """Resolve the shared and per-device password references (password files join the watched inputs)."""
    if gb is None:
        return None
    passwords, failed = {}, False
    refs: list[tuple[str, tuple[str, ...], Gb28181Settings | Gb28181Device]] = [("", ("gb28181",), gb)]
    refs += [(d, ("gb28181", "devices", d), o) for d, o in gb.devices.items()]
    for device, loc, ref in refs:
        try:
            secret = read_password(
                password_env=ref.password_env,
                password_file=ref.password_file,
                base_dir=base_dir,
                environ=environ,
            )
        except SecretUnavailable as exc:
            full = (*loc, exc.field)
            problems.append(Problem(file, doc.line_of(full), ".".join(full), exc.reason))
            failed = True
            continue
        if ref.password_file is not None:
            inputs.append(resolve_path(ref.password_file, base_dir))
        if secret is not None:
            passwords[device] = secret
    if not failed and "" not in passwords and (gb.allow_unknown_devices or set(gb.devices) - set(passwords)):
        reason = "devices authenticate with a password: give password_env or password_file"
        problems.append(Problem(file, doc.line_of(("gb28181",)), "gb28181.password_env", reason))
    return gb.with_passwords(passwords)


def _recorders(
    raw: Any,
    base_dir: Path,
    environ: Mapping[str, str] | None,
    doc: YamlDocument,
    file: str,
    problems: list[Problem],
    inputs: list[Path],
) -> dict[str, Recorder | None]:
    """Recorders by id, each validated on its own, ids unique, kinds spoken, passwords resolved (``environ``
    None: not). An entry that failed maps its id (if it has one) to None: rows naming it are not blamed."""
    if raw is None:
        return {}
    if not isinstance(raw, list):
        problems.append(
            Problem(file, doc.line_of(("recorders",)), "recorders", "expected a list of recorders")
        )
        return {}
    out: dict[str, Recorder | None] = {}
    for index, entry in enumerate(raw):
        where: tuple[str | int, ...] = ("recorders", index)
        recorder = _validate(Recorder, entry, where, doc, file, problems)
        if recorder is None:
            if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                out.setdefault(entry["id"], None)
            continue
        if recorder.id in out:
            reason = f"{recorder.id!r} repeats"
            problems.append(Problem(file, doc.line_of((*where, "id")), f"recorders.{index}.id", reason))
        if recorder.kind in NOT_YET:
            reason = f"kind {recorder.kind} is not yet supported for recorders; use isapi"
            problems.append(Problem(file, doc.line_of((*where, "kind")), f"recorders.{index}.kind", reason))
        secret = None
        if environ is not None:
            try:
                secret = read_password(
                    password_env=recorder.password_env,
                    password_file=recorder.password_file,
                    base_dir=base_dir,
                    environ=environ,
                )
            except SecretUnavailable as exc:
                full = f"recorders.{index}.{exc.field}"
                problems.append(Problem(file, doc.line_of((*where, exc.field)), full, exc.reason))
            if recorder.password_file is not None:
                inputs.append(resolve_path(recorder.password_file, base_dir))
        out.setdefault(recorder.id, recorder.with_password(secret))
    return out


_NUMBER = re.compile(r"\d+")


def sort_problems(problems: list[Problem]) -> list[Problem]:
    """Problems grouped by file (in order of first appearance), then by line/row number."""
    order = {f: i for i, f in reversed(list(enumerate(p.file for p in problems)))}

    def key(p: Problem) -> tuple[int, int]:
        number = _NUMBER.search(p.where or "")
        return order[p.file], int(number.group()) if number else 0

    return sorted(problems, key=key)


def describe_problems(error: ConfigError) -> str:
    """The text ``camwatch check-config`` prints: a count, then one problem per line."""
    count = len(error.problems)
    lines = [f"{count} problem{'s' if count != 1 else ''} found:"]
    lines += [f"  {p}" for p in error.problems]
    return "\n".join(lines)
