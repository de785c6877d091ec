"""The guests' bridge on NetworkManager: keyfile profiles for the bridge (with the uplink's IP settings) and for the
uplink as its port, and a conf.d file that leaves the guests' vif*/tap* interfaces alone. The keyfiles are checked
with `nmcli --offline` where it exists (NetworkManager 1.42 and later) and always by xenbook's own reading."""

from __future__ import annotations

from typing import TYPE_CHECKING

from xenbook.core.actions import Plan, WriteFile
from xenbook.core.host import Host
from xenbook.core.step import Step
from xenbook.edits import nmkeyfile
from xenbook.facts import network
from xenbook.sections.dom0.uplink import HEADER, ssh_guard

if TYPE_CHECKING:  # the whole parameter set is assembled above the sections, from each one's model
    from xenbook.engine.params import RunbookParams

SECTION = "dom0"
PROFILE_DIRS = ("/etc/NetworkManager/system-connections", "/run/NetworkManager/system-connections",
                "/usr/lib/NetworkManager/system-connections")
MINE = "/etc/NetworkManager/system-connections"
GUESTS_CONF = "/etc/NetworkManager/conf.d/xenbook-guest-interfaces.conf"
PORT_PRIORITY = 100  # above the default 0 of the user's wired profile, so NetworkManager activates the port at boot
GUESTS = [("device-xenbook-guest-interfaces", [("match-device", "interface-name:vif*;interface-name:tap*"),
                                               ("managed", "0")])]


def profiles(host: Host) -> list[tuple[str, nmkeyfile.Groups]]:
    """(path, parsed) of every keyfile profile NetworkManager loads (a name in /etc hides the same in /run, /usr)."""
    seen: dict[str, str] = {}
    for folder in PROFILE_DIRS:
        for name in host.listdir(folder) or []:
            if name.endswith(".nmconnection") and name not in seen:
                seen[name] = f"{folder}/{name}"
    return [(seen[n], nmkeyfile.parse(host.read_text(seen[n]) or "")) for n in sorted(seen)]


class XenBridgeNM(Step):
    section, name = SECTION, "XenBridge"

    def __init__(self, params: RunbookParams):
        self.params = params

    def paths(self, uplink: str) -> tuple[str, str]:
        br = self.params.dom0.bridge
        return f"{MINE}/xenbook-{br}.nmconnection", f"{MINE}/xenbook-{br}-port-{uplink}.nmconnection"

    def plan(self, host: Host) -> Plan:
        br = self.params.dom0.bridge
        found = profiles(host)
        prefix = f"{MINE}/xenbook-{br}-port-"
        ports = [nmkeyfile.value(g, "connection", "interface-name") for p, g in found if p.startswith(prefix)]
        uplink, how = network.choose_uplink(host, br, self.params.dom0.uplink, ports)
        if not uplink:
            return Plan.fail(f"no uplink for {br}: {how}", "set dom0.uplink to the NIC that reaches the network")
        bridge_path, port_path = self.paths(uplink)
        link = network.links(host).get(uplink) or network.Link(uplink)
        mac = link.mac or (host.read_text(f"/sys/class/net/{uplink}/address") or "").strip()
        theirs = [(p, g) for p, g in found if not p.startswith(f"{MINE}/xenbook-{br}")
                  and nmkeyfile.for_device(g, uplink, mac) and nmkeyfile.autoconnects(g)]
        source = max(theirs, key=lambda pg: nmkeyfile.priority(pg[1]), default=None)
        mine = dict(found).get(bridge_path)
        settings = nmkeyfile.ip_settings(source[1] if source else mine or [])
        beats = [p for p, g in theirs if nmkeyfile.priority(g) >= PORT_PRIORITY]
        if beats:
            return Plan.fail(f"{beats[0]} has autoconnect-priority {nmkeyfile.priority(dict(theirs)[beats[0]])} for "
                             f"{uplink}, at least the port profile's {PORT_PRIORITY}: {uplink} would not join {br}",
                             f"lower its connection.autoconnect-priority below {PORT_PRIORITY}, or set its "
                             "connection.autoconnect to false")
        bridge_uuid = nmkeyfile.stable_uuid(br)
        wanted = {
            bridge_path: nmkeyfile.render([
                ("connection", [("id", br), ("uuid", bridge_uuid), ("type", "bridge"), ("interface-name", br),
                                ("autoconnect-slaves", "1")]),
                ("ethernet", [("cloned-mac-address", mac)] if mac else []),
                ("bridge", [("stp", "false")])] + settings, HEADER),
            port_path: nmkeyfile.render([
                ("connection", [("id", f"{br}-port-{uplink}"), ("uuid", nmkeyfile.stable_uuid(f"{br}-port-{uplink}")),
                                ("type", "ethernet"), ("interface-name", uplink), ("master", bridge_uuid),
                                ("slave-type", "bridge"), ("autoconnect-priority", str(PORT_PRIORITY))]),
                ("ethernet", []), ("bridge-port", [])], HEADER),
        }
        actions = []
        for path, text in wanted.items():
            old, info = host.read_bytes(path), host.stat(path)
            if old != text.encode() or (info is not None and info.mode != 0o600):  # NM skips a keyfile not 0600
                actions.append(WriteFile(path, old, text.encode(), mode=0o600, validator="nm-keyfile", set_mode=True))
        guests = nmkeyfile.render(GUESTS, HEADER.replace("the Xen guests' bridge", "NetworkManager leaves the "
                                                         "guests' interfaces to Xen's bridge"))
        if host.read_bytes(GUESTS_CONF) != guests.encode():
            actions.append(WriteFile(GUESTS_CONF, host.read_bytes(GUESTS_CONF), guests.encode(), mode=0o644,
                                     validator="nm-conf"))
        stale = [p for p, _ in found if p.startswith(prefix) and p != port_path]
        if stale:
            return Plan.fail(f"{stale[0]} is an earlier port profile of xenbook's for another NIC",
                             "remove it (nmcli connection delete), or set dom0.uplink to the NIC it names")
        if not actions:
            return Plan.ok(f"{uplink} ({how}) is a port of {br}, which has its IP settings")
        refused, warn = ssh_guard(host, self.params, uplink)
        if refused:
            return refused
        origin = (f" (IP settings from {source[0]}, which stays; the port profile's autoconnect-priority "
                  f"{PORT_PRIORITY} wins over it)" if source else " (DHCP, as NetworkManager's automatic wired "
                  "profile)")
        return Plan(actions, f"bridge {br} with {uplink} ({how}) as its port{origin}; takes effect at the "
                             f"reboot{warn}")
