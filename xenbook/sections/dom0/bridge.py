"""The guests' bridge (xenbr0): the uplink NIC joins it and its address configuration moves onto it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from xenbook.core.actions import Plan, RemoveFile, WriteFile
from xenbook.core.host import Host
from xenbook.core.step import Step
from xenbook.edits import networkd
from xenbook.facts import network, services
from xenbook.sections.dom0.bridge_netctl import XenBridgeNetctl
from xenbook.sections.dom0.bridge_nm import XenBridgeNM
from xenbook.sections.dom0.uplink import HEADER, BridgedTrafficFiltered, ssh_guard
from xenbook.steps.system import UnitEnabled

if TYPE_CHECKING:  # the whole parameter set is assembled above the sections, from each one's model
    from xenbook.engine.params import RunbookParams

SECTION = "dom0"
GUESTS_FILE = "/etc/systemd/network/00-xenbook-guest-interfaces.network"
GUESTS_NETWORK = [("Match", [("Name", "vif* tap*")]), ("Link", [("Unmanaged", "yes")])]


def network_manager(host: Host, wanted: str) -> str | None:
    """systemd-networkd, NetworkManager or netctl, as configured (wanted) or as enabled on the host."""
    if wanted != "auto":
        return wanted
    for unit, name in (("systemd-networkd.service", "systemd-networkd"), ("NetworkManager.service", "NetworkManager")):
        if services.unit_state(host, unit).enabled:
            return name
    if host.listdir("/etc/netctl") and any(n.startswith("netctl") for n in
                                             host.listdir("/etc/systemd/system/multi-user.target.wants") or []):
        return "netctl"
    return None


class XenBridge(Step):
    """systemd-networkd: a bridge netdev, the bridge's .network with the uplink's addresses, the uplink as a port,
    and a file that keeps networkd off the guests' vif*/tap* interfaces."""

    section = SECTION

    def __init__(self, params: RunbookParams, manager: str):
        self.params, self.manager = params, manager

    def paths(self, uplink: str) -> tuple[str, str, str]:
        br = self.params.dom0.bridge
        return (f"/etc/systemd/network/00-xenbook-{br}.netdev", f"/etc/systemd/network/00-xenbook-{br}.network",
                f"/etc/systemd/network/00-xenbook-{br}-{uplink}.network")

    def _port_files(self, host: Host) -> dict[str, tuple[str, str]]:
        """xenbook's port files of this bridge: path -> (the interface it names, its text)."""
        br, folder = self.params.dom0.bridge, "/etc/systemd/network"
        out = {}
        for name in host.listdir(folder) or []:
            if name.startswith(f"00-xenbook-{br}-") and name.endswith(".network"):
                text = host.read_text(f"{folder}/{name}") or ""
                names = networkd.values(networkd.parse(text), "Match", "Name")
                out[f"{folder}/{name}"] = (names[-1] if names else "", text)
        return out

    def plan(self, host: Host) -> Plan:
        if self.manager != "systemd-networkd":
            return self._unsupported()
        br = self.params.dom0.bridge
        ports = self._port_files(host)
        uplink, how = network.choose_uplink(host, br, self.params.dom0.uplink,
                                            [n for n, t in ports.values() if t.startswith(HEADER)])
        if not uplink:
            return Plan.fail(f"no uplink for {br}: {how}", "set dom0.uplink to the NIC that reaches the network")
        netdev, bridge_net, port_net = self.paths(uplink)
        files = [(p, t) for p, t in network.network_files(host) if p not in (bridge_net, port_net, GUESTS_FILE)
                 and p not in ports]
        link = network.links(host).get(uplink) or network.Link(uplink)
        source = next(((p, networkd.parse(t)) for p, t in files
                       if networkd.matches(networkd.parse(t), uplink, "ether", link.mac, link.kind)), None)
        mine = host.read_text(bridge_net)
        if source is None and mine is None:
            return Plan.fail(f"no .network file configures {uplink}", f"configure {uplink} with systemd-networkd first")
        moved = networkd.address_config(source[1]) if source else networkd.parse(mine or "")[1:]
        if not moved:
            return Plan.fail(f"{source[0] if source else bridge_net} gives {uplink} no address (no DHCP= or Address=)",
                             "give the uplink its addresses first, or set dom0.network to none")
        mac = link.mac or (host.read_text(f"/sys/class/net/{uplink}/address") or "").strip()
        wanted = {
            netdev: networkd.render([("NetDev", [("Name", br), ("Kind", "bridge")] + ([("MACAddress", mac)] if mac
                                                                                       else []))], HEADER),
            bridge_net: networkd.render([("Match", [("Name", br)])] + moved, HEADER),
            port_net: networkd.render([("Match", [("Name", uplink)]), ("Network", [("Bridge", br)])], HEADER),
            GUESTS_FILE: networkd.render(GUESTS_NETWORK, HEADER.replace("the Xen guests' bridge", "not the guests' "
                                                                        "interfaces, which Xen puts in the bridge")),
        }
        earlier = self._matches_first(files, wanted, (uplink, "ether", mac, link.kind), (br, "bridge", mac, "bridge"))
        if earlier:
            return Plan.fail(earlier, "rename that file so it sorts after 00-xenbook-* (e.g. 10-...), or narrow its "
                             "[Match]; systemd-networkd applies only the first .network file that matches a link")
        actions: list = [RemoveFile(p, t.encode()) for p, (n, t) in sorted(ports.items())
                         if p != port_net and t.startswith(HEADER)]
        for path, text in wanted.items():
            old = host.read_bytes(path)
            if old != text.encode():
                actions.append(WriteFile(path, old, text.encode(), mode=0o644, validator="network-file"))
        if not actions:
            return Plan.ok(f"{uplink} ({how}) is a port of {br}, which has its address configuration")
        refused, warn = ssh_guard(host, self.params, uplink)
        if refused:
            return refused
        origin = f" (from {source[0]}, which stays as it is; xenbook's files now match first)" if source else ""
        stale = [a.path for a in actions if isinstance(a, RemoveFile)]
        gone = f"; removes {', '.join(stale)}, an earlier port file of xenbook's" if stale else ""
        return Plan(actions, f"bridge {br} with {uplink} ({how}) as its port{origin}{gone}; takes effect at the "
                             f"reboot{warn}")

    @staticmethod
    def _matches_first(files: list[tuple[str, str]], wanted: dict[str, str], *links) -> str:
        """Why one of the user's files would still win over xenbook's for the uplink or the bridge ("" if none)."""
        ordered = sorted([(p.rsplit("/", 1)[1], p, t) for p, t in files] +
                         [(p.rsplit("/", 1)[1], p, t) for p, t in wanted.items() if p.endswith(".network")])
        for name, type_, mac, kind in links:
            first = next((p for _n, p, t in ordered if networkd.matches(networkd.parse(t), name, type_, mac, kind)),
                         None)
            if first and first not in wanted:
                return f"{first} sorts before xenbook's files and matches {name}, so {name} would not join the bridge" \
                    if type_ == "ether" else f"{first} sorts before xenbook's files and matches {name}"
        return ""

    def _unsupported(self) -> Plan:
        return Plan.fail("no network manager found (systemd-networkd, NetworkManager or netctl)",
                         "set dom0.network to the one that configures the host's network, or to none")


def bridge_steps(params: RunbookParams, host: Host) -> list[Step]:
    if params.dom0.network == "none":
        return []
    manager = network_manager(host, params.dom0.network)
    if manager == "NetworkManager":
        steps: list[Step] = [XenBridgeNM(params)]
    elif manager == "netctl":
        steps = [XenBridgeNetctl(params)]
    else:
        steps = [XenBridge(params, manager or "")] + ([UnitEnabled(
            "systemd-networkd.service", "systemd", section=SECTION, name="NetworkdEnabled",
            why="it sets up the bridge at boot")] if manager == "systemd-networkd" else [])
    return steps + [BridgedTrafficFiltered()]
