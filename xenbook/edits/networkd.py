"""systemd.network(5) and systemd.netdev(5) files: parsed into sections and rendered back."""

from __future__ import annotations

import fnmatch
import re

from xenbook.edits import inifile

Sections = inifile.Sections
_SAFE = re.compile(r"^[A-Za-z0-9 _.,:/@%+=*-]*$")
ADDRESS_KEYS = ("DHCP", "Address", "Gateway", "DNS", "Domains", "IPv6AcceptRA", "LinkLocalAddressing", "NTP")


def parse(text: str) -> Sections:
    """[(section, [(key, value), ...]), ...] in file order; comments (# or ;) and blank lines dropped."""
    return inifile.parse(text, '#;')


def values(sections: Sections, section: str, key: str) -> list[str]:
    return [v for name, pairs in sections if name == section for k, v in pairs if k == key]


def render(sections: Sections, header: str = "") -> str:
    """The file text; ValueError for values with characters xenbook does not write."""
    chunks = []
    for name, pairs in sections:
        for k, v in pairs:
            if not _SAFE.match(v) or not re.match(r"^[A-Za-z][A-Za-z0-9]*$", k):
                raise ValueError(f"{k}={v!r} is not something xenbook writes into a network file")
        chunks.append(f"[{name}]\n" + "".join(f"{k}={v}\n" for k, v in pairs))
    return header + "\n".join(chunks)


def _listed(sections: Sections, key: str) -> tuple[bool, list[str]]:
    """(inverted, words) of a [Match] list key: its lines joined, an empty one resetting, a leading ! inverting."""
    words: list[str] = []
    for value in values(sections, "Match", key):
        words = words + value.split() if value else []
    inverted = bool(words) and words[0].startswith("!")
    if inverted:
        words[0] = words[0][1:]
    return inverted, [w for w in words if w]


def matches(sections: Sections, name: str, type_: str = "ether", mac: str = "", kind: str = "") -> bool:
    """Whether systemd-networkd would apply the file to the link, by its [Match] Name=, Type=, Kind= and
    MACAddress= (globs, a leading ! inverting a list, a link without the value matching only inverted lists).
    A file with other [Match] keys (Driver=, Path=, Property= ...) is taken to match: xenbook cannot tell, so it
    errs on the side of reporting the file."""
    mac = mac.lower()
    for key, value in (("Name", name), ("Type", type_), ("Kind", kind), ("MACAddress", mac),
                       ("PermanentMACAddress", mac)):
        inverted, words = _listed(sections, key)
        hit = bool(value) and any(fnmatch.fnmatchcase(value, w.lower() if "MAC" in key else w) for w in words)
        if words and hit == inverted:
            return False
    return True


def address_config(sections: Sections) -> Sections:
    """The parts of a .network file that give an interface its addresses: [Network] address keys, [Address],
    [Route] and [DHCPv4]/[DHCPv6] sections, to move from an uplink onto a bridge."""
    network = [(k, v) for name, pairs in sections if name == "Network" for k, v in pairs if k in ADDRESS_KEYS]
    moved: Sections = [("Network", network)] if network else []
    moved += [(name, list(pairs)) for name, pairs in sections
              if name in ("Address", "Route", "DHCPv4", "DHCPv6", "IPv6AcceptRA")]
    return moved


def check_file(data: bytes) -> str | None:
    """Why systemd-networkd would not read data as xenbook means it, or None."""
    text = data.decode("utf-8", "replace")
    parsed = parse(text)
    if not parsed:
        return "no [Section] in the file"
    known = {"Match", "Link", "Network", "Address", "Route", "DHCPv4", "DHCPv6", "IPv6AcceptRA", "Bridge", "NetDev",
             "BridgeVLAN"}
    unknown = [name for name, _ in parsed if name not in known]
    return f"unknown section [{unknown[0]}]" if unknown else None
