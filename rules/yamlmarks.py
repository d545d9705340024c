"""YAML loading that remembers line numbers, so every problem can name file:line.

A SafeLoader subclass builds ``MarkedDict`` / ``MarkedList`` (plain dict / list with a
``line`` and the line of each key or item) and records duplicate keys, which PyYAML would
otherwise silently overwrite. Safe loading only: no Python tags. Must not validate rules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from rules.errors import Problem, problem
from rules.wording import reason


class MarkedDict(dict):
    line: int | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.key_lines: dict[Any, int] = {}

    def line_of(self, key: Any) -> int | None:
        return self.key_lines.get(key, self.line)


class MarkedList(list):
    line: int | None = None

    def __init__(self, *args):
        super().__init__(*args)
        self.item_lines: list[int] = []

    def line_of(self, index: int) -> int | None:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


class _MarkingLoader(yaml.SafeLoader):
    def __init__(self, stream):
        super().__init__(stream)
        self.duplicates: list[tuple[int, Any]] = []


def _construct_mapping(loader: _MarkingLoader, node: yaml.MappingNode) -> MarkedDict:
    # Keys written in this mapping; keys merged in from "<<: *anchor" may be overridden.
    explicit = {id(k) for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge"}
    loader.flatten_mapping(node)  # resolves YAML merge keys
    data = MarkedDict()
    data.line = node.start_mark.line + 1
    written: set = set()
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        try:
            if id(key_node) in explicit:
                if key in written:
                    loader.duplicates.append((line, key))
                written.add(key)
        except TypeError:  # an unhashable key such as [a, b]
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark
            )
        data[key] = loader.construct_object(value_node, deep=True)
        data.key_lines[key] = line
    return data


def _construct_sequence(loader: _MarkingLoader, node: yaml.SequenceNode) -> MarkedList:
    data = MarkedList()
    data.line = node.start_mark.line + 1
    for item in node.value:
        data.append(loader.construct_object(item, deep=True))
        data.item_lines.append(item.start_mark.line + 1)
    return data


def _construct_timestamp(loader: _MarkingLoader, node: yaml.ScalarNode) -> Any:
    # 2026-13-01 looks like a date to the resolver but is none: kept as the text written, so the
    # check that expects a date names the key (PyYAML itself raises a bare ValueError).
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


_MarkingLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
_MarkingLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_MarkingLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def load_marked(path: Path, label: str | None = None) -> tuple[Any, list[Problem]]:
    """Parse one YAML file. Returns (data or None, problems); never raises on bad YAML."""
    name = label or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return None, [problem(name, None, "unreadable", reason="不是 UTF-8 编码", detail=str(exc))]
    except OSError as exc:
        return None, [problem(name, None, "unreadable", reason="文件不存在或没有读取权限", detail=str(exc))]
    loader = _MarkingLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        said = getattr(exc, "problem", None) or str(exc)
        return None, [problem(name, line, "yaml_syntax", reason=reason(said), detail=str(exc))]
    except RecursionError:  # lists in lists … thousands deep: PyYAML's composer recurses
        return None, [problem(name, None, "yaml_too_deep")]
    finally:
        loader.dispose()
    problems = [problem(name, line, "duplicate_key", key=key) for line, key in loader.duplicates]
    return data, problems


def line_of(container: Any, key: Any, default: int | None = None) -> int | None:
    """Line of ``container[key]`` when the container came from load_marked."""
    if hasattr(container, "line_of"):
        return container.line_of(key) or default
    return default
