"""The Xen guest agents in the sample host's SIMULATED AUR: abbreviated .SRCINFO fields and the files each installs.

Which AUR packages exist for them today is unconfirmed; the sample offers both so the pv-guest section can run."""

from __future__ import annotations

SYSTEMD = "/usr/lib/systemd/system"

AGENT_BASES: dict[str, dict] = {
    "xen-guest-agent": {"pkgdesc": "Xen guest agent: reports the guest's OS, network and memory to xenstore (Rust)",
                        "pkgver": "0.4.0", "pkgrel": "1", "url": "https://gitlab.com/xen-project/xen-guest-agent",
                        "arch": ["x86_64"], "license": ["AGPL-3.0-only"], "makedepends": ["cargo"],
                        "source": ["https://gitlab.com/xen-project/xen-guest-agent/-/archive/0.4.0/"
                                   "xen-guest-agent-0.4.0.tar.gz"],
                        "packages": {"xen-guest-agent": {}}},
    "xe-guest-utilities": {"pkgdesc": "XenServer guest tools: xe-daemon reports to XAPI (Go)", "pkgver": "8.4.0",
                           "pkgrel": "1", "url": "https://github.com/xenserver/xe-guest-utilities",
                           "arch": ["x86_64"], "license": ["BSD-2-Clause"], "makedepends": ["go"],
                           "source": ["https://github.com/xenserver/xe-guest-utilities/archive/v8.4.0.tar.gz"],
                           "packages": {"xe-guest-utilities": {}}},
}


def _unit(description: str, start: str) -> str:
    return (f"#  SIMULATED unit of xenbook's sample host.\n\n[Unit]\nDescription={description}\n\n[Service]\n"
            f"ExecStart={start}\n\n[Install]\nWantedBy=multi-user.target\n")


def agent_files(pkgname: str) -> dict[str, tuple[int, str]]:
    """path -> (mode, text) of what a simulated guest agent package installs; empty for other packages."""
    def program(what: str) -> str:
        return f"#!/bin/sh\n# SIMULATED {what}, installed by xenbook's sample host (package {pkgname}).\nexit 0\n"

    if pkgname == "xen-guest-agent":
        return {"/usr/bin/xen-guest-agent": (0o755, program("xen-guest-agent")),
                f"{SYSTEMD}/xen-guest-agent.service": (0o644, _unit("Xen guest agent", "/usr/bin/xen-guest-agent"))}
    if pkgname == "xe-guest-utilities":
        return {"/usr/bin/xe-daemon": (0o755, program("xe-daemon")),
                "/usr/bin/xe-linux-distribution": (0o755, program("xe-linux-distribution")),
                f"{SYSTEMD}/xe-linux-distribution.service": (0o644, _unit(
                    "Linux guest agent for XenServer", "/usr/bin/xe-daemon"))}
    return {}
