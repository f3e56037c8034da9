"""Configuration errors that name file, row or line, field and reason."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input file.

    ``where`` is what a person looks for in the file: ``line 12`` for YAML, ``row 7`` for a
    ledger (spreadsheet numbering: the header is row 1).
    """

    file: str
    where: str | None
    field: str | None
    reason: str

    def __str__(self) -> str:
        parts = [self.file]
        if self.where:
            parts.append(self.where)
        if self.field:
            parts.append(f"field '{self.field}'")
        return f"{', '.join(parts)}: {self.reason}"


class ConfigError(ValueError):
    """Raised when a config or inventory is invalid; carries every problem found, not only the first."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems) or "invalid configuration")
