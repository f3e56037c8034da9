"""The assessment (考核) rules of ``reports.assessment``: figures with targets and weights, deductions, bands.

No national standard fixes one formula, so the scorecard is configuration. A deduction's ``when`` is a small
fixed grammar — ``FIGURE OP NUMBER`` (``fault_hours > 8``, ``online_rate < 95%``) — parsed and checked here,
at load, and never evaluated as code. The defaults follow a common provincial scorecard and are an example to
adapt: 50 points for 在线率 against 95 %, 50 for 完好率 against 90 %, −1 point per channel with more than 8
fault-hours in the period, ≥ 90 pass, 80–90 fair, < 80 fail.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

FigureName = Literal["online_rate", "working_rate", "video_quality_rate", "recording_rate"]
"""Figures that earn points: 在线率, 完好率, 视频质量合格率 (online time with a good picture), 录像完整率
(footage held ÷ footage due, from the recording checks)."""

# What a deduction's `when` may test, per unit it counts: a channel (one camera) or an assessed group
# (an area, or a contractor's cameras). Rates are 0..1; hours are hours inside the period.
CHANNEL_FIGURES = (
    "fault_hours",
    "offline_hours",
    "online_rate",
    "working_rate",
    "recording_rate",
    "episodes",
)
GROUP_FIGURES = (
    "online_rate",
    "working_rate",
    "video_quality_rate",
    "recording_rate",
    "fault_hours",
    "offline_hours",
    "cameras",
)
RATE_FIGURES = frozenset({"online_rate", "working_rate", "video_quality_rate", "recording_rate"})

_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
_CONDITION = re.compile(r"^\s*([a-z_]+)\s*(<=|>=|==|!=|<|>)\s*(\d+(?:\.\d+)?)\s*(%?)\s*$")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Condition(_Frozen):
    """``figure op value``, e.g. ``fault_hours > 8``; a rate may be written ``95%`` or ``0.95``."""

    figure: str
    op: Literal["<", "<=", ">", ">=", "==", "!="]
    value: float

    def holds(self, figures: dict[str, float | None]) -> bool:
        """Whether the condition holds; a figure with no value (nothing monitored) never matches."""
        x = figures.get(self.figure)
        return x is not None and _OPERATORS[self.op](x, self.value)

    def text(self) -> str:
        value = f"{100 * self.value:g} %" if self.figure in RATE_FIGURES else f"{self.value:g}"
        return f"{self.figure} {self.op} {value}"


def parse_condition(text: str, allowed: tuple[str, ...]) -> Condition:
    """A :class:`Condition` from ``text``; ValueError naming what is wrong and what is allowed."""
    m = _CONDITION.match(text)
    if not m:
        raise ValueError(
            "`when` must read FIGURE OP NUMBER, such as 'fault_hours > 8' or 'online_rate < 95%', "
            f"got {text!r}"
        )
    figure, op, number, percent = m.groups()
    if figure not in allowed:
        raise ValueError(f"`when` tests {figure!r}, which is not one of {', '.join(allowed)}")
    value = float(number) / (100 if percent else 1)
    if percent and figure not in RATE_FIGURES:
        raise ValueError(f"`when`: {figure} is not a rate, so {number}% means nothing; write a number")
    if figure in RATE_FIGURES and value > 1:
        raise ValueError(f"`when`: {figure} is a rate between 0 and 1 (or a percentage), got {number}")
    return Condition(figure=figure, op=op, value=value)


class FigureWeight(_Frozen):
    """A figure's target and the points it is worth; it earns ``weight × min(1, value ÷ target)``."""

    target: float = Field(gt=0, le=1)
    weight: float = Field(ge=0)


class Deduction(_Frozen):
    """``points`` off for every channel (``per: channel``) or once for the assessed group (``per: area``)
    for which ``when`` holds; ``max_points`` caps what one rule takes off a group."""

    per: Literal["channel", "area"]
    when: Condition
    points: float = Field(gt=0)
    max_points: float | None = Field(None, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _parse_when(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("when"), str):
            allowed = CHANNEL_FIGURES if data.get("per") == "channel" else GROUP_FIGURES
            data = {**data, "when": parse_condition(data["when"], allowed)}
        return data


class Bands(_Frozen):
    """Score bands: ``pass`` and above pass, ``fair`` up to ``pass`` is fair, below ``fair`` fails."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    pass_: float = Field(90, alias="pass", ge=0, le=100)
    fair: float = Field(80, ge=0, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> Bands:
        if self.fair > self.pass_:
            raise ValueError(f"bands: fair ({self.fair:g}) must not be above pass ({self.pass_:g})")
        return self

    def band(self, score: float) -> str:
        return "pass" if score >= self.pass_ else "fair" if score >= self.fair else "fail"


def _default_figures() -> dict[FigureName, FigureWeight]:
    return {
        "online_rate": FigureWeight(target=0.95, weight=50),
        "working_rate": FigureWeight(target=0.90, weight=50),
    }


def _default_deductions() -> list[Deduction]:
    return [Deduction(per="channel", when=parse_condition("fault_hours > 8", CHANNEL_FIGURES), points=1)]


class AssessmentSettings(_Frozen):
    """``reports.assessment``: what counts, how much, what costs points, and where the bands lie."""

    figures: dict[FigureName, FigureWeight] = Field(default_factory=_default_figures)
    deductions: list[Deduction] = Field(default_factory=_default_deductions)
    bands: Bands = Bands()

    @field_validator("figures")
    @classmethod
    def _out_of_100(cls, v: dict[FigureName, FigureWeight]) -> dict[FigureName, FigureWeight]:
        if not v:
            raise ValueError("name at least one figure (online_rate, working_rate, video_quality_rate)")
        total = sum(f.weight for f in v.values())
        if abs(total - 100) > 1e-6:
            raise ValueError(
                f"the figures' weights add up to {total:g}; they are the points of a score out of 100"
            )
        return v
