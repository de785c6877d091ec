"""The guests' bridge (xenbr0): the uplink NIC joins it and its address configuration moves onto it."""

from __future__ import annotations

import json

from ..actions import Plan, RunCommand, WriteFile
from ..commands import Command
from ..edits import networkd
from ..facts import services
from ..hosts.base import Host
from ..params import RunbookParams
from .base import Step

SECTION = "dom0"
NETWORK_DIRS = ("/etc/systemd/network", "/run/systemd/network", "/usr/lib/systemd/network")
HEADER = "# Managed by xenbook: the Xen guests' bridge. Takes effect at the next boot.\n"


def default_route_device(host: Host) -> str | None:
    result = host.run(Command.of("ip", "-j", "route", "show", "default"))
    try:
        routes = json.loads(result.stdout) if result.ok else []
    except ValueError:
        return None
    return next((r.get("dev") for r in routes if r.get("dev")), None)


def network_manager(host: Host, wanted: str) -> str | None:
    """systemd-networkd, netctl or NetworkManager, as configured (wanted) or as enabled on the host."""
    if wanted != "auto":
        return wanted
    for unit, name in (("systemd-networkd.service", "systemd-networkd"), ("NetworkManager.service", "NetworkManager")):
        if services.unit_state(host, unit).enabled:
            return name
    if host.listdir("/etc/netctl") and any(n.startswith("netctl") for n in
                                             host.listdir("/etc/systemd/system/multi-user.target.wants") or []):
        return "netctl"
    return None


def network_files(host: Host) -> list[tuple[str, str]]:
    """(path, text) of every .network file in the order systemd-networkd reads them (by file name)."""
    seen: dict[str, str] = {}
    for folder in NETWORK_DIRS:
        for name in host.listdir(folder) or []:
            if name.endswith(".network") and name not in seen:
                seen[name] = f"{folder}/{name}"
    return [(seen[n], host.read_text(seen[n]) or "") for n in sorted(seen)]


class XenBridge(Step):
    """systemd-networkd: a bridge netdev, the bridge's .network with the uplink's addresses, the uplink as a port."""

    section, name = SECTION, "XenBridge"

    def __init__(self, params: RunbookParams, manager: str):
        self.params, self.manager = params, manager

    def paths(self, uplink: str) -> tuple[str, str, str]:
        br = self.params.dom0.bridge
        return (f"/etc/systemd/network/00-xenbook-{br}.netdev", f"/etc/systemd/network/00-xenbook-{br}.network",
                f"/etc/systemd/network/00-xenbook-{br}-{uplink}.network")

    def plan(self, host: Host) -> Plan:
        if self.manager != "systemd-networkd":
            return self._unsupported()
        br = self.params.dom0.bridge
        uplink = self.params.dom0.uplink or default_route_device(host)
        if not uplink:
            return Plan.fail("no uplink: there is no default route and no uplink parameter",
                             "set dom0.uplink to the NIC that reaches the network")
        netdev, bridge_net, port_net = self.paths(uplink)
        files = [(p, t) for p, t in network_files(host) if p not in (bridge_net, port_net)]
        source = next(((p, networkd.parse(t)) for p, t in files if networkd.matches_interface(networkd.parse(t), uplink)),
                      None)
        mine = host.read_text(bridge_net)
        if source is None and mine is None:
            return Plan.fail(f"no .network file configures {uplink}", f"configure {uplink} with systemd-networkd first")
        moved = networkd.address_config(source[1]) if source else networkd.parse(mine or "")[1:]
        if not moved:
            return Plan.fail(f"{source[0] if source else bridge_net} gives {uplink} no address (no DHCP= or Address=)",
                             "give the uplink its addresses first, or set dom0.network to none")
        mac = (host.read_text(f"/sys/class/net/{uplink}/address") or "").strip()
        wanted = {
            netdev: networkd.render([("NetDev", [("Name", br), ("Kind", "bridge")] + ([("MACAddress", mac)] if mac
                                                                                       else []))], HEADER),
            bridge_net: networkd.render([("Match", [("Name", br)])] + moved, HEADER),
            port_net: networkd.render([("Match", [("Name", uplink)]), ("Network", [("Bridge", br)])], HEADER),
        }
        actions = []
        for path, text in wanted.items():
            old = host.read_bytes(path)
            if old != text.encode():
                actions.append(WriteFile(path, old, text.encode(), mode=0o644, validator="network-file"))
        if not actions:
            return Plan.ok(f"{uplink} is a port of {br}, which has its address configuration")
        warn = ""
        if host.target.startswith("ssh:"):
            if not self.params.dom0.network_over_ssh:
                return Plan.fail(f"this moves {uplink}'s addresses to {br} on a host reached over SSH: a mistake "
                                 "cuts the connection at the next boot",
                                 "make sure you have a console (IPMI, KVM, serial), then set dom0.network_over_ssh")
            warn = "; you are connected over SSH: keep a console at hand for the reboot"
        origin = f" (from {source[0]}, which stays as it is but no longer matches first)" if source else ""
        return Plan(actions, f"bridge {br} with {uplink} as its port{origin}; takes effect at the reboot{warn}")

    def _unsupported(self) -> Plan:
        br = self.params.dom0.bridge
        if self.manager == "NetworkManager":
            return Plan.fail("the host uses NetworkManager; xenbook writes bridges for systemd-networkd",
                             f"nmcli connection add type bridge ifname {br} con-name {br}; nmcli connection add "
                             f"type bridge-slave ifname <nic> master {br}; or set dom0.network to none")
        if self.manager == "netctl":
            return Plan.fail("the host uses netctl; xenbook writes bridges for systemd-networkd",
                             f"write /etc/netctl/{br} (Connection=bridge, BindsToInterfaces=(<nic>), IP=dhcp), "
                             f"netctl disable <old profile>, netctl enable {br}; or set dom0.network to none")
        return Plan.fail("no network manager found (systemd-networkd, netctl or NetworkManager)",
                         "set dom0.network to systemd-networkd after configuring it, or to none")


class NetworkdEnabled(Step):
    section, name = SECTION, "NetworkdEnabled"

    def plan(self, host: Host) -> Plan:
        if services.unit_state(host, "systemd-networkd.service").enabled:
            return Plan.ok("systemd-networkd is enabled")
        return Plan.change("enable systemd-networkd", RunCommand(Command.of("systemctl", "enable",
                                                                          "systemd-networkd.service")))


def bridge_steps(params: RunbookParams, host: Host) -> list[Step]:
    if params.dom0.network == "none":
        return []
    manager = network_manager(host, params.dom0.network)
    steps: list[Step] = [XenBridge(params, manager or "")]
    return steps + ([NetworkdEnabled()] if manager == "systemd-networkd" else [])
