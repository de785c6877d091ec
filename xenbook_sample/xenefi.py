"""xen.cfg as the SIMULATED xen.efi reads it (xen/common/efi/boot.c: pre_parse, then get_value per setting).

pre_parse turns every control character into the end of a line, drops white space at the start of a line, and
ends a line at '#' anywhere or at ';' first on it; a file whose last byte is not a line end loses its last line
("No newline at end of config file, last line will be ignored."). Bytes past ASCII are kept (Xen's ctype table
gives 0x80-0x9f no class and 0xa0 the space class). get_value takes the first `item=` (no space before '=') of
the first [section] of that name, with white space after the '=' dropped."""

from __future__ import annotations

NO_NEWLINE = "No newline at end of config file, last line will be ignored."


def _cntrl(b: int) -> bool:
    return b < 0x20 or b == 0x7F


def _space(b: int) -> bool:
    return b in (0x20, 0xA0) or 0x09 <= b <= 0x0D


def pre_parse(data: bytes) -> tuple[list[str], str]:
    """(the lines xen.efi keeps, in order, the warning it prints or "")."""
    out, start, comment = bytearray(data), True, False
    for i, b in enumerate(out):
        if _cntrl(b):
            comment, start, out[i] = False, True, 0
        elif comment or (start and _space(b)):
            out[i] = 0
        elif b == ord("#") or (start and b == ord(";")):
            comment, out[i] = True, 0
        else:
            start = False
    warning = NO_NEWLINE if out and out[-1] else ""
    pieces = bytes(out).split(b"\0")
    if warning:
        pieces = pieces[:-1]
    return [p.decode("utf-8", "surrogateescape") for p in pieces if p], warning


def get_value(lines: list[str], section: str | None, item: str) -> str | None:
    """The value of item in section (anywhere when section is None or empty), or None."""
    match = not section
    for line in lines:
        if line.startswith("[") and section:
            if match:
                return None
            match = line[1:].startswith(section) and line[1 + len(section):2 + len(section)] == "]"
        elif match and line.startswith(item + "="):
            return line[len(item) + 1:].lstrip(" \t\n\v\f\r\xa0")
    return None
