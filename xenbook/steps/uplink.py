"""What every network manager's bridge step shares: the managed-file header and the guard for hosts reached over SSH."""

from __future__ import annotations

from ..actions import Plan
from ..hosts.base import Host
from ..params import RunbookParams

HEADER = "# Managed by xenbook: the Xen guests' bridge. Takes effect at the next boot.\n"


def ssh_guard(host: Host, params: RunbookParams, uplink: str) -> tuple[Plan | None, str]:
    """(a failed plan, "") when the bridge would move the addresses of the link an SSH session may ride on and that
    was not allowed; else (None, the warning to add to the step's reason)."""
    if not host.target.startswith("ssh:"):
        return None, ""
    if not params.dom0.network_over_ssh:
        return Plan.fail(f"this moves {uplink}'s addresses to {params.dom0.bridge} on a host reached over SSH: a "
                         "mistake cuts the connection at the next boot",
                         "make sure you have a console (IPMI, KVM, serial), then set dom0.network_over_ssh"), ""
    return None, "; you are connected over SSH: keep a console at hand for the reboot"
