"""Secret-looking text masked before it is shown: password hashes, private keys, and values of secret names."""

from __future__ import annotations

import re

MASK = "(hidden by xenbook)"

_PEM = re.compile(r"-----BEGIN ([A-Z0-9 ]*PRIVATE KEY)-----.*?(-----END \1-----|\Z)", re.S)
_CRYPT = re.compile(r"\$(?:1|2[abxy]?|5|6|7|y|gy|sha1|md5)\$[./A-Za-z0-9$=,+-]{4,}")
_PBKDF2 = re.compile(r"grub\.pbkdf2\.[A-Za-z0-9.]+")
_NAMED = re.compile(r"(?im)^([^\n#]*?(?:password|passwd|passphrase|secret|token|psk|private_?key|"
                    r"pre_?shared_?key|api_?key)[A-Za-z0-9_-]*\s*(?:=|:|\s)\s*)([^\s\n].*)$")


def mask_shapes(text: str) -> str:
    """Text with anything shaped like a crypt(3) or GRUB password hash or a PEM private key masked."""
    text = _PEM.sub(lambda m: f"-----BEGIN {m.group(1)}----- {MASK}", text)
    return _PBKDF2.sub(MASK, _CRYPT.sub(MASK, text))


def redact(text: str) -> str:
    """Text with secret shapes (mask_shapes) and the values of secret-named settings masked, for file contents."""
    return _NAMED.sub(lambda m: m.group(1) + (m.group(2) if m.group(2).startswith(MASK) else MASK),
                      mask_shapes(text))
