"""A person's YAML parameters file, edited the way they would by hand: one section's values set, every comment,
key order, quote and blank line kept (ruamel.yaml's round trip). A file that round trip would change elsewhere is
refused rather than rewritten."""

from __future__ import annotations

import difflib
import io
import itertools
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import YAMLError
from ruamel.yaml.representer import RoundTripRepresenter
from ruamel.yaml.tokens import CommentToken
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

# (mapping, sequence, offset) indents tried in turn: the README's and the examples' style first
_INDENTS = [(m, s, o) for m, (s, o) in itertools.product((2, 4, 3), ((4, 2), (2, 0), (3, 1), (4, 0), (6, 4)))]


class _Null(str):
    """A null as the file spells it (null, ~, Null or nothing): ruamel.yaml's round trip would write each as nothing."""


class _Constructor(RoundTripConstructor):
    """ruamel.yaml's round-trip constructor keeping how each null is spelled, for xenbook's edits only."""


class _Representer(RoundTripRepresenter):
    """ruamel.yaml's round-trip representer writing a kept null as it was spelled and a new None as null."""


_Constructor.add_constructor("tag:yaml.org,2002:null", lambda _c, node: _Null(node.value))
_Representer.add_representer(_Null, lambda r, v: r.represent_scalar("tag:yaml.org,2002:null", str(v)))
_Representer.add_representer(type(None), lambda r, _v: r.represent_scalar("tag:yaml.org,2002:null", "null"))


class RoundTripError(ValueError):
    """The text cannot be edited without changing other lines (or is no YAML mapping); the message says where."""


def _yaml(indent: tuple[int, int, int]) -> YAML:
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 1 << 16  # never fold a long line
    y.indent(mapping=indent[0], sequence=indent[1], offset=indent[2])
    y.Constructor, y.Representer = _Constructor, _Representer
    return y


def _dump(y: YAML, doc: Any) -> str:
    out = io.StringIO()
    y.dump(doc, out)
    return out.getvalue()


def load(text: str) -> tuple[YAML, Any]:
    """The document and the ruamel.yaml set-up that writes it back byte for byte; RoundTripError when none does."""
    try:
        doc = _yaml(_INDENTS[0]).load(text)
    except YAMLError as e:
        raise RoundTripError(f"is not YAML ruamel.yaml can read: {str(e).splitlines()[0]}") from None
    if doc is None:  # empty, or comments only: set_section writes the values after them
        return _yaml(_INDENTS[0]), None
    if not isinstance(doc, CommentedMap):
        raise RoundTripError("must hold a mapping of parameter names to values")
    first_diff = ""
    for indent in _INDENTS:
        y = _yaml(indent)
        doc = y.load(text)
        out = _dump(y, doc)
        if out == text:
            return y, doc
        if not first_diff:
            changed = [line for line in difflib.ndiff(text.splitlines(), out.splitlines()) if line[:1] in "-+"]
            first_diff = changed[0][2:].strip() if changed else "the end of the file"
    raise RoundTripError(f"cannot be rewritten without changing lines it does not set (first: {first_diff!r}): "
                         "set the values there by hand, or indent it as `xenbook` examples do (2 spaces, "
                         "list items at 2)")


def _scalar(value: Any) -> Any:
    """value as ruamel.yaml should write it: text another YAML reader would take for a number, a boolean or null
    is double-quoted ("on", "0x10", "2048"), so the file reads back the same everywhere."""
    if isinstance(value, list):
        return CommentedSeq(_scalar(v) for v in value)
    if isinstance(value, str) and (value == "" or _reads_as(value) != value):
        return DoubleQuotedScalarString(value)
    return value


def _reads_as(text: str) -> Any:
    """What a YAML reader makes of text written plain; text that is no YAML on its own ("[", "@x", "*a", a tab)
    reads as nothing like itself, so it is quoted too."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return _Unreadable()


class _Unreadable:
    """Equal to no value: what plain text that does not parse reads as."""


def _set(mapping: CommentedMap, values: dict[str, Any]) -> None:
    for key, value in values.items():
        mapping[key] = _scalar(value)


def _tail(node: Any) -> tuple[Any, Any] | None:
    """(container, key) of the last scalar under node: ruamel.yaml keeps the comments after node's last line there."""
    while isinstance(node, (CommentedMap, CommentedSeq)) and len(node):
        key = list(node)[-1] if isinstance(node, CommentedMap) else len(node) - 1
        if not isinstance(node[key], (CommentedMap, CommentedSeq)) or not len(node[key]):
            return node, key
        node = node[key]
    return None


def _carry_tail(before: tuple[Any, Any] | None, after: tuple[Any, Any] | None) -> None:
    """Keep the comment lines that followed the last line before the edit after the last line written: only a
    comment on the same line stays where it was."""
    if before is None or after is None or before == after:
        return
    (old, old_key), (new, new_key) = before, after
    slot = 2 if isinstance(old, CommentedMap) else 0
    entry = old.ca.items.get(old_key)
    if not entry or entry[slot] is None:
        return
    token = entry[slot]
    same_line, _, rest = token.value.partition("\n")
    if not rest:
        return
    if same_line.strip():
        token.value = same_line + "\n"
    else:
        entry[slot] = None
    moved = CommentToken("\n" + rest, token.start_mark, None)
    if isinstance(new, CommentedMap):
        new.ca.items.setdefault(new_key, [None, None, None, None])[2] = moved
    else:
        new.ca.items.setdefault(new_key, [None, None])[0] = moved


def set_section(text: str, field: str, values: dict[str, Any], item_key: str | None = None) -> str:
    """text with values set under its top-level field (a mapping, made when missing). With item_key the field is a
    list of mappings: the item whose item_key equals values[item_key] (ignoring case) is updated, or one appended.
    Comments stay; those after the edited part's last line stay after it."""
    y, doc = load(text)
    if doc is None:
        new = CommentedMap()
        new[field] = CommentedSeq([CommentedMap()]) if item_key else CommentedMap()
        _set(new[field][0] if item_key else new[field], values)
        return text + ("\n" if text and not text.endswith("\n") else "") + _dump(y, new)
    current = doc.get(field)
    if current is None or isinstance(current, _Null):
        scope, before = doc, _tail(doc)
        doc[field] = current = CommentedSeq() if item_key else CommentedMap()
    else:
        scope, before = current, _tail(current)
    if item_key is None:
        if not isinstance(current, CommentedMap):
            raise RoundTripError(f"holds {field}: as something other than a mapping")
        _set(current, values)
    else:
        if not isinstance(current, CommentedSeq):
            raise RoundTripError(f"holds {field}: as something other than a list")
        wanted = str(values[item_key]).lower()
        item = next((i for i in current if isinstance(i, CommentedMap) and str(i.get(item_key, "")).lower() == wanted),
                    None)
        if item is None:
            current.append(item := CommentedMap())
        _set(item, values)
    _carry_tail(before, _tail(scope))
    return _dump(y, doc)
