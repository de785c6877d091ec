"""dom0's network links as iproute2 reports them, and which one can carry the guests' bridge (the uplink)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from xenbook.core.commands import Command
from xenbook.core.host import Host

PORT_KINDS = ("bond", "vlan")  # virtual links that are real uplinks: a bond of NICs, a VLAN on one
GUEST_PREFIXES = ("vif", "tap")  # Xen's backend interfaces of guests (vifD.N, vifD.N-emu) and old tapD.N


@dataclass(frozen=True)
class Link:
    name: str
    kind: str = ""  # iproute2's linkinfo.info_kind: "" for a NIC, bridge, bond, vlan, veth, dummy, tun ...
    master: str = ""  # the bridge or bond it is a port of
    link_type: str = "ether"
    mac: str = ""
    wireless: bool = False


def default_route_device(host: Host) -> str | None:
    result = host.run(Command.of("ip", "-j", "route", "show", "default"))
    try:
        routes = json.loads(result.stdout) if result.ok else []
    except ValueError:
        return None
    return next((r.get("dev") for r in routes if isinstance(r, dict) and r.get("dev")), None)


def links(host: Host) -> dict[str, Link]:
    """Every link of `ip -j -d link show`, by name; {} when ip fails (read once per plan)."""
    return host.fact(_links)


def _links(host: Host) -> dict[str, Link]:
    result = host.run(Command.of("ip", "-j", "-d", "link", "show"))
    try:
        rows = json.loads(result.stdout) if result.ok else []
    except ValueError:
        return {}
    out = {}
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict) or not row.get("ifname"):
            continue
        info = row.get("linkinfo") or {}
        name = row["ifname"]
        out[name] = Link(name, info.get("info_kind", ""), row.get("master", ""), row.get("link_type", ""),
                         row.get("address", ""), host.exists(f"/sys/class/net/{name}/wireless"))
    return out


def why_not_uplink(link: Link | None, name: str, bridge: str) -> str:
    """Why name cannot be the bridge's uplink ("" when it can)."""
    if name == bridge:
        return f"{name} is the bridge itself"
    if link is None:
        return f"there is no link {name}"
    if link.kind == "bridge":
        return f"{name} is a bridge"
    if name.startswith(GUEST_PREFIXES):
        return f"{name} is a guest's interface"
    if link.master and link.master != bridge:
        return f"{name} is already a port of {link.master}"
    if link.kind and link.kind not in PORT_KINDS:
        return f"{name} is a virtual device ({link.kind})"
    if link.link_type != "ether":
        return f"{name} is not an Ethernet link ({link.link_type})"
    if link.wireless:
        return f"{name} is a Wi-Fi link, which cannot be a bridge port in station mode"
    return ""


def choose_uplink(host: Host, bridge: str, wanted: str | None, named: list[str]) -> tuple[str | None, str]:
    """(uplink, how it was chosen) or (None, why none can be): the parameter, else the port xenbook's own file
    names (after the reboot the default route goes through the bridge), else the default route's device, or the
    one NIC already in the bridge when that route goes through it."""
    known = links(host)
    if wanted:
        why = why_not_uplink(known.get(wanted), wanted, bridge)
        return (None, f"dom0.uplink {wanted} cannot be {bridge}'s port: {why}") if why else (wanted, "dom0.uplink")
    usable = [n for n in named if not why_not_uplink(known.get(n), n, bridge)]
    if len(usable) == 1:
        return usable[0], "the port xenbook's file names"
    if len(usable) > 1:
        return None, f"xenbook's files name several ports of {bridge}: {', '.join(usable)}"
    route = default_route_device(host)
    if route is None:
        return None, "there is no default route"
    why = why_not_uplink(known.get(route), route, bridge)
    if not why:
        return route, "the default route's device"
    ports = [n for n, link in known.items() if link.master == bridge and not why_not_uplink(link, n, bridge)]
    if route == bridge and len(ports) == 1:
        return ports[0], f"the NIC in {bridge}, which carries the default route"
    return None, f"the default route goes through {route}, and {why}"


NETWORK_DIRS = ("/etc/systemd/network", "/run/systemd/network", "/usr/lib/systemd/network")


def network_files(host: Host, suffix: str = ".network") -> list[tuple[str, str]]:
    """(path, text) of systemd-networkd's files with suffix in the order it reads them: by file name, a name in
    /etc hiding the same name in /run and /usr/lib."""
    seen: dict[str, str] = {}
    for folder in NETWORK_DIRS:
        for name in host.listdir(folder) or []:
            if name.endswith(suffix) and name not in seen:
                seen[name] = f"{folder}/{name}"
    return [(seen[n], host.read_text(seen[n]) or "") for n in sorted(seen)]
