"""The base of every parameter model, and the size type they share."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

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
