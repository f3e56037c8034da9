"""YAML with line numbers: parsed data plus its node tree, duplicate keys and alias bombs refused."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from camwatch.config.errors import ConfigError, Problem

# libyaml's parser is ~20x faster than PyYAML's pure-Python one (a 10^4-camera YAML ledger: ~1 s, not ~20 s).
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# ---------------------------------------------------------------------------------------------------------
# YAML with line numbers
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class YamlDocument:
    """Parsed YAML plus its node tree, so that a path into the data maps back to a line."""

    data: Any
    root: yaml.Node | None

    def line_of(self, path: Iterable[str | int]) -> str | None:
        """``line N`` of the deepest node ``path`` reaches (a mapping key's own line); None for an empty file.

        Path parts that match nothing (e.g. validator tags in pydantic locations) are skipped.
        """
        node = self.root
        if node is None:
            return None
        mark = node.start_mark
        for part in path:
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                        node, mark = value, key.start_mark
                        break
            elif (
                isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value)
            ):
                node = node.value[part]
                mark = node.start_mark
        return f"line {mark.line + 1}"


def parse_yaml(text: str, file: str) -> YamlDocument:
    """Parse one YAML document (safe loader); a syntax error or duplicate key raises :class:`ConfigError`."""
    try:
        loader = _SafeLoader(text)
        try:
            root, data = _parse_nodes(loader, may_alias="*" in text)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise ConfigError([yaml_problem(exc, text, file)]) from None
    except RecursionError:
        raise ConfigError([Problem(file, None, None, "invalid YAML: nested too deeply")]) from None
    duplicates = sorted(duplicate_keys(root, file), key=lambda p: int((p.where or "0").split()[-1]))
    if duplicates:
        raise ConfigError(duplicates)
    return YamlDocument(data, root)


def yaml_problem(exc: yaml.YAMLError, text: str, file: str) -> Problem:
    """The problem a YAML error makes: its line (and its context's) where PyYAML marked one."""
    if not isinstance(exc, yaml.MarkedYAMLError):
        return Problem(file, None, None, f"invalid YAML: {exc}")
    mark = exc.problem_mark or exc.context_mark
    # libyaml puts an end-of-stream error one line past a last line that has no line break.
    last_line = max(len(text.splitlines()), 1)
    where = f"line {min(mark.line + 1, last_line)}" if mark else None
    reason = f"invalid YAML: {exc.problem or exc}"
    if exc.context and exc.context_mark:
        reason += f" ({exc.context} at line {exc.context_mark.line + 1})"
    return Problem(file, where, None, reason)


def _parse_nodes(loader: Any, *, may_alias: bool) -> tuple[yaml.Node | None, Any]:
    root = loader.get_single_node()
    if root is not None and may_alias and expanded_size(root, {}) > MAX_YAML_NODES:
        # Aliases of aliases ("billion laughs") would make every later walk over the data explode.
        raise yaml.YAMLError(f"aliases expand to more than {MAX_YAML_NODES:,} nodes")
    return root, (loader.construct_document(root) if root is not None else None)


MAX_YAML_NODES = 2_000_000


def expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """How many nodes the document has once aliases are expanded (each shared node counted per use)."""
    if id(node) not in memo:
        memo[id(node)] = 1  # a cycle (a recursive alias) counts once instead of recursing forever
        children: list[yaml.Node] = []
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = node.value
        memo[id(node)] = 1 + sum(expanded_size(child, memo) for child in children)
    return memo[id(node)]


def duplicate_keys(root: yaml.Node | None, file: str) -> Iterator[Problem]:
    """Keys given twice in one mapping (PyYAML keeps the last silently, hiding a hand-editing mistake)."""
    stack = [root] if root is not None else []
    visited: set[int] = set()  # aliases share nodes; visit each once
    while stack:
        node = stack.pop()
        if id(node) in visited:
            continue
        visited.add(id(node))
        if isinstance(node, yaml.MappingNode):
            lines: dict[str, int] = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    line = key.start_mark.line + 1
                    if key.value in lines:
                        reason = f"duplicate key (first at line {lines[key.value]})"
                        yield Problem(file, f"line {line}", key.value, reason)
                    lines.setdefault(key.value, line)
                stack.append(value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
