"""What every network manager's bridge shares: the managed-file header, the guard for hosts reached over SSH, and the
check that the host's firewall lets bridged guest traffic through."""

from __future__ import annotations

from typing import TYPE_CHECKING

from xenbook.core.actions import Plan
from xenbook.core.commands import Command
from xenbook.core.host import Host
from xenbook.core.step import Step

if TYPE_CHECKING:  # the whole parameter set is assembled above the sections, from each one's model
    from xenbook.engine.params import RunbookParams

HEADER = "# Managed by xenbook: the Xen guests' bridge. Takes effect at the next boot.\n"


def ssh_guard(host: Host, params: RunbookParams, uplink: str) -> tuple[Plan | None, str]:
    """(a failed plan, "") when the bridge would move the addresses of the link an SSH session may ride on and that
    was not allowed; else (None, the warning to add to the step's reason)."""
    if not host.over_network:
        return None, ""
    if not params.dom0.network_over_ssh:
        return Plan.fail(f"this moves {uplink}'s addresses to {params.dom0.bridge} on a host reached over SSH: a "
                         "mistake cuts the connection at the next boot",
                         "make sure you have a console (IPMI, KVM, serial), then set dom0.network_over_ssh"), ""
    return None, "; you are connected over SSH: keep a console at hand for the reboot"


class BridgedTrafficFiltered(Step):
    """Bridged guest frames pass iptables' FORWARD chain when br_netfilter is loaded (Docker loads it and sets the
    chain's policy to DROP): the guests then get no network, with no error anywhere."""

    section = "dom0"
    SYSCTL = "/proc/sys/net/bridge/bridge-nf-call-iptables"

    def plan(self, host: Host) -> Plan:
        value = (host.read_text(self.SYSCTL) or "").strip()
        if value != "1":
            return Plan.check("ok", "off", "bridged frames bypass iptables (br_netfilter not loaded, or "
                              "bridge-nf-call-iptables=0)")
        rules = host.run(Command.of("iptables", "-S", "FORWARD"))
        policy = next((line.split()[2] for line in rules.stdout.splitlines() if line.startswith("-P FORWARD ")), "")
        if rules.ok and policy == "ACCEPT":
            return Plan.check("ok", "FORWARD ACCEPT", "bridged frames pass iptables' FORWARD chain, whose policy is "
                              "ACCEPT")
        seen = f"FORWARD {policy}" if policy else "FORWARD unknown"
        return Plan.check("warning", seen, "br_netfilter sends the guests' bridged frames through iptables' FORWARD "
                          f"chain, {'whose policy is ' + policy if policy else 'which xenbook could not read'}: "
                          "guests may get no network",
                          "accept bridged frames (iptables -I FORWARD -m physdev --physdev-is-bridged -j ACCEPT, kept "
                          "in your firewall's rules), or set net.bridge.bridge-nf-call-iptables=0 in /etc/sysctl.d/ "
                          "if nothing on dom0 filters bridged traffic")
