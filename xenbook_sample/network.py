"""The sample host's network: its NIC, systemd-networkd as a fresh Arch install configures it, and a SIMULATED `ip`.

At each simulated boot systemd-networkd (when enabled) creates the bridges of /etc/systemd/network/*.netdev files,
enslaves the NICs a .network file puts into a bridge and gives DHCP or static addresses; `ip -j link|address|route`
print that in iproute2's JSON (or its plain and -br forms)."""

from __future__ import annotations

import fnmatch
import hashlib
import ipaddress
import json
import os
import posixpath
import shutil

from xenbook.core.commands import Result
from xenbook_sample.options import Usage
from xenbook_sample.profiles import Profile
from xenbook_sample.unitfiles import install_links

NETWORK_DIRS = ("/etc/systemd/network", "/run/systemd/network", "/usr/lib/systemd/network")
SHORT = "# Shortened by xenbook's SIMULATED sample host from the file the systemd package installs.\n"
WIRED = "/etc/systemd/network/20-wired.network"


def _unit(description: str, body: str = "", install: str = "") -> str:
    return f"{SHORT}[Unit]\nDescription={description}\n{body}" + (f"\n[Install]\n{install}" if install else "")


SYSTEMD_UNITS = {  # the units of Arch's systemd package that the runbook's steps meet
    "multi-user.target": _unit("Multi-User System", "Requires=basic.target\nAfter=basic.target\nAllowIsolate=yes\n"),
    **{f"{n}.target": _unit(d) for n, d in (("getty", "Login Prompts"), ("sockets", "Socket Units"),
                                            ("sysinit", "System Initialization"))},
    "network.target": _unit("Network", "After=network-pre.target\n"),
    "network-online.target": _unit("Network is Online", "After=network.target\n"),
    "remote-fs.target": _unit("Remote File Systems", "After=remote-fs-pre.target\n", "WantedBy=multi-user.target\n"),
    "getty@.service": _unit("Getty on %I", "Before=getty.target\n\n[Service]\n"
                            "ExecStart=-/sbin/agetty -o '-- \\\\u' --noreset --noclear - ${TERM}\nType=idle\n",
                            "WantedBy=getty.target\nDefaultInstance=tty1\n"),
    "serial-getty@.service": _unit("Serial Getty on %I", "Before=getty.target\n\n[Service]\nExecStart=-/sbin/agetty "
                                   "-o '-- \\\\u' --noreset --noclear --keep-baud 115200,57600,38400,9600 - ${TERM}\n"
                                   "Type=idle\n", "WantedBy=getty.target\n"),
    "systemd-networkd.service": _unit(
        "Network Management", "Wants=systemd-networkd.socket network.target\nBefore=network.target multi-user.target\n"
        "\n[Service]\nType=notify-reload\nExecStart=!!/usr/lib/systemd/systemd-networkd\n",
        "WantedBy=multi-user.target\nAlso=systemd-networkd.socket\nAlias=dbus-org.freedesktop.network1.service\n"
        "Also=systemd-network-generator.service\nAlso=systemd-networkd-wait-online.service\n"),
    "systemd-networkd.socket": _unit("Network Service Netlink Socket", "Before=sockets.target\n\n[Socket]\n"
                                     "ReceiveBuffer=128M\nListenNetlink=route 1361\n", "WantedBy=sockets.target\n"),
    "systemd-networkd-wait-online.service": _unit(
        "Wait for Network to be Configured", "After=systemd-networkd.service\nBefore=network-online.target\n\n"
        "[Service]\nType=oneshot\nExecStart=/usr/lib/systemd/systemd-networkd-wait-online\nRemainAfterExit=yes\n",
        "WantedBy=network-online.target\n"),
    "systemd-network-generator.service": _unit(
        "Generate network units from Kernel command line", "Before=network-pre.target\n\n[Service]\nType=oneshot\n"
        "RemainAfterExit=yes\nExecStart=/usr/lib/systemd/systemd-network-generator\n", "WantedBy=sysinit.target\n"),
}


def files(profile: Profile) -> list[tuple[str, bytes | None, int, str | None]]:
    """The NIC in /sys, the stock systemd units with the links of those enabled by default, and 20-wired.network."""
    out: list[tuple[str, bytes | None, int, str | None]] = [
        (f"/usr/lib/systemd/system/{n}", t.encode(), 0o644, None) for n, t in SYSTEMD_UNITS.items()]
    for name in ("getty@.service", "remote-fs.target") + (("systemd-networkd.service",) if profile.network ==
                                                          "systemd-networkd" else ()):
        todo = [name]
        while todo:
            unit = todo.pop(0)
            links, also, _ = install_links(unit, f"/usr/lib/systemd/system/{unit}", SYSTEMD_UNITS[unit])
            out += [(link, None, 0o777, target) for link, target in links]
            todo += also
    out += _sys_link("lo", "/sys/devices/virtual/net/lo", "00:00:00:00:00:00", 1)
    driver = "e1000e" if profile.cpu.vendor == "GenuineIntel" else "r8169"  # as devices.py's /proc/modules
    for n, nic in enumerate(profile.nics, 2):
        pci = f"/sys/devices/pci0000:00/0000:00:1c.{n - 2}/{nic.pci}"
        out += _sys_link(nic.name, f"{pci}/net/{nic.name}", nic.mac, n)
        out += [(f"{pci}/net/{nic.name}/device", None, 0o777, "../.."),
                (f"{pci}/driver", None, 0o777, posixpath.relpath(f"/sys/bus/pci/drivers/{driver}", pci))]
    if profile.nics and profile.network == "systemd-networkd":
        out.append((WIRED, f"[Match]\nName={profile.nics[0].name}\n\n[Network]\nDHCP=yes\n".encode(), 0o644, None))
    return out


def _sys_link(name: str, device: str, mac: str, index: int) -> list[tuple[str, bytes | None, int, str | None]]:
    return [(f"/sys/class/net/{name}", None, 0o777, posixpath.relpath(device, "/sys/class/net")),
            (f"{device}/address", f"{mac}\n".encode(), 0o444, None),
            (f"{device}/ifindex", b"%d\n" % index, 0o444, None)]


# what systemd-networkd sets up at boot, read with the sample's own reader (not the product's parser)

def _read_config(text: str) -> dict[str, dict[str, list[str]]]:
    """{section: {key: [values in order]}} as systemd's config parser reads a unit-like file: comments start with #
    or ;, a section header resets the section, an empty assignment resets a list key."""
    out: dict[str, dict[str, list[str]]] = {}
    section = None
    for line in (raw.strip() for raw in text.splitlines()):
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = out.setdefault(line[1:-1], {})
        elif section is not None and "=" in line:
            key, value = (part.strip() for part in line.split("=", 1))
            section[key] = section.get(key, []) + [value] if value else []
    return out


def config_files(host, suffix: str) -> list[tuple[str, dict[str, dict[str, list[str]]]]]:
    """The sample's systemd-networkd files with suffix, in the order networkd reads them (file name; /etc wins)."""
    seen: dict[str, str] = {}
    for folder in NETWORK_DIRS:
        for name in host.listdir(folder) or []:
            if name.endswith(suffix) and name not in seen:
                seen[name] = f"{folder}/{name}"
    return [(seen[n], _read_config(host.read_text(seen[n]) or "")) for n in sorted(seen)]


def _last(config: dict, section: str, key: str, default=None):
    values = config.get(section, {}).get(key) or []
    return values[-1] if values else default


def _strv_test(patterns: list[str], value: str | None) -> bool:
    """systemd's net_condition_test_strv(): a leading ! negates the whole list; a link without the value matches
    only a negated list."""
    words = " ".join(patterns).split()
    if not words:
        return True
    invert = words[0].startswith("!")
    words[0] = words[0].lstrip("!")
    hit = value is not None and any(fnmatch.fnmatchcase(value, w) for w in words if w)
    return hit != invert


def _matches(config: dict, link: dict) -> bool:
    match = config.get("Match", {})
    kind = {"bridge": "bridge"}.get(link["kind"])  # netdev kinds; NICs and vifs have none
    devtype = {"loopback": "loopback", "bridge": "bridge"}.get(link["kind"], "ether")
    return (_strv_test(match.get("Name", []), link["ifname"]) and _strv_test(match.get("Type", []), devtype)
            and _strv_test(match.get("Kind", []), kind)
            and _strv_test([m.lower() for m in match.get("MACAddress", [])], link["mac"]))


def managing_file(host, link: dict) -> tuple[str, dict] | None:
    """(path, config) of the .network file systemd-networkd applies to link: the first that matches; none when that
    file says [Link] Unmanaged=yes."""
    found = next(((p, c) for p, c in config_files(host, ".network") if _matches(c, link)), None)
    if found and _last(found[1], "Link", "Unmanaged", "no") in ("yes", "true", "1", "on"):
        return None
    return found


def _persistent_mac(host, name: str) -> str:
    """A MAC like systemd's MACAddressPolicy=persistent: stable per machine and name, locally administered."""
    seed = (host.read_text("/etc/machine-id") or host.load_state()["machine"]["hostname"]) + name
    d = hashlib.sha256(seed.encode()).digest()
    return ":".join(f"{b:02x}" for b in bytes([(d[0] & 0xFE) | 0x02]) + d[1:6])


def _lease(nics: list[dict], link: dict) -> tuple[str, str] | None:
    """(address/len, gateway) the DHCP server hands out: a NIC's own lease, else one derived from the name."""
    by_mac = next((n for n in nics if n["mac"] == link["mac"]), None)
    if by_mac is not None:
        return by_mac["address"], by_mac["gateway"]
    if not nics:
        return None
    base, length = nics[0]["address"].split("/")
    host_part = 100 + int(hashlib.sha256(link["ifname"].encode()).hexdigest(), 16) % 100
    return f"{base.rsplit('.', 1)[0]}.{host_part}/{length}", nics[0]["gateway"]


def networkd_decisions(host, links: list[dict]) -> tuple[list[dict], dict[str, dict]]:
    """(bridges to create, {ifname: {"bridge": B} or {"static": [...], "gateway": G, "dhcp": bool}}) from
    systemd-networkd's files."""
    bridges = []
    for _path, config in config_files(host, ".netdev"):
        name = _last(config, "NetDev", "Name", "")
        if _last(config, "NetDev", "Kind") == "bridge" and name:
            mac = _last(config, "NetDev", "MACAddress") or _persistent_mac(host, name)
            bridges.append({"ifname": name, "kind": "bridge", "mac": mac.lower()})
    decisions: dict[str, dict] = {}
    for link in links[1:] + bridges:
        found = managing_file(host, link)
        if found is None:
            continue
        config = found[1]
        bridge = _last(config, "Network", "Bridge")
        if bridge:
            decisions[link["ifname"]] = {"bridge": bridge}
            continue
        network = config.get("Network", {})
        decisions[link["ifname"]] = {
            "static": network.get("Address", []) + config.get("Address", {}).get("Address", []),
            "gateway": (network.get("Gateway", []) + config.get("Route", {}).get("Gateway", []) or [None])[-1],
            "dhcp": _last(config, "Network", "DHCP", "no") in ("yes", "true", "ipv4", "1", "on")}
    return bridges, decisions


def write_sysfs(host, network: dict) -> None:
    """Make /sys/class/net show the bridges of network (and forget those of the previous boot)."""
    virtual, classes = host.real("/sys/devices/virtual/net"), host.real("/sys/class/net")
    for name in os.listdir(virtual) if os.path.isdir(virtual) else []:
        if os.path.isdir(os.path.join(virtual, name, "bridge")):
            shutil.rmtree(os.path.join(virtual, name))
            os.unlink(os.path.join(classes, name))
    for link in network["links"]:
        master = os.path.join(classes, link["ifname"], "master")
        if os.path.islink(master):
            os.unlink(master)
    for n, link in enumerate(network["links"], 1):
        if link["kind"] == "bridge":
            device = f"/sys/devices/virtual/net/{link['ifname']}"
            for sub in ("bridge", "brif"):
                host.makedirs(f"{device}/{sub}")
            for path, data, _mode, target in _sys_link(link["ifname"], device, link["mac"], n):
                if target:
                    os.symlink(target, os.path.join(host.real(posixpath.dirname(path)), posixpath.basename(path)))
                else:
                    host.write_atomic(path, data, mode=0o444)
    for link in network["links"]:
        if link.get("master"):
            port = host.real(f"/sys/class/net/{link['ifname']}")
            os.symlink(os.path.relpath(host.real(f"/sys/devices/virtual/net/{link['master']}"), port),
                       os.path.join(port, "master"))


# ip

def initial(profile: Profile) -> dict:
    """The network of a fresh install: the first NIC with its DHCP lease and default route (20-wired.network)."""
    links = [{"ifname": "lo", "kind": "loopback", "mac": "00:00:00:00:00:00"}]
    links += [{"ifname": n.name, "kind": "ether", "mac": n.mac, "pci": n.pci} for n in profile.nics]
    first = profile.nics[:1]
    return {"links": links, "addresses": {n.name: n.address for n in first},
            "routes": [{"dev": n.name, "gateway": n.gateway, "protocol": "dhcp", "prefsrc": n.address.split("/")[0]}
                       for n in first]}


def current(host, state: dict) -> dict:
    """The running network: as the last boot set it up, plus the vifs of running guests."""
    net = state["running"].get("network") or {"links": [{"ifname": "lo", "kind": "loopback",
                                                         "mac": "00:00:00:00:00:00"}], "addresses": {}, "routes": []}
    links = [dict(link) for link in net["links"]]
    for dom in state["running"].get("domains", []):
        links += [{"ifname": f"vif{dom['domid']}.{i}", "kind": "vif", "mac": "fe:ff:ff:ff:ff:ff",
                   "master": nic.get("bridge", "xenbr0")} for i, nic in enumerate(dom.get("nics", []))]
    up = {link["ifname"] for link in links if link["kind"] != "ether" or link.get("master")
          or link["ifname"] in net["addresses"]}
    for n, link in enumerate(links, 1):
        link.update(ifindex=n, up=link["ifname"] in up)
    return {"links": links, "addresses": net["addresses"], "routes": net["routes"]}


def _link_json(link: dict, brief: bool, address: bool = False, details: bool = False) -> dict:
    lo = link["kind"] == "loopback"
    flags = (["LOOPBACK"] if lo else ["BROADCAST", "MULTICAST"]) + (["UP", "LOWER_UP"] if link["up"] else [])
    state = "UNKNOWN" if lo else "UP" if link["up"] else "DOWN"
    if brief:
        return {"ifname": link["ifname"], "operstate": state, "address": link["mac"], "flags": flags}
    out = {"ifindex": link["ifindex"], "ifname": link["ifname"], "flags": flags, "mtu": 65536 if lo else 1500,
           "qdisc": "noqueue" if lo or link["kind"] == "bridge" else "fq_codel" if link["up"] else "noop"}
    out.update({"master": link["master"]} if link.get("master") else {})
    out.update({"operstate": state} if address else {"operstate": state, "linkmode": "DEFAULT"})
    out.update({"group": "default", "txqlen": 32 if link["kind"] == "vif" else 1000,
                "link_type": "loopback" if lo else "ether", "address": link["mac"],
                "broadcast": "00:00:00:00:00:00" if lo else "ff:ff:ff:ff:ff:ff"})
    if details:  # as iproute2's -d: the netdev kind, the port's kind, the NIC's bus
        info = ({"info_kind": "bridge"} if link["kind"] == "bridge" else {}) | (
            {"info_slave_kind": "bridge"} if link.get("master") else {})
        out.update({"linkinfo": info} if info else {})
        out.update({"parentbus": "pci", "parentdev": link["pci"]} if link.get("pci") else {})
    return out


def _addr_info(link: dict, cidr: str | None) -> list[dict]:
    if link["kind"] == "loopback":
        return [{"family": "inet", "local": "127.0.0.1", "prefixlen": 8, "scope": "host", "label": "lo",
                 "valid_life_time": 4294967295, "preferred_life_time": 4294967295}]
    iface = ipaddress.ip_interface(cidr) if cidr else None
    return [{"family": "inet", "local": str(iface.ip), "prefixlen": iface.network.prefixlen, "metric": 1024,
             "broadcast": str(iface.network.broadcast_address), "scope": "global", "dynamic": True,
             "label": link["ifname"], "valid_life_time": 3412, "preferred_life_time": 3412}] if iface else []


def _routes(net: dict, only_default: bool) -> list[dict]:
    out = [{"dst": "default", "gateway": r["gateway"], "dev": r["dev"], "protocol": r["protocol"],
            "prefsrc": r["prefsrc"], **({"metric": 1024} if r["protocol"] == "dhcp" else {}), "flags": []}
           for r in net["routes"]]
    for dev, cidr in ({} if only_default else net["addresses"]).items():
        iface = ipaddress.ip_interface(cidr)
        out.append({"dst": str(iface.network), "dev": dev, "protocol": "kernel", "scope": "link",
                    "prefsrc": str(iface.ip), "metric": 1024, "flags": []})
    return out


def _route_text(r: dict) -> str:
    via = f" via {r['gateway']}" if "gateway" in r else ""
    scope = f" scope {r['scope']}" if "scope" in r else ""
    metric = f" metric {r['metric']}" if "metric" in r else ""
    return f"{r['dst']}{via} dev {r['dev']} proto {r['protocol']}{scope} src {r['prefsrc']}{metric} \n"


def ip(host, argv, stdin) -> Result:
    """ip [-j] [-br] link|address|route [show] [dev X | X] [type T] [master B] [default]."""
    args, flags = argv[1:], set()
    while args and args[0].startswith("-"):
        flags.add({"-json": "-j", "-brief": "-br", "-details": "-d"}.get(args[0], args[0]))
        args = args[1:]
    if not args:
        raise Usage("Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }\n", 255)
    obj = next((o for o in ("link", "address", "route") if o.startswith(args[0])), None)
    rest = args[1:]
    if rest and rest[0] in ("show", "list", "ls", "lst"):
        rest = rest[1:]
    elif rest and obj:
        return Result(2, "", f"[simulated] xenbook's sample host simulates only 'ip {obj} show'\n")
    if obj is None:
        return Result(1, "", f'Object "{args[0]}" is unknown, try "ip help".\n')
    net = current(host, host.load_state())
    as_json, brief = "-j" in flags, "-br" in flags
    if obj == "route":
        routes = _routes(net, "default" in rest)
        return Result(0, json.dumps(routes, separators=(",", ":")) + "\n" if as_json else
                      "".join(_route_text(r) for r in routes), "")
    pairs = dict(zip(rest[::2], rest[1::2]))
    dev = pairs.get("dev") or (rest[0] if len(rest) == 1 else None)
    links = [link for link in net["links"] if (dev is None or link["ifname"] == dev)
             and ("type" not in pairs or link["kind"] == pairs["type"])
             and ("master" not in pairs or link.get("master") == pairs["master"])]
    if dev is not None and not links:
        return Result(1, "", f'Device "{dev}" does not exist.\n')
    with_addr = obj == "address"
    if as_json:
        rows = [dict(_link_json(link, brief, with_addr, "-d" in flags), **({"addr_info": _addr_info(
            link, net["addresses"].get(link["ifname"]))} if with_addr else {})) for link in links]
        return Result(0, json.dumps(rows, separators=(",", ":")) + "\n", "")
    if not brief:
        return Result(2, "", f"[simulated] xenbook's sample host prints 'ip {obj}' only with -j or -br\n")
    out = ""
    for link in links:
        j = _link_json(link, True)
        extra = " ".join(f"{a['local']}/{a['prefixlen']}" for a in _addr_info(link, net["addresses"].get(
            link["ifname"]))) if with_addr else f"{j['address']} <{','.join(j['flags'])}>"
        out += f"{j['ifname']:<16} {j['operstate']:<14} {extra} \n"
    return Result(0, out, "")


PROGRAMS = {"ip": ip}
