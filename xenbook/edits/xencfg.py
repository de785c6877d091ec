"""xen.cfg, the configuration xen.efi reads from its own directory on the EFI system partition."""

from __future__ import annotations

import re
from dataclasses import dataclass

SECTION_NAME = "xenbook"
_VALUE = re.compile(r"^[\x20-\x7e]*$")


@dataclass(frozen=True)
class XenEfiEntry:
    """One xen.cfg section: Xen's options, dom0's kernel with its options, the initramfs, the microcode."""

    options: str
    kernel: str  # file name relative to xen.efi's directory
    kernel_args: str
    ramdisk: str
    ucode: str | None = None


def render_config(e: XenEfiEntry) -> str:
    """A [global] section choosing the xenbook section, and that section; ValueError on unsafe values."""
    for what, value in (("the Xen options", e.options), ("the dom0 kernel options", e.kernel_args),
                        ("a file name", " ".join(filter(None, (e.kernel, e.ramdisk, e.ucode))))):
        if not _VALUE.match(value) or "#" in value:
            raise ValueError(f"{what} must be printable ASCII without '#' (xen.cfg starts comments with it): "
                             f"{value!r}")
    lines = ["[global]", f"default={SECTION_NAME}", "", f"[{SECTION_NAME}]", f"options={e.options}",
             f"kernel={e.kernel} {e.kernel_args}".rstrip(), f"ramdisk={e.ramdisk}"]
    if e.ucode:
        lines.append(f"ucode={e.ucode}")
    return "\n".join(lines) + "\n"


def sections(text: str) -> list[str]:
    """Section names in xen.cfg, in order, comments ('#' anywhere, ';' at a line start) ignored."""
    out = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith(";"):
            continue
        m = re.match(r"^\[([^\]]+)\]$", line)
        if m:
            out.append(m.group(1))
    return out


def check_ascii(data: bytes) -> str | None:
    """Why xen.efi would not read data, or None: it must be ASCII and end with a newline."""
    bad = [i for i, b in enumerate(data) if b > 0x7F]
    if bad:
        line = data[:bad[0]].count(b"\n") + 1
        return f"byte {bad[0]} (line {line}) is not ASCII; xen.efi reads ASCII only"
    if data and not data.endswith(b"\n"):
        return "the last line has no newline; older xen.efi ignores it"
    return None
