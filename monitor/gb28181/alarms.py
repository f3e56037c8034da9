"""Alarm notifications (GB/T 28181 §9.4): a device's ``MESSAGE`` with ``<Notify><CmdType>Alarm``, answered
200 OK and then with a ``<Response><CmdType>Alarm`` carrying ``Result OK`` (A.2.6, 报警通知应答).

An alarm counts only from the registered contact of the device that sent it (``Platform`` checks that on
the headers) and only about that device or a channel it owns (the owner the recording check asks): a
neighbour's alarm for another's channel is dropped (``not_owner``). Two alarms are about storage, named by
``AlarmMethod`` and ``Info/AlarmType`` as the alarm-type table of GB/T 28181-2016 (A.2.3.1.6, the
``AlarmType`` of 报警复位; kept in the 2022 edition) gives them: method 2 (设备报警) type 3 =
存储设备磁盘满报警 (disk full), and method 6 (设备故障报警) type 1 = 存储设备磁盘故障报警 (disk failure).
Every other alarm (method 2 type 6 included: not in the table) is answered and counted as ``other``. The
latest of each storage kind is kept per device (two stamps, camwatch's clock when it came: ``AlarmTime`` is
the device's local time and may be skewed), so a flood costs one parse per message and no memory; our
``Response`` MESSAGEs are bounded per device (``limits.ALARM_ANSWER_RATE``), the rest not sent and counted
as ``alarm_rate`` — the alarm itself still counts.

The recording check reads a storage alarm for ``HOLD`` after the latest one. An alarm notification has no
"cleared" state, so a repaired disk stops alarming and the fault lifts a day later; a day, not two check
intervals, so that an alarm an NVR sends once still pages (``RecorderStorageFault`` waits its ``for:``) and
is there for the next day's duty officer. Only a disk failure is ``storage_fault``: a GB/T device does not
say whether it overwrites, and NVRs overwrite by default (a full disk that overwrites is their steady state;
ISAPI's full disk with overwrite on is no fault either); a full disk that stops the recording is seen as
``recording_stopped``. A disk-full alarm is kept in details and counted.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from camwatch.config.models import Gb28181Settings
from camwatch.monitor.gb28181 import manscdp, sip
from camwatch.monitor.gb28181.devices import Device

KINDS = ("disk_full", "disk_failure", "other")  # camwatch_gb28181_alarms_total{kind}: a closed set
_STORAGE = {("2", "3"): "disk_full", ("6", "1"): "disk_failure"}  # (AlarmMethod, AlarmType)
REASONS = {"disk_failure": "disk failure", "disk_full": "disk full"}  # most severe first
FAULT = "disk_failure"  # the storage alarm that is storage_fault
HOLD = 86400.0  # seconds a storage alarm is read after the latest one
DISK = "alarm"  # the disk name of camwatch_recorder_disk_ok for a device alarming a failed disk


def kind(doc: manscdp.Manscdp) -> str:
    """The alarm's kind: ``disk_full``/``disk_failure`` for those storage alarms, else ``other``."""
    return _STORAGE.get((doc.alarm_method, doc.alarm_type), "other")


def held(device: Device | None, now: float) -> dict[str, float]:
    """The device's storage alarms still read at ``now``: kind -> seconds since the latest."""
    if device is None:
        return {}
    # A stamp ahead of ``now`` (our clock stepped back) still holds: age 0.
    return {k: max(0.0, now - t) for k, t in device.storage_alarms.items() if now - t < HOLD}


def details(device_id: str, alarms: Mapping[str, float]) -> dict[str, object]:
    """The recording check's details for held storage alarms: the most severe one's reason and age, and for
    a disk failure the recorder's failed disk (``camwatch_recorder_disk_ok``: one page per device)."""
    worst = next(k for k in REASONS if k in alarms)
    found: dict[str, object] = {
        "storage_alarm": REASONS[worst],
        "storage_alarm_age_seconds": round(alarms[worst]),
    }
    if FAULT in alarms:
        disk = {"disk": DISK, "status": REASONS[FAULT], "ok": False}
        found.update(recorder=device_id, disks=[{**disk, "capacity_bytes": None, "free_bytes": None}])
    return found


def response(
    device: Device, doc: manscdp.Manscdp, settings: Gb28181Settings, local: tuple[str, int]
) -> bytes:
    """The platform's ``Response`` to an alarm (its SN and DeviceID: a number and a checked id, no text)."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\r\n<Response>\r\n<CmdType>Alarm</CmdType>\r\n'
        f"<SN>{doc.sn}</SN>\r\n<DeviceID>{doc.device_id}</DeviceID>\r\n<Result>OK</Result>\r\n</Response>\r\n"
    ).encode()
    device.cseq += 1
    host, port = device.address
    return sip.request(
        "MESSAGE",
        uri=f"sip:{device.id}@{host}:{port}",
        from_uri=f"sip:{settings.id}@{settings.domain}",
        to_uri=f"sip:{device.id}@{settings.domain}",
        via=f"{device.transport} {local[0]}:{local[1]}",
        cseq=device.cseq,
        call_id=secrets.token_hex(12),
        body=body,
    )
