"""A guest's identity on this host: its MAC and root filesystem UUID, kept from what the host already has, else
derived from the dom0's machine ID and the guest's name (so guests of one name on many hosts never share them)."""

from __future__ import annotations

import re
import uuid

from xenbook.core.errors import PreconditionFailed
from xenbook.core.host import Host
from xenbook.core.renames import aliases
from xenbook.edits.xlcfg import derived_mac
from xenbook.facts.identity import machine_id
from xenbook.sections.domu.header import MANAGED
from xenbook.sections.domu.params import GuestParams, derived_uuid, legacy_uuid
from xenbook.sections.domu.storage import STATE, blkid_tags

_VIF_MAC = re.compile(r"^\s*vif\s*=.*?\bmac\s*=\s*([0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5})", re.M | re.S)


def bootstrap_marker(name: str) -> str:
    return f"{STATE}/guests/{name}.bootstrapped"


def config_mac(host: Host, name: str) -> str | None:
    """The MAC of the first vif in xenbook's own /etc/xen/<name>.cfg (another's config is never read as ours)."""
    text = host.read_text(f"/etc/xen/{name}.cfg")
    if text is None or not any(text.startswith(h) for h in (MANAGED, *aliases("header", MANAGED))):
        return None
    found = _VIF_MAC.search(text)
    return found.group(1).lower() if found else None


def bootstrapped_uuid(host: Host, name: str) -> str | None:
    """The UUID of the filesystem xenbook bootstrapped the guest on (its marker), whichever release derived it."""
    text = (host.read_text(bootstrap_marker(name)) or "").strip()
    try:
        return str(uuid.UUID(text)) if text else None
    except ValueError:
        return None


def legacy_filesystem(host: Host, g: GuestParams) -> str | None:
    """The UUID of an ext4 filesystem an older release made on the guest's disk (its name-only UUID) but did not
    bootstrap yet (no marker): kept, so an upgrade neither formats it again nor asks for force."""
    if g.bootstrap == "none" or not host.exists(g.disk):
        return None
    tags = blkid_tags(host, g.disk)
    old = legacy_uuid(g.name)
    return old if tags.get("TYPE") == "ext4" and tags.get("UUID") == old else None


def identified(g: GuestParams, host: Host) -> GuestParams:
    """g with its MAC and root UUID as this host has them: the mac parameter, else the one in its xenbook config,
    else derived; the UUID of the filesystem it was bootstrapped on (or an older release formatted), else derived. An existing guest keeps both."""
    mac = g.mac or config_mac(host, g.name)
    root = bootstrapped_uuid(host, g.name) or legacy_filesystem(host, g)
    ident = None if mac and root else machine_id(host)
    out = g.model_copy()
    out._vif_mac = mac or derived_mac(g.name, ident)
    out._root_uuid = root or derived_uuid(g.name, ident or "")
    return out


def identified_guests(guests: list[GuestParams], host: Host) -> list[GuestParams]:
    """Each present guest identified on host (an absent one is left as given); two with one MAC are refused."""
    out = [identified(g, host) if g.state == "present" else g for g in guests]
    seen: dict[str, str] = {}
    for g in out:
        if g.state != "present":
            continue
        other = seen.setdefault(g.vif_mac, g.name)
        if other != g.name:
            raise PreconditionFailed(f"guests {other} and {g.name} would share the MAC {g.vif_mac} on this host",
                                     f"give guests.mac for {g.name} (a MAC no other guest uses)")
    return out
