"""The dom0 section's parts of the host report: Xen's units and xl.conf, and the bridge files xenbook wrote."""

from __future__ import annotations

from typing import Any

from xenbook.core.commands import Command
from xenbook.core.document import Block, Code, Part, Table
from xenbook.core.host import Host
from xenbook.facts import services
from xenbook.facts.managed import MANAGED_MARK, managed_parts, text_quietly
from xenbook.safety.redact import redact
from xenbook.sections.dom0.steps import CORE_UNITS, QEMU_BACKEND, XL_CONF

NETWORK_DIR = "/etc/systemd/network"
UNITS = (*CORE_UNITS, QEMU_BACKEND, "xendomains.service", "systemd-networkd.service")


def _services(host: Host) -> list[Block]:
    rows = []
    active = host.run(Command.of("systemctl", "is-active", *UNITS)).stdout.split()
    for unit, state in zip(UNITS, active + [""] * len(UNITS)):
        u = services.unit_state(host, unit)
        rows.append([unit, "installed" if u.installed else "not installed", "enabled" if u.enabled else "disabled",
                     state])
    conf = managed_parts(text_quietly(host, XL_CONF) or "")
    return [Table(["unit", "package", "at boot", "now"], rows)] + (
        [Code(f"{XL_CONF} (xenbook's part)", redact(conf))] if conf else ["xl.conf has no xenbook settings."])


def _bridges(host: Host) -> list[Block]:
    blocks: list[Block] = []
    for name in host.listdir(NETWORK_DIR) or []:
        text = text_quietly(host, f"{NETWORK_DIR}/{name}") or ""
        if "xenbook" in name or MANAGED_MARK in text:
            blocks.append(Code(f"{NETWORK_DIR}/{name}", redact(text)))
    return blocks or ["No bridge written by xenbook."]


def dom0_parts(host: Host, params: Any, checked: Any) -> list[Part]:
    return [Part("dom0: services and xl.conf", _services(host)), Part("Bridges", _bridges(host))]
