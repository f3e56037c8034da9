"""The language of the generated dashboards and rules: English, or Chinese (``--lang zh``) from one table.

Dashboards are written in English in the builders; :func:`t` looks each text up in :data:`ZH`, keyed by the
English. Alerts are keyed by their name: ``alert(...)`` in ``_rules.py`` takes its English summary and
description, and in Chinese those of :data:`ZH_ALERTS`. Generating in Chinese fails, naming the text, for
anything missing from either table: add a panel or an alert, add its row here.

Chinese dashboards get their own uids and tag (``-zh``) so that both languages can be provisioned side by
side; their links and the Chinese alerts' links point at the Chinese dashboards.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from string import Template

from camwatch.dashboards._zh import ZH, ZH_ALERTS, ZH_UNITS

LANGS = ("en", "zh")
_LANG: ContextVar[str] = ContextVar("camwatch_dashboards_lang", default="en")
# What is left of a legend or title once Grafana and Go placeholders are gone: nothing to translate when
# there is no letter (``{{county}} {{township}}``).
_PLACEHOLDERS = re.compile(r"\{\{[^}]*\}\}|\$\{[^}]*\}|\$\w+")


class MissingTranslation(LookupError):
    """A dashboard text or alert with no Chinese in ``dashboards/_zh.py``."""


@contextmanager
def language(lang: str) -> Iterator[None]:
    """Build dashboards and rules in ``lang`` (``en`` or ``zh``) inside this block."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; use one of {', '.join(LANGS)}")
    token = _LANG.set(lang)
    try:
        yield
    finally:
        _LANG.reset(token)


def current() -> str:
    """The language being generated."""
    return _LANG.get()


def t(text: str) -> str:
    """``text`` (English) in the language being generated."""
    if _LANG.get() == "en" or not re.search(r"[A-Za-z]", _PLACEHOLDERS.sub("", text)):
        return text
    try:
        return ZH[text]
    except KeyError:
        raise MissingTranslation(
            f"no Chinese for dashboard text {text!r}: add it to ZH in dashboards/_zh.py"
        ) from None


def uid(base: str) -> str:
    """A dashboard uid (or tag) in the language being generated: the Chinese ones end in ``-zh``."""
    return base if _LANG.get() == "en" else f"{base}-zh"


def alert_texts(name: str, summary: str, description: str, **fills: str) -> tuple[str, str]:
    """The summary and description of alert ``name``: the English given, or the Chinese of
    :data:`ZH_ALERTS` with its ``${name}`` placeholders (durations, shared templates) filled from ``fills``;
    Go templates (``{{ $labels.camera }}``) pass through untouched."""
    if _LANG.get() == "en":
        return summary, description
    try:
        zh_summary, zh_description = ZH_ALERTS[name]
    except KeyError:
        raise MissingTranslation(
            f"no Chinese for alert {name}: add its summary and description to ZH_ALERTS in dashboards/_zh.py"
        ) from None
    if "duration" in fills:
        fills = {**fills, "duration": _duration(fills["duration"])}
    return Template(zh_summary).safe_substitute(fills), Template(zh_description).safe_substitute(fills)


def _duration(value: str) -> str:
    """A rule duration such as ``5m`` as Chinese reads it (``5 分钟``)."""
    number, unit = value[:-1], value[-1]
    return f"{number} {ZH_UNITS[unit]}" if number.isdigit() and unit in ZH_UNITS else value
