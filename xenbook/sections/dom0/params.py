"""The dom0 section's parameters: Xen's services, the toolstack's settings and the guests' bridge."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from xenbook.core.model import Model

class Dom0Params(Model):
    """dom0's services, toolstack settings and guest network."""

    xendomains: bool = Field(False, description="start guests in /etc/xen/auto at boot (conflicts with libvirtd)")
    xendomains_save: bool = Field(False, description="with xendomains: save guests to /var/lib/xen/save at host "
                                  "shutdown and restore them at boot (Xen's default); off shuts them down")
    network: Literal["auto", "systemd-networkd", "NetworkManager", "netctl", "none"] = Field(
        "auto", description="who configures the bridge; auto finds what the host uses, none leaves it")
    bridge: str = Field("xenbr0", description="the bridge guests join")
    uplink: str | None = Field(None, description="the NIC to put in the bridge; empty: the default route's")
    network_over_ssh: bool = Field(False, description="allow bridge changes on a host reached over SSH")

    @field_validator("bridge", "uplink")
    @classmethod
    def _ifname(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"^[a-z][a-z0-9_-]{0,14}$", v):
            raise ValueError("must be an interface name (lower-case letters, digits, _ or -, at most 15)")
        return v


# The form's layout (xenbook.ui reads it): groups of fields, labels for people, and when a field applies.
FORM = {
    "groups": {"Guests at boot": ["xendomains", "xendomains_save"],
               "Network": ["network", "bridge", "uplink", "network_over_ssh"]},
    "labels": {"xendomains": "start guests at boot", "xendomains_save": "save guests at shutdown",
               "network": "bridge made by", "bridge": "bridge", "uplink": "uplink NIC",
               "network_over_ssh": "change it over SSH"},
    "shown_when": {"xendomains_save": [{"xendomains": [True]}],
                   "uplink": [{"network": {"not": ["none"]}}],
                   "network_over_ssh": [{"network": {"not": ["none"]}}]},
}
