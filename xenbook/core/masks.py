"""The shapes of secrets (crypt(3) and GRUB password hashes, PEM private keys) and the names of secret parameters,
masked wherever xenbook shows text: messages, reports, the ledger (xenbook.safety.redact adds file contents)."""

from __future__ import annotations

import re

MASK = "(hidden by xenbook)"

_PEM = re.compile(r"-----BEGIN ([A-Z0-9 ]*PRIVATE KEY)-----.*?(-----END \1-----|\Z)", re.S)
_CRYPT = re.compile(r"\$(?:1|2[abxy]?|5|6|7|y|gy|sha1|md5)\$[./A-Za-z0-9$=,+-]{4,}")
_PBKDF2 = re.compile(r"grub\.pbkdf2\.[A-Za-z0-9.]+")
SECRET_WORDS = (r"password|passwd|passphrase|secret|token|psk|private_?key|pre_?shared_?key|api_?key")
_SECRET_NAME = re.compile(rf"(?i)({SECRET_WORDS})")


def mask_shapes(text: str) -> str:
    """Text with anything shaped like a crypt(3) or GRUB password hash or a PEM private key masked."""
    text = _PEM.sub(lambda m: f"-----BEGIN {m.group(1)}----- {MASK}", text)
    return _PBKDF2.sub(MASK, _CRYPT.sub(MASK, text))


def secret_name(name: str) -> bool:
    """Whether a parameter called name (dotted: its last part counts) may hold a secret: root_password,
    a token, a psk; not a path to one (root_password_hash_file), which a message must show to be of use."""
    leaf = str(name).rsplit(".", 1)[-1]
    return bool(_SECRET_NAME.search(leaf)) and not leaf.lower().endswith("_file")
