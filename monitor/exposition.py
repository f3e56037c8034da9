"""Prometheus text exposition written directly, byte for byte as prometheus_client's ``generate_latest``."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.utils import floatToGoString


def escape_label_value(value: str) -> str:
    """Backslash, newline and double quote escaped, as the text format requires inside label values."""
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def label_pairs(labels: Iterable[tuple[str, str]]) -> str:
    """``a="x",b="y"`` (no braces), names sorted as prometheus_client writes them."""
    return ",".join(f'{name}="{escape_label_value(value)}"' for name, value in sorted(labels))


def format_value(value: float) -> str:
    """A sample value as prometheus_client writes it (``1.0``, ``-0.5``, ``+Inf``, ``NaN``, ``1.5e+09``)."""
    if -1e6 < value < 1e6:  # Python's repr, as floatToGoString writes such values, without its detours
        return repr(float(value))
    return floatToGoString(value)


def family_header(name: str, kind: str, doc: str) -> str:
    """``# HELP`` and ``# TYPE`` lines; ``name`` as exposed (a counter's ends in ``_total``)."""
    escaped = doc.replace("\\", r"\\").replace("\n", r"\n")
    return f"# HELP {name} {escaped}\n# TYPE {name} {kind}\n"
