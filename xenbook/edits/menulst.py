"""GRUB legacy's /boot/grub/menu.lst: a Xen entry (kernel /xen.gz, module lines) and the default entry."""

from __future__ import annotations

import re
from dataclasses import dataclass

from xenbook.edits import blocks
from xenbook.edits.grubentry import check_words

KEYWORDS = {"title", "root", "kernel", "module", "modulenounzip", "initrd", "default", "timeout", "fallback",
            "color", "password", "hiddenmenu", "splashimage", "gfxmenu", "savedefault", "boot", "chainloader",
            "makeactive", "rootnoverify", "map", "lock", "uuid", "find", "setkey", "terminal", "serial", "quiet",
            "foreground", "background", "configfile", "hide", "unhide", "setup", "install", "pause"}
_ROOT = re.compile(r"^\(hd\d+(,\d+)?\)$")


@dataclass(frozen=True)
class LegacyEntry:
    title: str
    root: str  # GRUB legacy drive, e.g. (hd0,0)
    xen: str
    xen_args: str
    kernel: str
    kernel_args: str
    modules: tuple[str, ...]  # initramfs first, then early microcode


def render_entry(e: LegacyEntry) -> str:
    """The entry's lines; ValueError when a value could break menu.lst."""
    if not _ROOT.match(e.root):
        raise ValueError(f"{e.root!r} is not a GRUB legacy drive such as (hd0,0)")
    if "\n" in e.title:
        raise ValueError("the title must be one line")
    for what, value in (("the Xen command line", e.xen_args), ("the dom0 kernel options", e.kernel_args),
                        ("a boot path", " ".join((e.xen, e.kernel) + e.modules))):
        check_words(what, value)
    lines = [f"title  {e.title}", f"root   {e.root}", f"kernel {e.xen} {e.xen_args}".rstrip(),
             f"module {e.kernel} {e.kernel_args}".rstrip()] + [f"module {m}" for m in e.modules]
    return "\n".join(lines) + "\n"


def titles(text: str, *, outside: str | None = None) -> list[str]:
    """Entry titles in order; with outside, those of block outside left out."""
    if outside is not None:
        text = blocks.remove_block(text, outside)
    return [line.split(None, 1)[1].strip() if len(line.split()) > 1 else ""
            for line in text.splitlines() if line.strip().split(None, 1)[:1] == ["title"]]


def entry_roots(text: str) -> list[str]:
    """The root drives entries use, e.g. ['(hd0,0)']."""
    return [line.split()[1] for line in text.splitlines() if line.strip().startswith("root ") and len(line.split()) > 1]


def ensure_block_before_entries(text: str, block_id: str, body: str) -> str:
    """text with block block_id placed before the first title line (global commands must come first)."""
    if blocks.find_block(text, block_id) is not None:
        return blocks.ensure_block(text, block_id, body)
    begin, end = blocks.markers(block_id)
    lines = text.splitlines(keepends=True)
    at = next((i for i, line in enumerate(lines) if line.strip().split(None, 1)[:1] == ["title"]), len(lines))
    while at > 0 and lines[at - 1].lstrip().startswith("#") and "xenbook" not in lines[at - 1]:
        at -= 1  # keep an entry's comment header (e.g. "# (0) Arch Linux") with its entry
    block = f"{begin}\n{body if body.endswith(chr(10)) else body + chr(10)}{end}\n"
    if at > 0 and not lines[at - 1].endswith("\n"):
        lines[at - 1] += "\n"
    return "".join(lines[:at]) + block + "".join(lines[at:])


def check_menu(data: bytes) -> str | None:
    """Why GRUB legacy would not understand data, or None."""
    for n, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        word = line.strip().split(None, 1)[:1]
        if word and not word[0].startswith("#") and word[0].split("=")[0] not in KEYWORDS:
            return f"line {n}: {word[0]!r} is not a GRUB legacy command"
    return None
