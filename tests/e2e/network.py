"""The guests' bridge in the e2e dom0, made from the systemd-networkd files xenbook's dom0 section wrote, as the
`ip link` commands equivalent to what systemd-networkd does with them (systemd.netdev(5), systemd.network(5)).

The test dom0 runs no systemd, so the files are translated, not run: a `.netdev` of Kind=bridge becomes
`ip link add name NAME type bridge` (and its MACAddress=), a `.network` with Bridge= enslaves the matched port when
that port exists (the emulated machine's dom0 loads no NIC driver: the uplink is reported missing, not faked), one
with DHCP= gets the test's static address instead (there is no DHCP server on the test bridge), and
`Unmanaged=yes` files need nothing (no networkd runs to touch the vif ports).
"""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

DOM0_ADDRESS = "10.0.0.1/24"  # xenbr0's, in place of the DHCP lease networkd would get on a real uplink


def _read(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, comment_prefixes=("#", ";"))
    parser.optionxform = str  # keys are case-sensitive in systemd's files
    parser.read_string(path.read_text())
    return parser


def script(folder: Path) -> str:
    """A /bin/sh script of `ip` commands for FOLDER's xenbook files (00-xenbook-*), in networkd's order: netdevs
    first, then the networks in lexical order; every command's failure ends the script with its own message."""
    files = sorted(folder.glob("00-xenbook-*"))
    if not any(f.suffix == ".netdev" for f in files):
        raise ValueError(f"no xenbook .netdev in {folder}: the e2e dom0 makes its bridge from systemd-networkd files "
                         "only (the sample's default network manager)")
    lines = ["set -e", "# made by tests/e2e/network.py from: " + " ".join(f.name for f in files)]
    for path in (f for f in files if f.suffix == ".netdev"):
        netdev = _read(path)["NetDev"]
        if netdev.get("Kind") != "bridge":
            raise ValueError(f"{path.name}: Kind={netdev.get('Kind')} is not a bridge; only bridges are translated")
        name = shlex.quote(netdev["Name"])
        lines.append(f"ip link add name {name} type bridge")
        if netdev.get("MACAddress"):
            lines.append(f"ip link set dev {name} address {shlex.quote(netdev['MACAddress'])}")
    for path in (f for f in files if f.suffix == ".network"):
        network = _read(path)
        names = network["Match"].get("Name", "").split()
        if network.has_section("Link") and network["Link"].get("Unmanaged") == "yes":
            lines.append(f"echo 'network: {path.name}: {' '.join(names)} left alone (Unmanaged=yes)'")
            continue
        settings = network["Network"] if network.has_section("Network") else {}
        for name in map(shlex.quote, names):
            if settings.get("Bridge"):
                bridge = shlex.quote(settings["Bridge"])
                lines.append(f"if [ -e /sys/class/net/{name} ]; then ip link set dev {name} master {bridge}; "
                             f"ip link set dev {name} up; else echo 'network: {path.name}: no {name} "
                             f"in this machine, not added to {bridge}'; fi")
                continue
            if settings.get("DHCP") in ("yes", "ipv4", "true"):
                lines.append(f"ip address add {DOM0_ADDRESS} dev {name}")
            if settings.get("Address"):
                lines.append(f"ip address add {shlex.quote(settings['Address'])} dev {name}")
            lines.append(f"ip link set dev {name} up")
    return "\n".join(lines) + "\n"
