"""What the sample host's network managers set up at boot, read with the sample's own readers: systemd-networkd
(network.py), NetworkManager (its keyfiles and conf.d device rules) and netctl (its enabled profiles); and a
SIMULATED `netctl` that enables and disables profiles as netctl's own script does (a link and a drop-in)."""

from __future__ import annotations

import os
import posixpath
import re
import shlex

from xenbook.core.commands import Result
from xenbook_sample.network import SHORT, _lease, _persistent_mac, _read_config, networkd_decisions
from xenbook_sample.options import Usage
from xenbook_sample.profiles import Profile
from xenbook_sample.services import unit_state
from xenbook_sample.unitfiles import install_links

NM_DIRS = ("/etc/NetworkManager/system-connections", "/run/NetworkManager/system-connections",
           "/usr/lib/NetworkManager/system-connections")
NETCTL = "/etc/netctl"
WANTS = "/etc/systemd/system/multi-user.target.wants"
UNITS = "/usr/lib/systemd/system"
NM_UNITS = {
    "NetworkManager.service": f"{SHORT}[Unit]\nDescription=Network Manager\nWants=network.target\nBefore=network.target"
                              "\n\n[Service]\nType=dbus\nExecStart=/usr/bin/NetworkManager --no-daemon\n\n[Install]\n"
                              "WantedBy=multi-user.target\nAlso=NetworkManager-dispatcher.service\n"
                              "Also=NetworkManager-wait-online.service\n",
    "NetworkManager-dispatcher.service": f"{SHORT}[Unit]\nDescription=Network Manager Script Dispatcher Service\n\n"
                                         "[Service]\nType=dbus\nExecStart=/usr/lib/nm-dispatcher\n\n[Install]\n"
                                         "Alias=dbus-org.freedesktop.nm-dispatcher.service\n",
    "NetworkManager-wait-online.service": f"{SHORT}[Unit]\nDescription=Network Manager Wait Online\n\n[Service]\n"
                                          "Type=oneshot\nExecStart=/usr/bin/nm-online -s -q\n\n[Install]\n"
                                          "WantedBy=network-online.target\n",
}
NETCTL_UNIT = (f"{SHORT}[Unit]\nDescription=Networking for netctl profile %I\nBefore=network.target netctl.service\n\n"
               "[Service]\nType=notify\nRemainAfterExit=yes\nExecStart=/usr/lib/netctl/network start %I\n"
               "ExecStop=/usr/lib/netctl/network stop %I\n")
# what `nmcli connection add type ethernet ifname NIC con-name NIC` writes (NetworkManager 1.42), uuid fixed
ENP_DHCP_KEYFILE = ("[connection]\nid={nic}\nuuid=0a6f0d2e-7c1b-4a59-9e3f-2b8c4d6e1f70\ntype=ethernet\n"
                    "interface-name={nic}\n\n[ethernet]\n\n[ipv4]\nmethod=auto\n\n[ipv6]\naddr-gen-mode=default\n"
                    "method=auto\n\n[proxy]\n")
ETHERNET_DHCP = "Description='A basic dhcp ethernet connection'\nInterface={nic}\nConnection=ethernet\nIP=dhcp\n"


def files(profile: Profile) -> list[tuple[str, bytes | None, int, str | None]]:
    """NetworkManager with the NIC's profile, or netctl with an enabled ethernet-dhcp profile, as installed."""
    nic = profile.nics[0].name if profile.nics else "eth0"
    out: list[tuple[str, bytes | None, int, str | None]] = []
    if profile.network == "NetworkManager":
        out += [(f"{UNITS}/{n}", t.encode(), 0o644, None) for n, t in NM_UNITS.items()]
        todo = ["NetworkManager.service"]
        while todo:
            unit = todo.pop(0)
            links, also, _ = install_links(unit, f"{UNITS}/{unit}", NM_UNITS[unit])
            out += [(link, None, 0o777, target) for link, target in links]
            todo += also
        out.append((f"{NM_DIRS[0]}/{nic}.nmconnection", ENP_DHCP_KEYFILE.format(nic=nic).encode(), 0o600, None))
    elif profile.network == "netctl":
        out.append((f"{UNITS}/netctl@.service", NETCTL_UNIT.encode(), 0o644, None))
        out.append((f"{NETCTL}/ethernet-dhcp", ETHERNET_DHCP.format(nic=nic).encode(), 0o644, None))
        out += [(path, data, 0o644, None) if data is not None else (path, None, 0o777, target)
                for path, data, target in _enable_files("ethernet-dhcp", [nic])]
    return out


# NetworkManager

def _keyfiles(host) -> list[tuple[str, dict]]:
    """The profiles NetworkManager loads: regular files owned by root with mode 0600 (others it ignores)."""
    seen: dict[str, str] = {}
    for folder in NM_DIRS:
        for name in host.listdir(folder) or []:
            if name.endswith(".nmconnection") and name not in seen:
                seen[name] = f"{folder}/{name}"
    out = []
    for name in sorted(seen):
        info = host.stat(seen[name])
        if info is not None and info.kind == "file" and info.mode == 0o600 and info.uid == host.stat("/").uid:
            out.append((seen[name], _read_config(host.read_text(seen[name]) or "")))
    return out


def _get(config: dict, group: str, key: str, default: str = "") -> str:
    values = config.get(group, {}).get(key) or []
    return values[-1] if values else default


def _ipv4(config: dict) -> dict:
    method = _get(config, "ipv4", "method", "auto")
    address = _get(config, "ipv4", "address1") or _get(config, "ipv4", "addresses")
    addr, _, gw = address.partition(",")
    return {"static": [addr] if method == "manual" and addr else [], "gateway": _get(config, "ipv4", "gateway", gw)
            or None, "dhcp": method == "auto"}


def nm_decisions(host, links: list[dict]) -> tuple[list[dict], dict[str, dict]]:
    profiles = [c for _p, c in _keyfiles(host) if _get(c, "connection", "autoconnect", "true") not in ("false", "0")]
    bridges, decisions = [], {}
    for c in profiles:
        if _get(c, "connection", "type") == "bridge" and _get(c, "connection", "interface-name"):
            name = _get(c, "connection", "interface-name")
            mac = _get(c, "ethernet", "cloned-mac-address") or _persistent_mac(host, name)
            bridges.append({"ifname": name, "kind": "bridge", "mac": mac.lower()})
            decisions[name] = _ipv4(c)
    by_id = {key: _get(c, "connection", "interface-name") for c in profiles for key in
             (_get(c, "connection", "uuid"), _get(c, "connection", "id"), _get(c, "connection", "interface-name"))}
    for link in (x for x in links[1:] if x["kind"] == "ether"):
        fits = [c for c in profiles if _get(c, "connection", "type") in ("ethernet", "802-3-ethernet")
                and _get(c, "connection", "interface-name") in ("", link["ifname"])
                and _get(c, "ethernet", "mac-address").lower() in ("", link["mac"])]
        if not fits:  # NetworkManager's automatic "Wired connection 1": DHCP
            decisions[link["ifname"]] = {"static": [], "gateway": None, "dhcp": True}
            continue
        best = max(fits, key=lambda c: int(_get(c, "connection", "autoconnect-priority", "0") or 0))
        master = _get(best, "connection", "controller") or _get(best, "connection", "master")
        decisions[link["ifname"]] = {"bridge": by_id.get(master, master)} if master else _ipv4(best)
    return bridges, decisions


# netctl

def _escape(profile: str) -> str:
    return "".join(c if re.match(r"[A-Za-z0-9:_.]", c) else "-" if c == "/" else f"\\x{ord(c):02x}" for c in profile)


def _unescape(name: str) -> str:
    return re.sub(r"\\x([0-9a-f]{2})", lambda m: chr(int(m.group(1), 16)), name.replace("-", "/"))


def _profile(host, name: str) -> dict[str, list[str]] | None:
    """A netctl profile's assignments (arrays as lists), read with shlex, never run."""
    text = host.read_text(f"{NETCTL}/{name}")
    if text is None:
        return None
    out: dict[str, list[str]] = {}
    for key, value in re.findall(r"(?m)^\s*([A-Za-z_][A-Za-z0-9_]*)=(\([^)]*\)|.*)$", text):
        try:
            out[key] = shlex.split(value.strip("()") if value.startswith("(") else value, comments=True)
        except ValueError:
            continue
    return out


def enabled_profiles(host) -> list[str]:
    return sorted(_unescape(n[len("netctl@"):-len(".service")]) for n in host.listdir(WANTS) or []
                  if n.startswith("netctl@") and n.endswith(".service"))


def netctl_decisions(host, links: list[dict]) -> tuple[list[dict], dict[str, dict]]:
    bridges, decisions = [], {}
    macs = {x["ifname"]: x["mac"] for x in links}
    for name in enabled_profiles(host):
        p = _profile(host, name) or {}
        interface = (p.get("Interface") or [""])[0]
        ip = {"static": p.get("Address", []) if (p.get("IP") or [""])[0] == "static" else [],
              "gateway": (p.get("Gateway") or [None])[0], "dhcp": (p.get("IP") or [""])[0] == "dhcp"}
        if (p.get("Connection") or [""])[0] == "bridge" and interface:
            mac = (p.get("MACAddress") or [""])[0]
            bridges.append({"ifname": interface, "kind": "bridge", "mac": macs.get(mac, mac) or
                            _persistent_mac(host, interface)})
            for port in p.get("BindsToInterfaces", []):
                decisions[port] = {"bridge": interface}
            decisions.setdefault(interface, ip)
        elif interface:
            decisions.setdefault(interface, ip)  # a port keeps its bridge: an enslaved NIC takes no address
    return bridges, decisions


def _enable_files(name: str, binds: list[str]) -> list[tuple[str, bytes | None, str | None]]:
    unit = f"netctl@{_escape(name)}.service"
    devices = "".join(f"BindsTo=sys-subsystem-net-devices-{_escape(b)}.device\n"
                      f"After=sys-subsystem-net-devices-{_escape(b)}.device\n" for b in binds)
    return [(f"{WANTS}/{unit}", None, f"{UNITS}/netctl@.service"),
            (f"/etc/systemd/system/{unit}.d/profile.conf", f"[Unit]\n{devices}".encode(), None)]


def netctl(host, argv, stdin) -> Result:
    """netctl enable|disable|is-enabled PROFILE, as netctl's script does them (no start or stop: no running system)."""
    if len(argv) != 3 or argv[1] not in ("enable", "disable", "is-enabled"):
        raise Usage("[simulated] xenbook's sample host simulates only netctl enable|disable|is-enabled PROFILE\n", 1)
    name, unit = argv[2], f"netctl@{_escape(argv[2])}.service"
    p = _profile(host, name)
    if p is None:
        return Result(1, "", f"Profile '{name}' does not exist or is not readable\n")
    if argv[1] == "is-enabled":
        on = host.stat(f"{WANTS}/{unit}") is not None
        return Result(0 if on else 1, "enabled\n" if on else "disabled\n", "")
    if argv[1] == "disable":
        for path in (f"{WANTS}/{unit}", f"/etc/systemd/system/{unit}.d/profile.conf"):
            host.remove(path)
        folder = host.real(f"/etc/systemd/system/{unit}.d")
        if os.path.isdir(folder) and not os.listdir(folder):  # rm -d: the drop-in folder, when empty
            os.rmdir(folder)
        return Result(0, f"removed '{WANTS}/{unit}'\n", "")
    if host.stat(f"{WANTS}/{unit}") is not None:
        return Result(1, "", f"The profile '{name}' is already enabled\n")
    binds = p.get("BindsToInterfaces") or p.get("Interface") or []
    for path, data, target in _enable_files(name, binds):
        host.makedirs(posixpath.dirname(path))
        if target:
            os.symlink(target, host.real(path))
        else:
            host.write_atomic(path, data, mode=0o644)
    return Result(0, f"'{WANTS}/{unit}' -> '{UNITS}/netctl@.service'\ngenerated "
                     f"'/etc/systemd/system/{unit}.d/profile.conf'\n", "")


PROGRAMS = {"netctl": netctl}


def boot_network(host, state: dict) -> dict:
    """The links, addresses and routes the next boot sets up, from the NICs and what the enabled network manager
    (systemd-networkd, NetworkManager or netctl) is configured to do."""
    nics = state["machine"].get("nics", [])
    links = [{"ifname": "lo", "kind": "loopback", "mac": "00:00:00:00:00:00"}]
    links += [{"ifname": n["name"], "kind": "ether", "mac": n["mac"], "pci": n.get("pci")} for n in nics]
    addresses: dict[str, str] = {}
    routes: list[dict] = []
    decisions: dict[str, dict] = {}
    for unit, decide in (("systemd-networkd.service", networkd_decisions), ("NetworkManager.service", nm_decisions),
                         (None, netctl_decisions)):
        if unit is None or unit_state(host, unit) == "enabled":
            bridges, made = decide(host, links)
            links += [b for b in bridges if all(x["ifname"] != b["ifname"] for x in links)]
            for name, decision in made.items():  # two managers on one link: the first one's wins
                decisions.setdefault(name, decision)
    kinds = {x["ifname"]: x["kind"] for x in links}
    for link in links[1:]:
        decision = decisions.get(link["ifname"])
        if decision is None:
            continue
        if "bridge" in decision:  # the kernel makes no bridge a port of a bridge; such a link stays without addresses
            if link["kind"] != "bridge" and kinds.get(decision["bridge"]) == "bridge":
                link["master"] = decision["bridge"]
            continue
        lease = _lease(nics, link) if decision["dhcp"] and not decision["static"] else None
        gateway = decision["gateway"]
        if decision["static"]:
            addresses[link["ifname"]] = decision["static"][0]
        elif lease:
            addresses[link["ifname"]], gateway = lease
        if gateway and link["ifname"] in addresses:
            routes.append({"dev": link["ifname"], "gateway": gateway, "protocol": "dhcp" if lease else "static",
                           "prefsrc": addresses[link["ifname"]].split("/")[0]})
    return {"links": links, "addresses": addresses, "routes": routes}


