"""YAML loading that remembers where every key and value is (line, column), for located error messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path_ = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    """SafeLoader without the timestamp resolver: a date in a test event must stay the string it was."""


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True, slots=True)
class Pos:
    line: int  # 1-based
    column: int  # 1-based
    style: str | None = None  # the scalar's quote style ('"', "'", '|', '>' or None for plain)


@dataclass(slots=True)
class Located:
    """A loaded document plus the position of each value and each key, addressed by path from the root."""

    data: Any
    values: dict[Path_, Pos] = field(default_factory=dict)
    keys: dict[Path_, Pos] = field(default_factory=dict)
    duplicates: list[tuple[Path_, Pos]] = field(default_factory=list)

    def where(self, path: Path_, *, key: bool = False) -> Pos | None:
        """The position of the value at path (or of its key), falling back to the nearest parent."""
        table = self.keys if key else self.values
        p = tuple(path)
        while True:
            if p in table:
                return table[p]
            if p in self.values:
                return self.values[p]
            if not p:
                return None
            p = p[:-1]


class YamlSyntaxError(Exception):
    def __init__(self, message: str, line: int | None, column: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def _mark(node: yaml.Node) -> Pos:
    style = getattr(node, "style", None)
    return Pos(node.start_mark.line + 1, node.start_mark.column + 1, style if isinstance(style, str) else None)


def load(text: str) -> Located:
    """Parse one YAML document into plain Python values, recording positions. Raises YamlSyntaxError."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        located = Located(None)
        if node is not None:
            located.data = _build(loader, node, (), located)
        return located
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
        raise YamlSyntaxError(message, mark.line + 1 if mark else None, mark.column + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(str(exc), None, None) from None
    finally:
        loader.dispose()


def _build(loader: _Loader, node: yaml.Node, path: Path_, located: Located) -> Any:
    located.values[path] = _mark(node)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                key = str(key) if not isinstance(key, bool) else str(key).lower()
            child = (*path, key)
            if key in out:
                located.duplicates.append((child, _mark(key_node)))
            located.keys[child] = _mark(key_node)
            out[key] = _build(loader, value_node, child, located)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, (*path, i), located) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)
