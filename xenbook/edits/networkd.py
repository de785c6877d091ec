"""systemd.network(5) and systemd.netdev(5) files: parsed into sections and rendered back."""

from __future__ import annotations

import re

Sections = list[tuple[str, list[tuple[str, str]]]]
_SAFE = re.compile(r"^[A-Za-z0-9 _.,:/@%+=*-]*$")
ADDRESS_KEYS = ("DHCP", "Address", "Gateway", "DNS", "Domains", "IPv6AcceptRA", "LinkLocalAddressing", "NTP")


def parse(text: str) -> Sections:
    """[(section, [(key, value), ...]), ...] in file order; comments and blank lines dropped."""
    out: Sections = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            out.append((line[1:-1], []))
        elif "=" in line and out:
            key, value = line.split("=", 1)
            out[-1][1].append((key.strip(), value.strip()))
    return out


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


def matches_interface(sections: Sections, ifname: str) -> bool:
    """True when the file's [Match] Name= patterns (globs, space separated) match ifname."""
    import fnmatch
    names = " ".join(values(sections, "Match", "Name")).split()
    return any(fnmatch.fnmatchcase(ifname, n) for n in names if not n.startswith("!"))


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
