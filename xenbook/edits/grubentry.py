"""GRUB 2 menu entries for Xen (multiboot2 + module2), rendered from plain data."""

from __future__ import annotations

import re
from dataclasses import dataclass

ENTRY_ID = "xenbook-xen"
_GRUB_SAFE = re.compile(r"^[A-Za-z0-9_.,:+=/@%-]*$")
FS_MODULES = {"ext2": "ext2", "ext3": "ext2", "ext4": "ext2", "btrfs": "btrfs", "xfs": "xfs", "vfat": "fat",
              "f2fs": "f2fs"}
CUSTOM_HEADER = ("#!/bin/sh\nexec tail -n +3 $0\n"
                 "# This file provides an easy way to add custom menu entries.  Simply type the\n"
                 "# menu entries you want to add after this comment.  Be careful not to change\n"
                 "# the 'exec tail' line above.\n")


@dataclass(frozen=True)
class XenEntry:
    """Everything a Xen boot entry names."""

    title: str
    boot_uuid: str
    boot_fstype: str
    xen: str  # GRUB path of xen.gz
    xen_args: str
    kernel: str  # GRUB path of vmlinuz
    kernel_args: str
    initrds: tuple[str, ...]  # GRUB paths: initramfs first, then early microcode
    entry_id: str = ENTRY_ID


def check_words(what: str, text: str) -> None:
    """ValueError unless every word of text is safe to place unquoted in grub.cfg."""
    for word in text.split():
        if not _GRUB_SAFE.match(word):
            raise ValueError(f"{what} holds {word!r}, which is not safe in a GRUB entry "
                             "(quotes, $, ;, braces and backslashes are not allowed)")


def render_entry(e: XenEntry) -> str:
    """The menuentry text for e; ValueError when a value could break grub.cfg."""
    for what, value in (("the Xen command line", e.xen_args), ("the dom0 kernel options", e.kernel_args),
                        ("a boot path", " ".join((e.xen, e.kernel) + e.initrds)), ("the /boot UUID", e.boot_uuid)):
        check_words(what, value)
    if "'" in e.title:
        raise ValueError("the entry title may not hold a single quote")
    fs = FS_MODULES.get(e.boot_fstype)
    if fs is None:
        raise ValueError(f"GRUB cannot read /boot on {e.boot_fstype or 'an unknown filesystem'}")
    lines = [
        f"menuentry '{e.title}' --class arch --class gnu-linux --class gnu --class os --class xen --id {e.entry_id} {{",
        "\tinsmod part_gpt",
        "\tinsmod part_msdos",
        f"\tinsmod {fs}",
        "\tinsmod gzio",
        "\tinsmod multiboot2",
        f"\tsearch --no-floppy --fs-uuid --set=root {e.boot_uuid}",
        "\techo\t'Loading Xen hypervisor ...'",
        f"\tmultiboot2\t{e.xen} placeholder {e.xen_args}".rstrip(),
        "\techo\t'Loading Linux and the initial ramdisk ...'",
        f"\tmodule2\t{e.kernel} placeholder {e.kernel_args}".rstrip(),
    ]
    lines += [f"\tmodule2\t--nounzip {path}" for path in e.initrds]
    lines.append("}")
    return "\n".join(lines) + "\n"


def ensure_custom_header(text: str | None) -> str:
    """An /etc/grub.d/40_custom script: text as it is when it starts right, else the stock header first."""
    if text is None or not text.strip():
        return CUSTOM_HEADER
    first_two = text.splitlines()[:2]
    if first_two == ["#!/bin/sh", "exec tail -n +3 $0"]:
        return text if text.endswith("\n") else text + "\n"
    raise ValueError("/etc/grub.d/40_custom does not start with '#!/bin/sh' and 'exec tail -n +3 $0'; "
                     "it was changed by hand: put the xenbook entry in by hand or restore the header")


def menu_entries(grub_cfg: str) -> list[tuple[str, str]]:
    """(title, id) of every menuentry in a grub.cfg, in order (submenus flattened)."""
    out = []
    for m in re.finditer(r"^\s*menuentry\s+'([^']*)'(.*?)\{\s*$", grub_cfg, re.M):
        rest = m.group(2)
        ident = re.search(r"(?:--id|\$menuentry_id_option)\s+'?([^'\s]+)'?", rest)
        out.append((m.group(1), ident.group(1) if ident else ""))
    return out


def default_setting(grub_cfg: str) -> str | None:
    """The value of the unconditional default grub.cfg sets (the else branch of 00_header), quoted "...", '...' or
    not at all; a `set default` inside a menuentry, submenu or function body runs only when that is chosen."""
    found, depth = [], 0
    for line in grub_cfg.splitlines():
        line = line.strip()
        if depth or re.match(r"(menuentry|submenu|function)\s.*\{$", line):
            depth += line.endswith("{") - (line == "}")
            continue
        m = re.match(r"""set\s+default=(?:"([^"]*)"|'([^']*)'|([^\s;#"']*))\s*(?:[;#].*)?$""", line)
        if m and (value := next(g for g in m.groups() if g is not None)) != "${next_entry}":
            found.append(value)
    return found[-1] if found else None
