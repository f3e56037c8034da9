"""Validate ledger records into cameras: streams, logins, addresses and positions (``CameraBuilder``)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from numpy.typing import NDArray
from pydantic import ValidationError

from camwatch.config.coords import to_wgs84
from camwatch.config.credentials import Profile, SecretUnavailable, UrlLogin, read_password, split_userinfo
from camwatch.config.errors import Problem
from camwatch.config.ledgers import RawRecord
from camwatch.config.models import Camera, Stream
from camwatch.config.recorders import Recorder
from camwatch.config.records import CameraRecord, halfwidth, validation_reason
from camwatch.config.redact import mask_url


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


_DOTTED_NUMBERS = re.compile(r"[\d.]+")


def _check_ip(host: str) -> None:
    """Refuse a host that is meant as an IPv4 address but is none (``10.0.0.999``, ``10.0.1``): resolving it
    as a name would only fail at probe time, far from the ledger row."""
    if _DOTTED_NUMBERS.fullmatch(host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise ValueError(f"not a valid IPv4 address: {host!r}") from None


def _stream_url(url: str) -> UrlLogin:
    """Check an RTSP URL and take its userinfo out; ``ValueError`` says what is wrong (never the password).

    The userinfo is taken out first: what is checked, and what a parser's own error text can quote, is then
    only the camera's address."""
    login = split_userinfo(url)
    shown = mask_url(url)
    try:
        parts = urlsplit(login.url)
        parts.port  # noqa: B018 - parsing the port raises ValueError for a bad one
    except ValueError as exc:
        raise ValueError(f"not a valid URL ({exc}): {shown!r}") from None
    if parts.scheme.lower() not in ("rtsp", "rtsps"):
        raise ValueError(f"URL scheme must be rtsp or rtsps, got {shown!r}")
    if not parts.hostname:
        raise ValueError(f"URL has no host: {shown!r}")
    _check_ip(parts.hostname)
    return login


def _shown_host(host: str) -> str:
    """``host`` as an error may quote it: a login typed into it (``user:password@``) is masked."""
    _login, at, rest = host.rpartition("@")
    return f"***@{rest}" if at else host


def _channel_number(channel: str) -> bool:
    return channel.isascii() and channel.isdigit() and 0 < int(channel) < 10000


def _url_from_host(host: str, port: int, path: str) -> str:
    """``rtsp://host:port/path``; IPv6 literals get their brackets."""
    if not re.fullmatch(r"[A-Za-z0-9.\-:%\[\]]+", host):
        raise ValueError(f"not a host name or IP address: {_shown_host(host)!r}")
    bare = host.strip("[]")
    try:
        literal = ipaddress.ip_address(bare.split("%")[0])
    except ValueError:
        literal = None
    if literal is None and ":" in host:
        raise ValueError(f"give the port in rtsp_port, not in the host: {host!r}")
    _check_ip(bare)
    netloc = f"[{bare}]" if literal is not None and literal.version == 6 else bare
    return f"rtsp://{netloc}:{port}/{path.lstrip('/')}"


_NO_ADDRESS = (
    "nothing to probe: no rtsp_url, host (IP), onvif_host, snapshot_url or gb_id; fill one in, "
    "or mark a camera that is not on the network with 是否联网 = 否 (networked: false)"
)
# Refused rather than counted offline: the camera is not down, nothing would ever report on it, and a 0 %
# camera that only a missing config section made would pull its township's 在线率 down and send someone to
# fix it.
_NO_PLATFORM = (
    "linked to GB/T 28181 by its gb_id (国标编码) only, but the config has no gb28181: section, so nothing "
    "would ever report its status; add a gb28181: section (README: GB/T 28181), fill in its IP, or mark it "
    "是否联网 = 否 (networked: false)"
)


@dataclass
class CameraBuilder:
    """Turns raw records into ``Camera`` models, collecting every problem instead of stopping at the first.

    ``profiles`` are the resolved ``credentials:`` entries; ``default`` applies to cameras naming none.
    """

    profiles: Mapping[str, Profile]
    # Whether every networked camera needs something to probe (a stream or an ONVIF address).
    require_address: bool = False
    # Whether a GB/T 28181 platform is configured: without one, a camera linked only by gb_id is unwatched.
    gb28181_platform: bool = True
    # The config's ``recorders:`` by id: a row's ``recorder`` must name one of them.
    # (None: a recorder whose entry is invalid, already reported.)
    recorders: Mapping[str, Recorder | None] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # Cameras whose rtsp_url carried a password (reported as one warning, never with the password).
    url_passwords: list[str] = field(default_factory=list)
    _profile_users: dict[str, list[str]] = field(default_factory=dict)
    # (field, reason) of a camera's own password reference that failed → the records naming it.
    _password_failures: dict[tuple[str, str], list[RawRecord]] = field(default_factory=dict)

    def build(
        self, records: Iterable[RawRecord], *, base_dir: Path, environ: Mapping[str, str] | None
    ) -> list[Camera]:
        """Cameras from ``records``; ``environ`` None leaves passwords unresolved (and unchecked)."""
        drafts = [d for r in records if (d := self._draft(r, base_dir=base_dir, environ=environ))]
        self._check_duplicates(drafts)
        self._report_profile_failures()
        self._report_password_failures()
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

    def _draft(
        self, record: RawRecord, *, base_dir: Path, environ: Mapping[str, str] | None
    ) -> _Draft | None:
        count = len(self.problems)
        bad: set[str | int] = set()
        record = replace(record, values=halfwidth(record.values))
        if "id" not in record.values and "gb_id" in record.values:
            # Public-security ledgers often identify cameras by their GB/T 28181 id alone.
            record = replace(record, values={**record.values, "id": record.values["gb_id"]})
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
        self._recorder(record, rec, fields)
        login = self._stream(record, rec, fields)
        logged_in = self._login(record, rec, login, fields, base_dir=base_dir, environ=environ)
        if (rec.lat is None) != (rec.lon is None) and not bad & {"lat", "lon"}:
            missing = "lon" if rec.lon is None else "lat"
            self.problems.append(
                record.problem(missing, f"{missing} is missing while the other coordinate is given")
            )
        return _Draft(record, fields) if logged_in and len(self.problems) == count else None

    def _recorder(self, record: RawRecord, rec: CameraRecord, fields: dict[str, Any]) -> None:
        """Replace the row's recorder id by the configured recorder; its channel must fit the recorder."""
        fields["recorder"] = None
        if rec.recorder is None:
            if rec.recorder_channel is not None:
                self.problems.append(record.problem("recorder", "recorder_channel is given but no recorder"))
            return
        if rec.recorder in self.recorders and self.recorders[rec.recorder] is None:
            return
        found = self.recorders.get(rec.recorder)
        if found is None:
            known = ", ".join(sorted(self.recorders)[:20]) or "none are configured"
            reason = f"unknown recorder {rec.recorder[:80]!r}; the config's recorders: {known}"
            self.problems.append(record.problem("recorder", reason))
            return
        channel = rec.recorder_channel
        if channel is None:
            if found.kind == "isapi":  # an ONVIF device holding one recording needs no token
                self.problems.append(record.problem("recorder_channel", f"required with recorder {found.id}"))
        elif found.kind == "isapi" and not _channel_number(channel):
            reason = f"an ISAPI recorder's channel is a number from 1 to 9999, got {channel[:40]!r}"
            self.problems.append(record.problem("recorder_channel", reason))
        fields["recorder"] = found

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
                record.problem(
                    "host", f"host {_shown_host(rec.host)!r} differs from the host in rtsp_url ({url_host})"
                )
            )
        # ONVIF is probed only where the ledger says the device speaks it (a host or a port), not on
        # every RTSP camera's port 80: a probe per camera that can only fail is load and noise.
        fields["onvif_host"] = rec.onvif_host or (url_host if rec.onvif_port is not None else None)
        fields["onvif_port"] = rec.onvif_port or 80
        if rec.onvif_host:
            try:
                _check_ip(rec.onvif_host)
            except ValueError as exc:
                self.problems.append(record.problem("onvif_host", str(exc)))
        # A camera with a GB/T 28181 id is watched through the platform it registers with.
        reached = Camera.reached_by(fields)
        if self.require_address and rec.networked and not reached:
            self.problems.append(record.problem(None, _NO_ADDRESS))
        elif self.require_address and rec.networked and not self.gb28181_platform and reached == ("gb_id",):
            self.problems.append(record.problem("gb_id", _NO_PLATFORM))
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
        environ: Mapping[str, str] | None,
    ) -> bool:
        """Username and password, each from the first source that has one: the camera's own fields, its URL's
        userinfo, then its named profile (or ``default``). ``environ`` None: the camera's own reference is
        not read. False when the login is unusable (the problem is recorded)."""
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
                return False
        else:
            profile = self.profiles.get("default")
        try:
            own = (
                read_password(
                    password_env=rec.password_env,
                    password_file=rec.password_file,
                    base_dir=base_dir,
                    environ=environ,
                )
                if environ is not None
                else None
            )
        except SecretUnavailable as exc:
            # Reported once per reference (one unset variable named by 5,000 rows is one problem).
            self._password_failures.setdefault((exc.field, exc.reason), []).append(record)
            return False
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
            return False
        fields["username"], fields["password"] = username, password
        return True

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

    def _report_password_failures(self) -> None:
        for (field_name, reason), records in self._password_failures.items():
            first = records[0]
            more = f" (and {len(records) - 1} more camera{'s' if len(records) != 2 else ''})"
            self.problems.append(first.problem(field_name, reason + (more if len(records) > 1 else "")))

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
    for i in np.flatnonzero((lat == 0) & (lon == 0)):
        # What an export writes for "no position": a point in the Gulf of Guinea would skew every map.
        found[int(i)] = ("lat/lon", "0, 0 is a placeholder, not a position; fill in both or leave both empty")

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
