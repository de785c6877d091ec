"""A SIMULATED reboot of the sample host: the firmware and the boot loader pick an entry, which boots Xen or not.

An entry boots Xen when it loads the hypervisor, every file it names exists, dom0's kernel has CONFIG_XEN_DOM0, and
its options mount the root that holds /sbin/init (a btrfs subvolume root needs rootflags=subvol=); otherwise the
machine comes up without Xen (on the menu's first plain Linux entry) and the result says why. The boot also sets up
the network (netmanagers.py), the units that start (services.py) and, after saving or shutting down the guests of
the boot that ends, the guests xendomains restores and starts (xendomains.py)."""

from __future__ import annotations

import dataclasses
import gzip
import posixpath
import re
import time
import uuid

from xenbook_sample.bootmenu import Entry, grub2_entries, legacy_entries, uefi_entries
from xenbook_sample.efi import has_oneshot
from xenbook_sample.netmanagers import boot_network
from xenbook_sample.network import write_sysfs
from xenbook_sample.profiles import Cpu
from xenbook_sample.services import pulled_in
from xenbook_sample.tree import _cpuinfo, _meminfo
from xenbook_sample.xencmdline import dom0_allocation

LOG = "/var/log/xenbook-sample-boot.log"


# the reboot

def _dom0_capable(host, kernel_path: str) -> bool:
    """The dom0 kernel's build config (config-NAME beside it, else /proc/config.gz) has CONFIG_XEN_DOM0=y."""
    folder, name = posixpath.split(kernel_path)
    text = host.read_text(f"{folder}/config-{name.removeprefix('vmlinuz-')}")
    if text is None:
        data = host.read_bytes("/proc/config.gz")
        text = gzip.decompress(data).decode() if data else "CONFIG_XEN_DOM0=y"
    return bool(re.search(r"^CONFIG_XEN_(DOM0|PRIVILEGED_GUEST)=y$", text, re.M))


def _root_problem(state: dict, args: str) -> str:
    """Why the initramfs finds no /sbin/init on the root the kernel options mount, or "": a btrfs root on a subvolume
    needs rootflags=subvol= (or subvolid=) naming it, as the profile sets no default subvolume (the last rootflags=
    counts, as in mkinitcpio's init)."""
    root = next(m for m in state["mounts"] if m["target"] == "/")
    if root["fstype"] != "btrfs" or root.get("fsroot", "/") == "/":
        return ""
    own = dict(o.partition("=")[::2] for o in root["options"].split(","))
    flags = next((w.removeprefix("rootflags=") for w in reversed(args.split()) if w.startswith("rootflags=")), "")
    given = dict(f.partition("=")[::2] for f in flags.split(",") if f)
    sub = "/" + given["subvol"].lstrip("/") if given.get("subvol") else None
    if sub == root["fsroot"] or (sub is None and given.get("subvolid") == own.get("subvolid")):
        return ""
    mounted = (f"the subvolume {sub}" if sub else f"the subvolume with id {given['subvolid']}" if given.get("subvolid")
               else "the top level (no default subvolume is set)")
    return (f"the kernel options lack rootflags=subvol={root['fsroot'].lstrip('/')}, so the initramfs mounted "
            f"{mounted} of the btrfs filesystem {root['source']} as / and stopped: \"ERROR: Root device mounted "
            "successfully, but /sbin/init does not exist.\"")


def _check(host, entry: Entry) -> str:
    """Why entry cannot boot its kernel (and Xen), or ""."""
    if entry.problem:
        return entry.problem
    missing = next(((c, p) for c, p, local in entry.files if local is None or not host.exists(local)), None)
    if missing:
        return f"{missing[0]} {missing[1]}: file not found"
    if entry.kernel is None:
        return f"the entry '{entry.title}' loads no kernel"
    if entry.xen and not _dom0_capable(host, entry.kernel[2]):
        return f"the dom0 kernel {entry.kernel[1]} lacks CONFIG_XEN_DOM0, so Xen finds no dom0 to start"
    problem = _root_problem(host.load_state(), entry.kernel_args)
    return f"{'dom0 did not boot: ' if entry.xen else ''}{problem}" if problem else ""


def choose(host, state: dict) -> tuple[str, Entry | None, bool, str]:
    """(title of the default entry, the entry that runs, whether it runs Xen, why not Xen)."""
    if state["machine"]["boot_mode"] == "uefi":
        entries, chosen, note = uefi_entries(host, state)
    else:
        menu = grub2_entries if state["machine"]["loader"] == "grub2" else legacy_entries
        entries, chosen, note = menu(host, state)
    if chosen is None:
        return "", None, False, note
    problem = _check(host, chosen)
    if not problem and chosen.xen:
        return chosen.title, chosen, True, ""
    why = (note + "; " if note else "") + (problem or f"the default entry '{chosen.title}' does not load Xen")
    booted = chosen
    if problem:
        booted = next((e for e in entries if not e.xen and not _check(host, e)), None)
        why += (f"; the simulation booted '{booted.title}' instead, as if picked at the boot menu" if booted else
                "; nothing else on the menu boots either, so the simulation keeps the previous kernel command line")
    return chosen.title, booted, False, why


def reboot(host) -> dict:
    """Reboot the sample host; return {"xen", "entry", "why", ...} and record it in the state and boot log."""
    from xenbook_sample.xl import xen_version
    from xenbook_sample import journal, xendomains
    state = host.load_state()
    once = has_oneshot(host, state)
    title, entry, on_xen, why = choose(host, state)
    run, machine = state["running"], state["machine"]
    if once and not on_xen and why and "does not load Xen" not in why:
        # a one-time boot of an entry that fails (Xen or dom0 does not come up): the machine hangs or panics, a
        # watchdog or a power cycle resets it, and the next boot is the default again (the one-shot is spent)
        run["boot_count"] = run.get("boot_count", 0) + 1
        first, first_title = why.split("; the simulation booted")[0], title
        title, entry, on_xen, why = choose(host, state)
        why = (f"the one-time boot of '{first_title}' failed ({first}); the machine reset and booted its default"
               + (f" ({why})" if why else ""))
    run["boot_count"] = run.get("boot_count", 0) + 1
    run["boot_id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"xenbook-sample:{machine['hostname']}:{run['boot_count']}"))
    saved = xendomains.stop(host, state)  # the ending boot's guests: saved, or shut down
    journal.rotate(host)  # the ending boot's journal is -b -1 from now on
    run["booted_at"] = time.time()
    run.update(domains=[], next_domid=1)
    run.pop("xen", None)
    cpu = Cpu(**{k: tuple(v) if isinstance(v, list) else v for k, v in machine["cpu"].items()})
    mem_kib = machine["mem_kib"]
    run["cmdline"] = entry.kernel_args if entry else run.get("cmdline", "")
    if on_xen:
        mem, maximum, vcpus = dom0_allocation(entry.xen_args, mem_kib // 1024, cpu.count)
        run["xen"] = {"version": xen_version(host), "cmdline": entry.xen_args, "dom0_mem_mib": mem,
                      "dom0_max_mib": maximum, "dom0_vcpus": vcpus, "loader": entry.loader}
        mem_kib = mem * 1024 * 97 // 100
        cpu = dataclasses.replace(cpu, count=vcpus, vmx_flags=(), flags=tuple(
            f for f in cpu.flags if f not in ("vmx", "svm", "smx")) + ("hypervisor",))
        host.makedirs("/proc/xen")
        host.makedirs("/sys/hypervisor")
        host.write_atomic("/proc/xen/capabilities", b"control_d\n", mode=0o444)
        host.write_atomic("/proc/xen/privcmd", b"", mode=0o600)  # xenfs's privcmd node (a file on the sample)
        host.write_atomic("/sys/hypervisor/type", b"xen\n", mode=0o444)
    else:
        for path in ("/proc/xen/capabilities", "/proc/xen/privcmd", "/sys/hypervisor/type"):
            host.remove(path)
    host.makedirs("/proc/sys/kernel/random")
    host.write_atomic("/proc/sys/kernel/random/boot_id", f"{run['boot_id']}\n".encode(), mode=0o444)
    host.write_atomic("/proc/cmdline", f"{run.get('cmdline', '')}\n".encode(), mode=0o444)
    host.write_atomic("/proc/meminfo", _meminfo(mem_kib).encode(), mode=0o444)
    host.write_atomic("/proc/cpuinfo", _cpuinfo(cpu).encode(), mode=0o444)
    run["network"] = boot_network(host, state)
    run["bridges"] = [link["ifname"] for link in run["network"]["links"] if link["kind"] == "bridge"]
    write_sysfs(host, run["network"])
    state["last_boot"] = {"xen": on_xen, "entry": title, "booted": entry.title if entry else None, "why": why}
    host.save_state(state)
    state["running"]["units"] = sorted(pulled_in(host))
    host.save_state(state)
    started = xendomains.start(host) if on_xen else []
    host.makedirs(posixpath.dirname(LOG))
    line = (f"[simulated] boot {run['boot_count']} ({time.strftime('%Y-%m-%d %H:%M:%S')}): entry '{title}' "
            + (f"started Xen {run['xen']['version']}" if on_xen else f"without Xen: {why}") + "\n")
    host.write_atomic(LOG, (host.read_bytes(LOG) or b"") + line.encode(), mode=0o644)
    return {**state["last_boot"], "boot": run["boot_count"], "boot_id": run["boot_id"],
            "cmdline": run.get("cmdline", ""), "xen_info": run.get("xen"), "bridges": run["bridges"],
            "saved": saved, "autostarted": started}
