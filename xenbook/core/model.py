"""The base of every parameter model, the size type they share, and validation that names each bad parameter."""

from __future__ import annotations

import difflib
import re
import typing
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

from xenbook.core.errors import ParameterError

_SIZE = re.compile(r"^([1-9][0-9]{0,9})([KMGT])$", re.IGNORECASE)
_UNITS = {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024 * 1024}
_PATH = re.compile(r"/[A-Za-z0-9_.+/-]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SPACES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")  # control characters but tab and newline


def size_mib(text: str) -> int:
    """Megabytes in a Xen size such as 2048M or 4G."""
    m = _SIZE.fullmatch(text)
    if not m:
        raise ValueError("must be a whole number with a unit K, M, G or T, e.g. 2048M or 4G")
    return int(int(m.group(1)) * _UNITS[m.group(2).upper()])


def abs_path(text: str) -> str:
    """text as an absolute path without '.', '..', repeated or trailing '/': "//etc/." is /etc."""
    if not _PATH.fullmatch(text) or ".." in text.split("/"):
        raise ValueError("must be an absolute path of letters, digits and _.+-/ without '..'")
    return "/" + "/".join(p for p in text.split("/") if p not in ("", "."))


class Model(BaseModel):
    """Parameters: unknown keys are errors, and assignments are validated too."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)
    words_fields: ClassVar[frozenset[str]] = frozenset()  # text fields whose words any whitespace may separate

    @field_validator("*", mode="before")
    @classmethod
    def _one_line(cls, v: Any, info: ValidationInfo) -> Any:
        """No text value holds a control character: rules match whole values, and a value from a YAML block
        scalar (| or >) ends in a newline that would become part of a name, a path or a file's line."""
        rule = _SPACES if info.field_name in cls.words_fields else _CONTROL
        for item in v if isinstance(v, list) else [v]:
            if isinstance(item, str) and rule.search(item):
                raise ValueError("holds a control character (a newline, tab, NUL ...): write the value on one line "
                                 "as a plain or quoted YAML scalar; a block scalar (| or >) ends in a newline")
        return v


M = TypeVar("M", bound=BaseModel)


def did_you_mean(name: str, names) -> str:
    """" (did you mean NAME?)" for the closest of names to a mistyped name ("" when none is close)."""
    close = difflib.get_close_matches(name, list(names), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def _fields_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """The parameter names the model takes at loc (a mapping's place: field names and list indexes), [] if none."""
    kinds: list = [model]
    for part in loc:
        if isinstance(part, int):
            continue  # an item of a list: its model is the list's
        kinds = [k.model_fields[part].annotation for k in kinds
                 if isinstance(k, type) and issubclass(k, BaseModel) and part in k.model_fields]
        while any(typing.get_args(k) for k in kinds):  # list[Guest], Guest | None, Annotated[...]
            kinds = [a for k in kinds for a in (typing.get_args(k) or (k,))]
    return [n for k in kinds if isinstance(k, type) and issubclass(k, BaseModel) for n in k.model_fields]


# pydantic's own wording, as a person reads a rule: "must be ..." like every rule xenbook writes.
_RULES = [(re.compile(p), r) for p, r in (
    (r"^Input should be greater than or equal to (.+)$", r"must be at least \1"),
    (r"^Input should be less than or equal to (.+)$", r"must be at most \1"),
    (r"^Input should be greater than (.+)$", r"must be more than \1"),
    (r"^Input should be less than (.+)$", r"must be less than \1"),
    (r"^Input should be a valid integer.*$", "must be a whole number, e.g. 2"),
    (r"^Input should be a valid number.*$", "must be a number, e.g. 2.5"),
    (r"^Input should be a valid boolean.*$", "must be true or false"),
    (r"^Input should be a valid (string|list)$", r"must be a \1"),
    (r"^Input should be (.+)$", r"must be \1"),
)]


def rule_text(rule: str) -> str:
    """A rule in xenbook's words, never pydantic's ("must be at least 1", not "Input should be ...")."""
    for pattern, replacement in _RULES:
        if pattern.match(rule):
            return pattern.sub(replacement, rule)
    return rule



def _problems(error: ValidationError, prefix: str = "", model: type[BaseModel] | None = None
              ) -> list[tuple[str, Any, str]]:
    out = []
    for e in error.errors():
        loc = ".".join(str(p) for p in e["loc"])
        msg = rule_text(e["msg"].removeprefix("Value error, "))
        if e["type"] == "extra_forbidden":
            msg = "is not a known parameter"
            if model is not None and e["loc"] and isinstance(e["loc"][-1], str):
                msg += did_you_mean(e["loc"][-1], _fields_at(model, e["loc"][:-1]))
        out.append((prefix + loc if loc else prefix.rstrip(".") or "parameters", e.get("input"), msg))
    return out


def build(model: type[M], data: dict[str, Any] | None = None, prefix: str = "") -> M:
    """model(**data), or ParameterError naming each bad parameter, its value and the rule."""
    try:
        return model.model_validate(data or {})
    except ParameterError:
        raise
    except ValidationError as e:
        raise ParameterError(_problems(e, prefix, model)) from None
