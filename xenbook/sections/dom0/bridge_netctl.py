"""The guests' bridge on netctl: a bridge profile with the uplink's IP settings; the uplink's own profile disabled and
the bridge's enabled with the host's `netctl`. netctl configures only the interfaces its profiles name, so the
guests' vif*/tap* interfaces need no rule."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from xenbook.core.actions import Plan, RunCommand, WriteFile
from xenbook.core.commands import Command
from xenbook.core.host import Host
from xenbook.core.step import Step
from xenbook.edits import netctl
from xenbook.facts import network
from xenbook.sections.dom0.uplink import HEADER, ssh_guard

if TYPE_CHECKING:  # the whole parameter set is assembled above the sections, from each one's model
    from xenbook.engine.params import RunbookParams

SECTION = "dom0"
PROFILES = "/etc/netctl"
WANTS = "/etc/systemd/system/multi-user.target.wants"


def unit_name(profile: str) -> str:
    """netctl@<profile>.service with the profile name escaped as `systemd-escape --template=netctl@.service` does."""
    escaped = "".join(c if re.match(r"[A-Za-z0-9:_.]", c) and not (n == 0 and c == ".") else
                      "-" if c == "/" else "".join(f"\\x{b:02x}" for b in c.encode()) for n, c in enumerate(profile))
    return f"netctl@{escaped}.service"


def enabled(host: Host, profile: str) -> bool:
    return host.stat(f"{WANTS}/{unit_name(profile)}") is not None


class XenBridgeNetctl(Step):
    section, name = SECTION, "XenBridge"

    def __init__(self, params: RunbookParams):
        self.params = params

    def plan(self, host: Host) -> Plan:
        br = self.params.dom0.bridge
        name = f"xenbook-{br}"
        path = f"{PROFILES}/{name}"
        profiles = {}
        for entry in sorted(host.listdir(PROFILES) or []):
            info = host.stat(f"{PROFILES}/{entry}")
            if info is not None and info.kind == "file":
                profiles[entry] = host.read_text(f"{PROFILES}/{entry}") or ""
        mine_text = profiles.pop(name, None)
        mine = netctl.parse(mine_text) if mine_text and mine_text.startswith(HEADER) else {}
        uplink, how = network.choose_uplink(host, br, self.params.dom0.uplink, netctl.interfaces(mine))
        if not uplink:
            return Plan.fail(f"no uplink for {br}: {how}", "set dom0.uplink to the NIC that reaches the network")
        theirs = [(n, netctl.parse(t)) for n, t in profiles.items()]
        theirs = [(n, p) for n, p in theirs if uplink in netctl.interfaces(p) and p.get("Connection") == "ethernet"]
        source = next(((n, p) for n, p in theirs if enabled(host, n)), theirs[0] if theirs else None)
        settings = [(k, (source[1] if source else mine)[k]) for k in netctl.IP_KEYS if k in (source[1] if source
                                                                                              else mine)]
        if not settings:
            return Plan.fail(f"no netctl profile in {PROFILES} gives {uplink} an address (IP=dhcp or static)",
                             f"configure {uplink} with a netctl ethernet profile first, or set dom0.network to none")
        text = netctl.render([("Description", f"Xen guests bridge {br}, made by xenbook"), ("Interface", br),
                              ("Connection", "bridge"), ("BindsToInterfaces", [uplink]), ("MACAddress", uplink),
                              ("SkipForwardingDelay", "yes")] + settings, HEADER)
        actions: list = []
        old = host.read_bytes(path)
        if old != text.encode():
            actions.append(WriteFile(path, old, text.encode(), mode=0o644, validator="shell"))
        others = [n for n, _ in theirs if enabled(host, n)]
        actions += [RunCommand(Command.of("netctl", "disable", n), f"{n} would take {uplink} from the bridge")
                    for n in others]
        if not enabled(host, name):
            actions.append(RunCommand(Command.of("netctl", "enable", name), "start the bridge at boot"))
        if not actions:
            return Plan.ok(f"{uplink} ({how}) is a port of {br}, whose netctl profile {name} is enabled")
        refused, warn = ssh_guard(host, self.params, uplink)
        if refused:
            return refused
        origin = f" (IP settings from {source[0]}{', now disabled' if others else ''})" if source else ""
        return Plan(actions, f"bridge {br} with {uplink} ({how}) as its port, netctl profile {name}{origin}; takes "
                             f"effect at the reboot{warn}")
