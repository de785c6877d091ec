"""The domU section's part of the host report: the guest configurations xenbook wrote, and the state of each."""

from __future__ import annotations

from typing import Any

from xenbook.core.document import Block, Code, Part, Table
from xenbook.core.host import Host
from xenbook.facts import domains as domfacts
from xenbook.facts.managed import MANAGED_MARK, text_quietly
from xenbook.safety.redact import redact


def guest_parts(host: Host, params: Any, checked: Any) -> list[Part]:
    try:
        running = {d["name"]: d for d in domfacts.domains(host) or []}
    except ValueError:
        running = {}
    blocks: list[Block] = []
    rows = []
    for name in host.listdir("/etc/xen") or []:
        text = text_quietly(host, f"/etc/xen/{name}") if name.endswith(".cfg") else None
        if text and MANAGED_MARK in text:
            guest = name[:-4]
            d = running.get(guest)
            rows.append([guest, d["state"] if d else "not running", str(d["domid"]) if d else "",
                         str(d["memory_mib"]) if d else "", str(d["vcpus"]) if d else "",
                         "yes" if host.exists(f"/etc/xen/auto/{name}") else "no"])
            blocks.append(Code(f"/etc/xen/{name}", redact(text)))
    return [Part("Guests", ([Table(["guest", "state", "domid", "memory (MiB)", "vCPUs", "at boot"], rows)] + blocks) if rows
                 else ["No guest configuration written by xenbook."])]
