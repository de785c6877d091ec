"""The manage section: the toolstack answers, one domain action (refusing unknown domains), the dashboard snapshot."""

from __future__ import annotations

import gzip
import json
import time
from typing import TYPE_CHECKING

from xenbook.core.actions import Plan, RunCommand, WriteFile
from xenbook.core.commands import Command
from xenbook.core.errors import HostError
from xenbook.core.host import Host
from xenbook.core.model import size_mib
from xenbook.core.paths import STATE_DIR
from xenbook.core.step import Step
from xenbook.facts import domains as domfacts
from xenbook.facts import services, xen, xlcfg
from xenbook.sections.manage.charts import snapshot_files
from xenbook.sections.manage.dashboard import Dashboard
from xenbook.sections.manage.libvirt import libvirt_steps
from xenbook.sections.manage.params import ManageParams

if TYPE_CHECKING:  # the whole parameter set is assembled above the sections, from each one's model
    from xenbook.engine.params import RunbookParams

SECTION = "manage"
DASHBOARD_DIR = f"{STATE_DIR}/dashboard"  # the host report shows the PNG files here (sections/manage/report.py)
XL_CONF = "/etc/xen/xl.conf"
NOT_DOM0 = ("start", "shutdown", "reboot", "destroy", "pause", "unpause", "autostart-on", "autostart-off")


class ToolstackAnswers(Step):
    """This host is Xen's dom0 and xl answers, so there are domains to show and manage."""

    section = SECTION

    def plan(self, host: Host) -> Plan:
        if not xen.xen_state(host).dom0:
            return Plan.fail("not running as Xen's dom0: there are no domains to manage here",
                             "finish the dom0 section and reboot into the Xen entry, or set target to a dom0")
        result = host.run(Command.of("xl", "info"))
        if not result.ok:
            return Plan.fail(f"xl info exited {result.returncode}: {result.stderr.strip()[-200:]}",
                             "start xenstored (systemctl start xenstored), then run again")
        info = xen.parse_xl_info(result.stdout)
        return Plan.ok(f"Xen {info.xen_version} answers: {info.free_memory_mib} MiB of {info.total_memory_mib} "
                       f"free, {info.nr_cpus} CPUs")


class DomainAction(Step):
    """The asked action on one domain is done (or already true); unknown domains and Domain-0 are refused clearly."""

    section = SECTION

    def __init__(self, params: ManageParams):
        self.p = params
        self.name = self.named(f"{params.action} {params.domain}")

    def plan(self, host: Host) -> Plan:
        p, name = self.p, self.p.domain
        result = host.run(Command.of("xl", "list"))
        if not result.ok:
            return Plan.fail(f"xl list exited {result.returncode}: {result.stderr.strip()[-200:]}",
                             "run this on dom0 with xenstored running")
        running = {d["name"]: d for d in domfacts.parse_xl_list(result.stdout)}
        guest = xlcfg.config_for(host, name)  # a guest's configuration, never xen.efi's efi-xen.cfg or xl.conf
        cfg, link = guest.path if guest else f"/etc/xen/{name}.cfg", f"/etc/xen/auto/{name}.cfg"
        if name == "Domain-0" and p.action in NOT_DOM0:
            return Plan.fail(f"Domain-0 is dom0 itself: the dashboard does not {p.action} it",
                             "reboot or power off the machine instead; vcpu-pin and mem-set work on Domain-0")
        needs_config = p.action in ("start", "autostart-on", "autostart-off")
        if p.action in ("shutdown", "destroy") and name not in running and guest:
            return Plan.ok(f"{name} is shut off (its config {cfg} is there; action start starts it)")
        if (needs_config and not guest) or (not needs_config and name not in running):
            others = ", ".join(sorted(running)) or "none"
            configs = ", ".join(g.name for g in xlcfg.guest_configs(host)[0])
            what = (f"no guest configuration {cfg}" + (" (that file is not a guest's xl.cfg(5))"
                                                       if host.exists(cfg) else "")) if needs_config else \
                f"no running domain named {name}"
            return Plan.fail(f"{p.action} refused: {what} (running: {others}; configs in /etc/xen: "
                             f"{configs or 'none'})", "check the name with xl list, or start it from its config "
                                                       "with action start")
        return self.commands(host, running.get(name), cfg, link)

    def commands(self, host: Host, dom: dict | None, cfg: str, link: str) -> Plan:
        p, name = self.p, self.p.domain

        def change(why: str, *argv: tuple[str, ...]) -> Plan:
            return Plan.change(why, *[RunCommand(Command.of(*a), tail=10) for a in argv])

        state = dom["state"] if dom else "not running"
        if p.action == "start":
            return (Plan.ok(f"{name} is already running as domain {dom['domid']}") if dom else
                    change(f"start {name} from {cfg}", ("xl", "create", cfg)))
        if p.action == "destroy" and p.confirm != name:
            return Plan.fail(f"destroy pulls the plug on {name} (no clean shutdown, unsaved data is lost): "
                             "not confirmed", f"set confirm to {name}, the domain's name, to destroy it")
        if p.action in ("shutdown", "destroy", "reboot"):
            why = {"shutdown": f"ask {name} to shut down (xl list shows when it is gone)",
                   "reboot": f"ask {name} to reboot", "destroy": f"destroy {name} at once"}[p.action]
            return change(why, ("xl", p.action, name))
        if p.action == "pause":
            return Plan.ok(f"{name} is already paused") if state == "paused" else change(f"pause {name}",
                                                                                       ("xl", "pause", name))
        if p.action == "unpause":
            return change(f"unpause {name}", ("xl", "unpause", name)) if state == "paused" else \
                Plan.ok(f"{name} is not paused ({state})")
        if p.action == "vcpu-pin":
            return self.pin(name)
        if p.action == "mem-set":
            mib = size_mib(p.memory)
            if dom and dom["memory_mib"] == mib:
                return Plan.ok(f"{name} already has {mib} MiB")
            return change(f"set {name}'s memory target to {mib} MiB (from {dom['memory_mib'] if dom else '?'})",
                          ("xl", "mem-set", name, f"{mib}m"))
        linked = host.exists(link)
        if p.action == "autostart-on":
            note = "" if services.unit_state(host, "xendomains.service").enabled else \
                " (xendomains.service is not enabled: enable it in the dom0 section for the link to matter)"
            return Plan.ok(f"{link} links {cfg}{note}") if linked else change(
                f"link {link}: xendomains starts {name} at boot{note}", ("mkdir", "-p", "/etc/xen/auto"),
                ("ln", "-sfn", cfg, link))
        return change(f"remove {link}: {name} no longer starts at boot", ("rm", "-f", link)) if linked else \
            Plan.ok(f"{name} does not start at boot (no {link})")


    def pin(self, name: str) -> Plan:
        """xl vcpu-pin; Domain-0's ignores xl.conf's global masks, which keep guests (not dom0) off its CPUs."""
        p = self.p
        if name == "Domain-0":  # else xl ANDs the CPUs with vm.cpumask, empty for dom0's own (xl_vcpu.c)
            return Plan.change(f"pin Domain-0's vCPU {p.vcpu} to CPUs {p.cpus} (ignoring xl.conf's vm.cpumask, "
                               "which is for guests)", RunCommand(Command.of(
                                   "xl", "vcpu-pin", "--ignore-global-affinity-masks", name, p.vcpu, p.cpus), tail=10))
        fix = (f"the CPUs {p.cpus} are all outside {XL_CONF}'s vm.cpumask, which keeps guests off dom0's pinned "
               "CPUs (the boot section's dom0_max_vcpus and dom0_vcpus_pin): pin the guest to other CPUs")
        return Plan.change(f"pin {name}'s vCPU {p.vcpu} to CPUs {p.cpus}", RunCommand(
            Command.of("xl", "vcpu-pin", name, p.vcpu, p.cpus), tail=10,
            remedies=((r"vcpu hard affinity map is empty", fix),)))


class DashboardSnapshot(Step):
    """/var/lib/xenbook/dashboard holds a snapshot of the domains table and the CPU and memory charts (PNG)."""

    section = SECTION

    def __init__(self, params: ManageParams, dashboard: Dashboard | None = None):
        self.p, self.dashboard = params, dashboard

    def age(self, host: Host) -> float | None:
        """Seconds since the snapshot on the host was taken, or None when there is none to read."""
        try:
            data = json.loads(gzip.decompress(host.read_bytes(f"{DASHBOARD_DIR}/snapshot.json.gz") or b""))
            return time.time() - float(data["samples"][-1]["time"])
        except (OSError, ValueError, KeyError, IndexError, TypeError, EOFError):
            return None

    def plan(self, host: Host) -> Plan:
        age = self.age(host)
        if age is not None and 0 <= age < self.p.snapshot_every and not self.p.action:
            return Plan.ok(f"the snapshot in {DASHBOARD_DIR} is {age:.0f} s old, younger than snapshot_every "
                           f"({self.p.snapshot_every} s): kept")
        dash = self.dashboard or Dashboard(host, self.p.refresh_seconds)
        try:
            dash.collect(self.p.samples)
            if time.time() - dash.samples[-1].time > dash.refresh_seconds:
                dash.refresh()  # an action may have run since the last sample
        except (HostError, ValueError) as e:
            return Plan.fail(f"cannot read the domains: {e}", "run this on dom0 with xenstored running")
        stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(dash.samples[-1].time))
        files = snapshot_files(dash, stamp)
        data = json.dumps(dash.to_dict(), indent=1, sort_keys=True) + "\n"  # gzip: the report says "binary", no diff
        files["snapshot.json.gz"] = gzip.compress(data.encode(), mtime=0)
        actions = [WriteFile(f"{DASHBOARD_DIR}/{n}", host.read_bytes(f"{DASHBOARD_DIR}/{n}"), data, mode=0o644,
                             backup=False)  # regenerable: the next snapshot replaces it, so no backup
                   for n, data in sorted(files.items())]
        return Plan.change(f"save the dashboard at {stamp} ({len(dash.domains)} domains, {len(dash.samples)} "
                           f"samples) in {DASHBOARD_DIR} for the host report", *actions)


def manage_steps(params: RunbookParams, host: Host, dashboard: Dashboard | None = None) -> list[Step]:
    """The manage section's steps: the toolstack check, the action asked for, libvirt when asked, the snapshot."""
    m = params.manage
    steps: list[Step] = [ToolstackAnswers()]
    steps += [DomainAction(m)] if m.action else []
    steps += libvirt_steps(params) if m.manager == "libvirt" else []
    steps += [DashboardSnapshot(m, dashboard)] if m.snapshot else []
    return steps
