"""The base of every parameter model, the size type they share, and validation that names each bad parameter."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from xenbook.core.errors import ParameterError

_SIZE = re.compile(r"^([1-9][0-9]{0,9})([KMGT])$", re.IGNORECASE)
_UNITS = {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024 * 1024}


def size_mib(text: str) -> int:
    """Megabytes in a Xen size such as 2048M or 4G."""
    m = _SIZE.match(text)
    if not m:
        raise ValueError("must be a whole number with a unit K, M, G or T, e.g. 2048M or 4G")
    return int(int(m.group(1)) * _UNITS[m.group(2).upper()])


class Model(BaseModel):
    """Parameters: unknown keys are errors, and assignments are validated too."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


M = TypeVar("M", bound=BaseModel)


def _problems(error: ValidationError, prefix: str = "") -> list[tuple[str, Any, str]]:
    out = []
    for e in error.errors():
        loc = ".".join(str(p) for p in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "is not a known parameter"
        out.append((prefix + loc if loc else prefix.rstrip(".") or "parameters", e.get("input"), msg))
    return out


def build(model: type[M], data: dict[str, Any] | None = None, prefix: str = "") -> M:
    """model(**data), or ParameterError naming each bad parameter, its value and the rule."""
    try:
        return model.model_validate(data or {})
    except ParameterError:
        raise
    except ValidationError as e:
        raise ParameterError(_problems(e, prefix)) from None
