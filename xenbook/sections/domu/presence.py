"""Whether a guest starts at boot and whether it exists: the /etc/xen/auto link xenbook made, made or removed as
autostart says, and a guest with state absent shut down, its config and disk kept.

Only xenbook's own link is ever touched: a symbolic link at /etc/xen/auto/NAME.cfg that points to /etc/xen/NAME.cfg.
A file of the user's there (a copy, or a link to elsewhere) is reported and left alone, and only a domain whose
/etc/xen/NAME.cfg xenbook wrote is shut down."""

from __future__ import annotations

import posixpath

from xenbook.core.actions import Deferred, Plan, RunCommand
from xenbook.core.commands import Command
from xenbook.core.host import Host
from xenbook.core.step import Step
from xenbook.sections.domu.header import xenbook_config
from xenbook.sections.domu.kernel import BOOT_DIR
from xenbook.sections.domu.params import GuestParams
from xenbook.sections.domu.storage import SECTION, STATE, disk_path

AUTO = "/etc/xen/auto"
SHUTDOWN_SECONDS = 300  # how long a guest may take to shut down before xenbook gives up (or, forced, destroys it)


def auto_link(host: Host, name: str) -> tuple[str, str | None]:
    """What /etc/xen/auto/NAME.cfg is: ("ours", target) when it links the guest's config, ("none", None) when
    nothing is there, ("link", target) for a link to anything else and ("file", None) for anything that is no link."""
    link, cfg = f"{AUTO}/{name}.cfg", f"/etc/xen/{name}.cfg"
    result = host.run(Command.of("readlink", link))
    if result.ok:
        target = result.stdout.rstrip("\n")
        return ("ours" if posixpath.normpath(posixpath.join(AUTO, target)) == cfg else "link"), target
    return ("file", None) if host.stat(link) is not None else ("none", None)


class GuestAutostart(Step):
    """/etc/xen/auto links the guest's config when autostart is on (xendomains starts it at boot), and holds no
    link xenbook made when it is off; a file of the user's there is never replaced nor removed."""

    section = SECTION

    def __init__(self, g: GuestParams):
        self.g, self.name, self.group = g, self.named(g.name), g.name

    def plan(self, host: Host) -> Plan:
        name, wanted = self.g.name, self.g.autostart and self.g.state == "present"
        cfg, link = f"/etc/xen/{name}.cfg", f"{AUTO}/{name}.cfg"
        kind, target = auto_link(host, name)
        theirs = f"{link} links {target}" if kind == "link" else f"{link} is a file of its own, not a link"
        if kind == "ours":
            if wanted:
                return Plan.ok(f"{link} links the config")
            why = "autostart is off" if self.g.state == "present" else "state is absent"
            return Plan.change(f"remove {link} ({why}: xendomains no longer starts {name} at boot)",
                               RunCommand(Command.of("rm", "-f", link)))
        if kind == "none":
            if not wanted:
                return Plan.ok(f"no {link}: xendomains does not start {name} at boot")
            return Plan.change(f"link {link} (xendomains starts it at boot; enable dom0.xendomains)",
                               RunCommand(Command.of("mkdir", "-p", AUTO)),
                               RunCommand(Command.of("ln", "-s", cfg, link)))
        if wanted:
            return Plan.check("warning", link, f"{theirs}: xenbook did not make it and leaves it alone; xendomains "
                              "starts whatever it holds at boot", f"if it should be xenbook's link, remove it (rm "
                              f"{link}) and apply again")
        return Plan.check("warning", link, f"{theirs}: xenbook did not make it and leaves it alone, so xendomains "
                          f"still starts what it holds at boot although autostart is off",
                          f"remove it yourself (rm {link}) if {name} should not start at boot")


class GuestAbsent(Step):
    """A guest with state absent is not running: xl shutdown, waited for; xl destroy only with force and confirm.
    Its config, its disk and dom0's copies of its kernel are kept, and the step says how to delete them."""

    section = SECTION

    def __init__(self, g: GuestParams):
        self.g, self.name, self.group = g, self.named(g.name), g.name

    def kept(self, host: Host) -> str:
        g, cfg, disk = self.g, f"/etc/xen/{self.g.name}.cfg", disk_path(self.g)
        remove = {"lvm": f"lvremove {g.volume_group}/{g.name}", "image": f"rm {disk}"}.get(
            g.storage, f"wipefs -a {disk} (the partition itself stays)")
        return (f"kept: {cfg} and its disk {disk}; to delete them by hand: rm {cfg}; {remove}; rm -f "
                f"{STATE}/guests/{g.name}.bootstrapped; rm -rf {BOOT_DIR}/{g.name}")

    def plan(self, host: Host) -> Plan:
        g, cfg = self.g, f"/etc/xen/{self.g.name}.cfg"
        running = host.run(Command.of("xl", "domid", g.name)).ok
        text = host.read_text(cfg)
        ours = xenbook_config(text)
        if not running:
            if text is None:
                return Plan.ok(f"no domain {g.name} runs and there is no {cfg}: nothing to remove")
            if not ours:
                return Plan.ok(f"no domain {g.name} runs; {cfg} was not written by xenbook and is left alone")
            return Plan.ok(f"{g.name} is not running ({self.kept(host)})")
        if not ours:
            why = "there is no " + cfg if text is None else f"{cfg} was not written by xenbook"
            return Plan.fail(f"a domain named {g.name} runs, but {why}: state absent stops only guests xenbook "
                             "made", f"stop it yourself (xl shutdown -w {g.name}) if you mean to, or take it out of "
                                  "guests")
        wait = Command.of("timeout", str(SHUTDOWN_SECONDS), "xl", "shutdown", "-w", g.name)
        if not g.force:
            return Plan.change(f"shut down {g.name} (state absent; {self.kept(host)})", RunCommand(
                wait, why=f"waits up to {SHUTDOWN_SECONDS} s for the guest to shut down",
                remedy=f"{g.name} did not shut down in {SHUTDOWN_SECONDS} s: see why on its console (xl console "
                       f"{g.name}), or set force: true and confirm: {g.name} to destroy it (like pulling its plug)"))
        destroy = Command.of("xl", "destroy", g.name)
        return Plan.change(f"shut down {g.name}, destroyed if it does not stop in {SHUTDOWN_SECONDS} s (state absent, "
                           f"forced and confirmed; {self.kept(host)})",
                           RunCommand(wait, why=f"waits up to {SHUTDOWN_SECONDS} s", ok_codes=(0, 124)),
                           Deferred(f"xl destroy {g.name} if it is still running", lambda h: [
                               RunCommand(destroy, why="it did not shut down (force, confirm)")]
                               if h.run(Command.of("xl", "domid", g.name)).ok else []))
