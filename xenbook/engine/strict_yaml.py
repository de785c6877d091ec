"""YAML for parameters, read strictly: UTF-8 text of a bounded size, no key twice in a mapping, bounded nesting, and
aliases that may share a value but never multiply one into an alias bomb. Every refusal is a ParameterError that
names where the text came from."""

from __future__ import annotations

from typing import Any

import yaml

from xenbook.core.errors import ParameterError
from xenbook.core.masks import mask_shapes


MAX_BYTES = 1024 * 1024  # a parameters file is a few kilobytes
MAX_DEPTH = 32  # RunbookParams nests three levels (guests, a guest, its packages)
MAX_NODES = 100_000  # values after every alias is expanded; an alias bomb holds billions
_MERGE = "tag:yaml.org,2002:merge"


class Refused(Exception):
    """The text broke one of this module's rules; the message says which (and where)."""


def _where(node: yaml.Node) -> str:
    return f"line {node.start_mark.line + 1}, column {node.start_mark.column + 1}"


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses deep nesting while composing and a key given twice while constructing."""

    depth = 0

    def compose_node(self, parent, index):
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise Refused(f"nests deeper than {MAX_DEPTH} levels (at line {self.peek_event().start_mark.line + 1})")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, yaml.Node] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE or not isinstance(key_node, yaml.ScalarNode):
                    continue
                key = self.construct_object(key_node)
                if key in seen:
                    raise Refused(f"gives the key {key!r} twice ({_where(seen[key])} and {_where(key_node)}): "
                                  "the second would silently win; keep one")
                seen[key] = key_node
        return super().construct_mapping(node, deep)


def _count(root: yaml.Node) -> int:
    """The values the document holds once its aliases are expanded (Refused beyond MAX_NODES or for a cycle)."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node) -> int:
        if id(node) in sizes:
            return sizes[id(node)]
        if id(node) in open_nodes:
            raise Refused(f"holds an alias that refers to itself ({_where(node)})")
        open_nodes.add(id(node))
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        total = 1
        for child in children:
            total += size(child)
            if total > MAX_NODES:
                raise Refused(f"expands to more than {MAX_NODES} values (an alias bomb: aliases, *name, that "
                              "repeat aliases): write the values out, or share fewer of them")
        open_nodes.discard(id(node))
        sizes[id(node)] = total
        return total

    return size(root)


def load(text: str) -> Any:
    """The value in one YAML document; Refused for the rules above, yaml.YAMLError when it is no YAML."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _count(node)
        return loader.construct_document(node)
    except RecursionError:
        raise Refused(f"nests deeper than {MAX_DEPTH} levels") from None
    finally:
        loader.dispose()


def _problem(e: yaml.YAMLError) -> str:
    """What is wrong and where (line, column), without the lines PyYAML quotes: one may hold a secret."""
    if isinstance(e, yaml.MarkedYAMLError) and e.problem:
        mark = e.problem_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        return mask_shapes(f"{e.context + ': ' if e.context else ''}{e.problem}{where}")
    return mask_shapes(str(e).splitlines()[0] if str(e) else type(e).__name__)


def load_bytes(data: bytes, name: str, source: str) -> Any:
    """The value in data, YAML read as above; ParameterError naming the parameter name and source otherwise."""
    def bad(rule: str) -> ParameterError:
        return ParameterError([(name, source, rule)])

    if len(data) > MAX_BYTES:
        raise bad(f"is larger than {MAX_BYTES // 1024} KiB: a parameters file is a few kilobytes of YAML")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise bad(f"is not UTF-8 text (byte {e.start} is {data[e.start:e.start + 1]!r}): save it as UTF-8 "
                  "YAML") from None
    if "\x00" in text:
        raise bad("holds a NUL byte: it is binary, not YAML text")
    try:
        return load(text)
    except Refused as e:
        raise bad(str(e)) from None
    except yaml.YAMLError as e:
        raise bad(f"is not valid YAML: {_problem(e)}") from None
