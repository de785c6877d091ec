"""Secret-looking text masked before it is shown: password hashes, private keys, and values of secret names."""

from __future__ import annotations

import re

from xenbook.core.masks import MASK, SECRET_WORDS, mask_shapes  # noqa: F401  (part of this interface)

_NAMED = re.compile(rf"(?im)^([^\n#]*?(?:{SECRET_WORDS})[A-Za-z0-9_-]*\s*(?:=|:|\s)\s*)([^\s\n].*)$")


def redact(text: str) -> str:
    """Text with secret shapes (mask_shapes) and the values of secret-named settings masked, for file contents."""
    return _NAMED.sub(lambda m: m.group(1) + (m.group(2) if m.group(2).startswith(MASK) else MASK),
                      mask_shapes(text))
