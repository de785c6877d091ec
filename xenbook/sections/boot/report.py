"""The boot section's part of the host report: xenbook's parts of the boot files, and Xen's command line as they
configure it, as it runs now, and the kernel's."""

from __future__ import annotations

import re
from typing import Any

from xenbook.core.document import Block, Code, Part, Table
from xenbook.core.host import Host
from xenbook.facts import xen
from xenbook.facts.managed import managed_parts, text_quietly
from xenbook.safety.redact import redact

BOOT_FILES = (("/etc/default/grub", "GRUB 2 defaults"), ("/etc/grub.d/40_custom", "GRUB 2 custom entries"),
              ("/boot/grub/grub.cfg", "GRUB 2 generated menu"), ("/boot/grub/menu.lst", "GRUB legacy menu"),
              ("/boot/xen.cfg", "xen.efi configuration"), ("/boot/loader/entries/xenbook-xen.conf",
                                                           "systemd-boot entry"))
_XEN_ARGS = (re.compile(r'^GRUB_CMDLINE_XEN_DEFAULT="([^"]*)"', re.M),
             re.compile(r"^\s*multiboot2?\s+\S*xen\S*\s+(.*)$", re.M),
             re.compile(r"^\s*kernel\s+\S*xen\.gz\s+(.*)$", re.M), re.compile(r"^options=(.*)$", re.M))


def _args(text: str) -> str:
    return text.strip().removeprefix("placeholder").strip()


def xen_command_line(texts: list[str]) -> str:
    """The Xen command line the boot configuration gives, from the first file that sets one."""
    for pattern in _XEN_ARGS:
        for text in texts:
            found = pattern.search(text)
            if found:
                return _args(found.group(1))
    return ""


def boot_parts(host: Host, params: Any, checked: Any) -> list[Part]:
    blocks: list[Block] = []
    texts = []
    for path, what in BOOT_FILES:
        text = text_quietly(host, path)
        part = managed_parts(text, whole=path.endswith((".cfg", ".conf")) and "grub" not in path) if text else ""
        if part:
            texts.append(part)
            blocks.append(Code(f"{what}: {path} (xenbook's part)", redact(part)))
    configured = xen_command_line(texts)
    info = xen.xl_info(host) if xen.xen_state(host).dom0 else None
    running = getattr(info, "xen_commandline", "") if info else ""
    rows = [["configured (boot files)", configured or "none found"],
            ["running now", _args(running) or ("not running under Xen" if info is None else "unknown")],
            ["the kernel's command line now", _args(text_quietly(host, "/proc/cmdline") or "")]]
    return [Part("Boot: the Xen entry", [Table(["Xen command line", "value"], rows)]
                 + (blocks or ["No xenbook boot entry was found."]))]
