"""A YAML ledger read one row at a time: the rows' data and where each row and key is, without a node tree.

``parse_yaml`` keeps the whole document's node tree for line numbers: ≈ 14 KB a camera row of 15 fields (a
node and two marks per scalar), ≈ 0.7 GB at 50,000 cameras, which was the peak of a city's start-up. A
ledger is a list of rows (or a mapping whose ``cameras:`` is one), so here each row is composed, checked
(duplicate keys, aliases expanding too far) and constructed by PyYAML's own safe constructor, its lines noted
compactly, and its nodes dropped before the next. The data is what ``parse_yaml`` gives; a document of any
other shape is read by ``parse_yaml``.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml._yaml import CParser
from yaml.composer import Composer, ComposerError
from yaml.constructor import SafeConstructor
from yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.resolver import Resolver

from camwatch.config.errors import ConfigError, Problem
from camwatch.config.yamldoc import (
    MAX_YAML_NODES,
    YamlDocument,
    duplicate_keys,
    expanded_size,
    parse_yaml,
    yaml_problem,
)

LEDGER_KEY = "cameras"


class _RowLoader(Composer, CParser, SafeConstructor, Resolver):
    """libyaml's events, composed by PyYAML's composer a node at a time (libyaml's own composer builds the
    whole document at once)."""

    def __init__(self, text: str):
        CParser.__init__(self, text)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        # libyaml's composer words these two errors without the anchor's name: the same problems either way.
        event: Any = self.peek_event()
        mark: Any = event.start_mark
        if isinstance(event, AliasEvent) and event.anchor not in self.anchors:
            raise ComposerError(None, None, "found undefined alias", mark)
        anchor = getattr(event, "anchor", None)
        if not isinstance(event, AliasEvent) and anchor is not None and anchor in self.anchors:
            first: Any = self.anchors[anchor].start_mark
            raise ComposerError("found duplicate anchor; first occurrence", first, "second occurrence", mark)
        return super().compose_node(parent, index)

    def node(self) -> yaml.Node:
        """The next node (a row, a key, a value); the events say one is there."""
        node = self.compose_node(None, None)  # no path resolvers: no parent needed
        assert node is not None
        return node


@dataclass
class RowLines:
    """Where a ledger's document, its top-level keys, each row and each row's keys are (line numbers).

    ``line_of`` answers as ``YamlDocument.line_of`` does for the paths a ledger's problems name: (), a
    top-level key, a row, a row's key (a deeper part: the row's key)."""

    prefix: tuple[str, ...] = ()  # (LEDGER_KEY,) when the rows are that key's list, () for a bare list
    root: int = 1
    top: dict[str, int] = field(default_factory=dict)  # a top-level mapping's keys
    rows: array[int] = field(default_factory=lambda: array("l"))
    shapes: list[tuple[str, ...] | None] = field(default_factory=list)  # each row's keys (shared tuples)
    key_lines: list[array[int] | None] = field(default_factory=list)

    def line_of(self, path: Iterable[str | int]) -> str | None:
        line, level, index = self.root, ("top" if self.top or self.prefix else "rows"), -1
        for part in path:  # as YamlDocument.line_of: a part that matches nothing is skipped
            if level == "top" and part in self.top:
                line = self.top[str(part)]
                level = "rows" if part in self.prefix else "value"
            elif level == "rows" and isinstance(part, int) and 0 <= part < len(self.rows):
                index, line, level = part, self.rows[part], "row"
            elif level == "row":
                shape, at = self.shapes[index], self.key_lines[index]
                if shape is not None and at is not None and str(part) in shape:
                    line, level = at[shape.index(str(part))], "value"  # deeper: not kept, the key's line
        return f"line {line}"


def parse_ledger_yaml(text: str, file: str) -> tuple[Any, YamlDocument | RowLines]:
    """A YAML ledger's data and its line index; ``ConfigError`` for invalid YAML, as ``parse_yaml``."""
    loader = _RowLoader(text)
    try:
        read = _read(loader, may_alias="*" in text, file=file)
    except yaml.YAMLError as exc:
        raise ConfigError([yaml_problem(exc, text, file)]) from None
    except RecursionError:
        raise ConfigError([Problem(file, None, None, "invalid YAML: nested too deeply")]) from None
    finally:
        loader.dispose()
    if read is None:  # not a ledger's shape: read whole
        doc = parse_yaml(text, file)
        return doc.data, doc
    data, lines, problems = read
    if problems:
        raise ConfigError(sorted(problems, key=lambda p: int((p.where or "0").split()[-1])))
    return data, lines


def _plain(event: Any) -> bool:
    """An event without an anchor or explicit tag (the shapes read row by row)."""
    return event.anchor is None and event.tag in (None, "!")


def _read(loader: _RowLoader, *, may_alias: bool, file: str) -> tuple[Any, RowLines, list[Problem]] | None:
    """The document's data, lines and duplicate keys; None for a shape other than a ledger's."""
    loader.get_event()  # stream start
    if loader.check_event(StreamEndEvent):
        return None
    loader.get_event()  # document start
    start: Any = loader.peek_event()
    lines = RowLines(root=start.start_mark.line + 1)
    problems: list[Problem] = []
    rows = _Rows(loader, lines, problems, may_alias, file)
    if isinstance(start, SequenceStartEvent) and _plain(start):
        data: Any = rows.read()
    elif isinstance(start, MappingStartEvent) and _plain(start):
        loader.get_event()
        data = {}
        while not loader.check_event(MappingEndEvent):
            key: Any = loader.peek_event()
            if not isinstance(key, ScalarEvent) or not _plain(key) or key.value == "<<":
                return None
            name = loader.construct_document(loader.node())
            if not isinstance(name, str):
                return None
            line = _line(key.start_mark)
            if name in lines.top:
                reason = f"duplicate key (first at line {lines.top[name]})"
                problems.append(Problem(file, f"line {line}", name, reason))
            lines.top.setdefault(name, line)
            value = loader.peek_event()
            if name == LEDGER_KEY and isinstance(value, SequenceStartEvent) and _plain(value):
                lines.prefix = (LEDGER_KEY,)
                data[name] = rows.read()
            else:
                data[name] = rows.construct(loader.node())
        loader.get_event()
    else:
        return None
    loader.get_event()  # document end
    if not loader.check_event(StreamEndEvent):
        event: Any = loader.get_event()
        raise ComposerError(
            "expected a single document in the stream",
            start.start_mark,
            "but found another document",
            event.start_mark,
        )
    return data, lines, problems


def _line(mark: Any) -> int:
    return int(mark.line) + 1


class _Rows:
    """Reads a list a row at a time: each row composed, bounded, constructed, its lines noted, dropped."""

    def __init__(
        self, loader: _RowLoader, lines: RowLines, problems: list[Problem], may_alias: bool, file: str
    ):
        self.loader, self.lines, self.problems = loader, lines, problems
        self.may_alias, self.file = may_alias, file
        self.budget = MAX_YAML_NODES
        self.shapes: dict[tuple[str, ...], tuple[str, ...]] = {}

    def read(self) -> list[Any]:
        loader, lines = self.loader, self.lines
        loader.get_event()
        rows: list[Any] = []
        while not loader.check_event(SequenceEndEvent):
            node = loader.node()
            lines.rows.append(_line(node.start_mark))
            rows.append(self.construct(node))
            shape, at = None, None
            if isinstance(node, yaml.MappingNode):  # as constructed: merge keys (<<) flattened
                keys = [k for k, _ in node.value if isinstance(k, yaml.ScalarNode)]
                names = tuple(k.value for k in keys)
                shape = self.shapes.setdefault(names, names)
                at = array("l", (_line(k.start_mark) for k in keys))
            lines.shapes.append(shape)
            lines.key_lines.append(at)
        loader.get_event()
        return rows

    def construct(self, node: yaml.Node) -> Any:
        """A row's (or top-level value's) data; its aliases bounded, its duplicate keys noted."""
        if self.may_alias:
            self.budget -= expanded_size(node, {})
            if self.budget < 0:
                # Aliases of aliases ("billion laughs") would make every later walk over the data explode.
                raise yaml.YAMLError(f"aliases expand to more than {MAX_YAML_NODES:,} nodes")
        data = self.loader.construct_document(node)
        self.problems.extend(duplicate_keys(node, self.file))  # after, as parse_yaml: on the merged keys
        return data
