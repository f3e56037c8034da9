"""The GB/T 28181 families of /metrics, built at scrape time from the platform's registry (no I/O)."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from camwatch.monitor.gb28181.alarms import KINDS as ALARM_KINDS
from camwatch.monitor.gb28181.platform import Platform


class Gb28181Collector(Collector):
    def __init__(self, platform: Platform):
        self.platform = platform

    def describe(self) -> Iterable[Metric]:
        return []  # keeps the registry from calling collect() at registration

    def collect(self) -> Iterable[Metric]:
        p = self.platform
        now = p.clock()
        up = GaugeMetricFamily(
            "camwatch_gb28181_device_up",
            "1 while the GB/T 28181 device or lower platform is registered and keeping alive.",
            labels=["device"],
        )
        age = GaugeMetricFamily(
            "camwatch_gb28181_keepalive_age_seconds",
            "Seconds since the device's last keepalive (or registration).",
            labels=["device"],
        )
        channels = GaugeMetricFamily(
            "camwatch_gb28181_channels",
            "Channels in the device's catalog, by effective state (up, down).",
            labels=["device", "state"],
        )
        unknown = GaugeMetricFamily(
            "camwatch_gb28181_unknown_channels",
            "Channels of the device that no ledger camera links by gb_id.",
            labels=["device"],
        )
        offset = GaugeMetricFamily(
            "camwatch_gb28181_clock_offset_seconds",
            "Device clock (DeviceStatus DeviceTime) minus monitor clock.",
            labels=["device"],
        )
        for device in p.devices.values():
            up.add_metric([device.id], 1 if device.online else 0)
            age.add_metric([device.id], max(0.0, now - device.last_keepalive))
            n_up = sum(1 for c in device.channels.values() if device.effective(c))
            channels.add_metric([device.id, "up"], n_up)
            channels.add_metric([device.id, "down"], len(device.channels) - n_up)
            unknown.add_metric([device.id], device.unknown)
            if device.clock_offset is not None:
                offset.add_metric([device.id], device.clock_offset)
        messages = CounterMetricFamily(
            "camwatch_gb28181_messages",
            "SIP messages handled, by method (or MANSCDP command) and outcome.",
            labels=["method", "outcome"],
        )
        for (method, outcome), n in sorted(p.messages.items()):
            messages.add_metric([method, outcome], n)
        dropped = CounterMetricFamily(
            "camwatch_gb28181_dropped",
            "SIP input dropped unanswered or refused, by reason (a closed set: malformed, wrong_contact, …).",
            labels=["reason"],
        )
        for reason, n in sorted(p.dropped.items()):
            dropped.add_metric([reason], n)
        alarms = CounterMetricFamily(
            "camwatch_gb28181_alarms",
            "Alarm notifications accepted from devices, by kind (disk_full, disk_failure, other).",
            labels=["kind"],
        )
        for kind in ALARM_KINDS:
            alarms.add_metric([kind], p.alarms[kind])
        return [up, age, channels, unknown, offset, messages, dropped, alarms]
