"""The sample host's guests: xl create (libxl's checks in its order, with its messages), shutdown, reboot,
destroy, pause, vcpu-pin, mem-set (xendomains.py creates the guests xendomains starts at boot)."""

from __future__ import annotations

import getopt
import json
import posixpath
import time
import uuid

from xenbook.core.commands import Result
from xenbook_sample import affinity
from xenbook_sample.xl import _config_json, _fail, _no_domain, all_domains, cpu_seconds, find, free_mib, total_mib, virt_caps
from xenbook_sample.xlconfig import disk_spec, parse_xl_cfg, vif_spec

QEMU = "/usr/lib/xen/bin/qemu-system-i386"


def xl_conf(host) -> dict:
    try:
        return parse_xl_cfg(host.read_text("/etc/xen/xl.conf") or "", "/etc/xen/xl.conf")
    except ValueError:
        return {}


def describe(host, cfg: dict, source: str) -> dict:
    """The domain cfg asks for, with xl's defaults filled in (not yet checked against the host)."""
    name, kind = cfg["name"], cfg.get("type") or ("hvm" if cfg.get("builder") == "hvm" else "pv")
    memory = int(cfg.get("memory", 128))
    bridge = str(xl_conf(host).get("vif.default.bridge", "xenbr0"))
    dom = {"name": name, "domid": None, "type": kind, "memory_mib": memory, "vcpus": int(cfg.get("vcpus", 1)),
           "maxmem_mib": max(memory, int(cfg.get("maxmem", memory))), "config": source,
           "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"xenbook-sample-domain:{name}")),
           "disks": [disk_spec(str(x)) for x in _list(cfg.get("disk"))], "cpus": str(cfg.get("cpus", "")),
           "nics": [vif_spec(str(x), name, n, bridge) for n, x in enumerate(_list(cfg.get("vif")))]}
    dom.update({k: str(cfg[k]) for k in ("kernel", "ramdisk", "cmdline", "firmware", "bootloader", "on_poweroff",
                                        "on_reboot", "on_crash") if k in cfg})
    return dom


def _list(value) -> list:
    return value if isinstance(value, list) else [] if value is None else [value]


def _teardown(domid: int) -> str:
    return (f"libxl: error: libxl_domain.c:1182:libxl__destroy_domid: Domain {domid}:Non-existant domain\n"
            f"libxl: error: libxl_domain.c:1136:domain_destroy_callback: Domain {domid}:Unable to destroy guest\n"
            f"libxl: error: libxl_domain.c:1063:domain_destroy_cb: Domain {domid}:Destruction of domain failed\n")


def start(host, state: dict, dom: dict, paused: bool = False, hard: set[int] | None = None) -> tuple[str, int]:
    """(stderr, exit code) of libxl creating dom (its vCPUs' hard affinity hard, None for any CPU) on the running
    sample; on success dom joins the state's domains."""
    run = state["running"]
    domid = run.get("next_domid", 1)
    balloon = str(xl_conf(host).get("autoballoon", "auto"))
    balloon = "dom0_mem=" not in run["xen"]["cmdline"] if balloon == "auto" else balloon in ("on", "1", "true")
    need, free = dom["memory_mib"] + (9 if dom["type"] == "hvm" else 1), free_mib(state)
    if free < need and balloon:  # xl asks dom0's balloon driver to give memory back
        if run["xen"]["dom0_mem_mib"] - (need - free) < 256:
            return "failed to free memory for the domain\n", 3
        run["xen"]["dom0_mem_mib"] -= need - free
    if find(state, dom["name"]) is not None:
        return (f'libxl: error: libxl_create.c:695:libxl__domain_make: Domain with name "{dom["name"]}" already '
                "exists.\nlibxl: error: libxl_create.c:1306:initiate_domain_create: cannot make domain: -6\n"), 6
    run["next_domid"] = domid + 1  # from here on the domain id is used up, even when creation fails
    for n, disk in enumerate(dom["disks"]):
        if disk["target"] and not host.exists(disk["target"]):
            return (f"libxl: error: libxl_device.c:397:disk_try_backend: Disk vdev={disk['vdev']} failed to stat: "
                    f"{disk['target']}: No such file or directory\nlibxl: error: libxl_create.c:1303:initiate_domain_"
                    f"create: Domain {domid}:Unable to set disk defaults for disk {n}\n" + _teardown(domid)), 3
    rebuilt = f"libxl: error: libxl_create.c:1717:domcreate_rebuild_done: Domain {domid}:cannot (re-)build domain: -3\n"
    if dom["type"] in ("hvm", "pvh") and "hvm" not in virt_caps(state):
        return (f"libxl: error: libxl_create.c:1224:libxl__domain_config_setdefault: Domain {domid}:[simulated "
                f"wording] {dom['type']} guests need hvm in virt_caps; VT-x/AMD-V is off on this host\n"
                + _teardown(domid)), 3
    if hard is not None and not affinity.online(hard, state["machine"]["cpu"]["count"]):
        return (f"libxl: error: libxl_sched.c:62:libxl_set_vcpuaffinity: Domain {domid}:Setting vcpu affinity: "
                "Invalid argument\nlibxl: error: libxl_dom.c:345:libxl__build_pre: setting affinity failed on vcpu "
                "`0'\n" + rebuilt + _teardown(domid)), 3
    for key in ("kernel", "ramdisk"):
        if dom.get(key) and not host.exists(dom[key]):
            return (f"xc: error: panic: xc_dom_core.c:207: failed to open file '{dom[key]}': No such file or "
                    f"directory: Internal error\nlibxl: error: libxl_dom.c:588:libxl__build_dom: xc_dom_{key}_file "
                    "failed: No such file or directory\n" + rebuilt + _teardown(domid)), 3
    if free < need and not balloon:
        return ("xc: error: panic: xc_dom_boot.c:120: xc_dom_boot_mem_init: can't allocate low memory for domain: "
                "Out of memory: Internal error\nlibxl: error: libxl_dom.c:605:libxl__build_dom: xc_dom_boot_mem_init "
                "failed: Cannot allocate memory\n" + rebuilt + _teardown(domid)), 3
    if dom["type"] == "hvm" and not host.exists(QEMU):
        return (f"libxl: error: libxl_dm.c:3131:device_model_spawn_outcome: Domain {domid}:domain {domid} device "
                f"model: spawn failed (rc=-3)\nlibxl: error: libxl_create.c:1949:domcreate_devmodel_started: Domain "
                f"{domid}:device model did not start: -3\n" + _teardown(domid)), 3
    for nic in dom["nics"]:
        if nic["bridge"] not in run.get("bridges", []):
            return (f"libxl: error: libxl_exec.c:117:libxl_report_child_exitstatus: {nic['script']} online [-1] "
                    "exited with error status 1\nlibxl: error: libxl_device.c:1286:device_hotplug_child_death_cb: "
                    f"script: {nic['script']}: Could not find bridge device {nic['bridge']}\nlibxl: error: "
                    f"libxl_create.c:1676:domcreate_attach_devices: Domain {domid}:unable to add nic devices\n"
                    + _teardown(domid)), 3
    dom.update(domid=domid, paused=paused, cpu_offset=0.0, run_since=None if paused else time.time())
    run.setdefault("domains", []).append(dom)
    return "", 0


def xl_create(host, state: dict | None, args: list[str], dryrun: bool) -> Result:
    """xl [-N] create [-c] [-p] [-q] [-n|--dryrun] [-f] FILE [key=value ...]."""
    flags, filename, extra, rest = set(), None, [], list(args)
    if rest and not rest[0].startswith("-") and "=" not in rest[0]:
        filename = rest.pop(0)
    while rest:
        a = rest.pop(0)
        if a in ("-f", "--defconfig"):
            filename = rest.pop(0) if rest else filename
        elif a.startswith("--"):
            flags.add({"--dryrun": "n", "--quiet": "q"}.get(a, a))
        elif a.startswith("-"):
            flags |= set(a[1:])
        elif "=" in a:
            extra.append(a)
        elif filename is None:
            filename = a
        else:
            return Result(2, "", "Usage: xl [-vfN] create <ConfigFile> [options] [vars]\n")
    if filename is None:
        return Result(6, "", "Config file not specified and none in save file\n")
    path = posixpath.normpath(filename if filename.startswith("/") else f"/root/{filename}")
    info = host.stat(path)
    text = host.read_text(path) if info is not None and info.kind == "file" else None
    if text is None:
        why = "Is a directory" if info is not None else "No such file or directory"
        return Result(3, "", f"Failed to read config file: {filename}: {why}\n")
    err = "" if "q" in flags else f"Parsing config from {filename}\n"
    try:
        cfg = parse_xl_cfg(text + "\n" + "\n".join(extra) + "\n", filename)
    except ValueError as e:
        return Result(1, "", err + f"{e}\nFailed to parse config: Invalid argument\n")
    if not cfg.get("name"):
        return Result(1, "", err + "Domain name must be specified.\n")
    dom = describe(host, cfg, path)
    if dom["type"] not in ("pv", "pvh", "hvm"):
        return Result(1, "", err + f"Invalid domain type {dom['type']}.\n")
    if dom["type"] != "hvm" and not (dom.get("kernel") or dom.get("bootloader") or dom.get("firmware")):
        return Result(1, "", err + "Neither kernel nor bootloader specified\n")
    hard = None
    if not flags & {"i", "--ignore-global-affinity-masks"}:  # xl_vmcontrol.c: before the dry run's print
        try:
            hard = affinity.hard_affinity(host, dom["type"], dom["cpus"] or "all", state["machine"]["cpu"]["count"],
                                          False)
        except ValueError as e:
            return Result(1, "", err + str(e))
    if dryrun or "n" in flags:
        return Result(0, json.dumps(_config_json(dom), indent=4) + "\n", err)
    problem, code = start(host, state, dom, paused="p" in flags, hard=hard)
    host.save_state(state)
    if code:
        return Result(code, "", err + problem)
    if "c" in flags:
        err += (f"[simulated] here xl would attach to {dom['name']}'s console (Ctrl-] leaves it); "
                "the sample host's guests have no console to show\n")
    return Result(0, "", err)


# the guests' life cycle

def lifecycle(host, state: dict, verb: str, args: list[str]) -> Result:
    """shutdown [-a] [-w], reboot [-a] [-w], destroy, pause, unpause: what the guest's on_* actions make of it."""
    flags, names = {a for a in args if a.startswith("-")}, [a for a in args if not a.startswith("-")]
    everyone = verb in ("shutdown", "reboot") and flags & {"-a", "--all"}
    if not names and not everyone:
        if verb in ("shutdown", "reboot"):
            return _fail("You must specify -a or a domain id.\n\n")
        return _fail(f"'xl {verb}' requires at least 1 argument.\n\n", 2)
    targets = [d for d in all_domains(state) if d["domid"]] if everyone else [find(state, names[0])]
    if None in targets:
        return _no_domain(names[0])
    if any(d["domid"] == 0 for d in targets):
        if verb == "destroy":
            return _fail("Not destroying domain 0; use -f to force.\nThis can only be done when using a "
                         "disaggregated hardware domain and toolstack.\n\n")
        return _fail(f"[simulated] xenbook's sample host does not {verb} Domain-0; reboot the sample instead\n")
    err, now, run = "", time.time(), state["running"]
    ids = [d["domid"] for d in targets]
    for d in targets:
        d = next(x for x in run["domains"] if x["domid"] == d["domid"])
        if verb in ("pause", "unpause"):
            if (verb == "pause") != bool(d.get("paused")):
                d.update(cpu_offset=cpu_seconds(d, now), run_since=None if verb == "pause" else now,
                         paused=verb == "pause")
            continue
        if verb != "destroy":
            err += f"{'Rebooting' if verb == 'reboot' else 'Shutting down'} domain {d['domid']}\n"
        action = "destroy" if verb == "destroy" else d.get(f"on_{'reboot' if verb == 'reboot' else 'poweroff'}",
                                                          "restart" if verb == "reboot" else "destroy")
        run["domains"].remove(d)
        if action.endswith("restart"):  # xl's monitor creates it again: a new domain id, a fresh uptime
            d.update(domid=run.get("next_domid", 1), run_since=now, cpu_offset=0.0, paused=False)
            run["next_domid"] = d["domid"] + 1
            run["domains"].append(d)
    if flags & {"-w", "--wait"}:
        err += f"Waiting for {len(targets)} domains\n" + "".join(
            f"Domain {i} has been shut down, reason code {1 if verb == 'reboot' else 0}\n" for i in ids)
    host.save_state(state)
    return Result(0, "", err)


def _size_kib(text: str) -> int | None:
    units = {"": 1, "k": 1, "b": 1 / 1024, "m": 1024, "g": 1024 ** 2, "t": 1024 ** 3}
    number, unit = text.rstrip("bBkKmMgGtT"), text[len(text.rstrip("bBkKmMgGtT")):].lower()
    return int(int(number) * units[unit]) if number.isdigit() and unit in units else None


def pin(host, state: dict, dom: dict, args: list[str], ignore_masks: bool) -> Result | None:
    """What xl vcpu-pin DOM VCPU HARD [SOFT] fails with, or None: the global masks first (xl_vcpu.c), then Xen."""
    cpus = state["machine"]["cpu"]["count"]
    hard = None
    if args[2] != "-":
        try:
            hard = affinity.hard_affinity(host, dom["type"], args[2], cpus, ignore_masks)
        except ValueError as e:
            return _fail(str(e))
    if args[1] != "all" and not (args[1].isdigit() and int(args[1]) < dom["vcpus"]):
        return _fail(f"libxl: error: libxl_sched.c:62:libxl_set_vcpuaffinity: Domain {dom['domid']}:"
                     f"[simulated wording] vcpu {args[1]} does not exist\n")
    if hard is None or affinity.online(hard, cpus):
        return None
    err = "".join(f"libxl: error: libxl_sched.c:62:libxl_set_vcpuaffinity: Domain {dom['domid']}:Setting vcpu "
                  "affinity: Invalid argument\n" for _ in (range(dom["vcpus"]) if args[1] == "all" else [0]))
    if args[1] == "all":  # libxl_set_vcpuaffinity_all failed: xl_vcpu.c says so and still exits 0
        return Result(0, "", err + "Could not set affinity.\n")
    return _fail(err + f"Could not set affinity for vcpu `{args[1]}'.\n")


def tune(host, state: dict, verb: str, args: list[str]) -> Result:
    """vcpu-pin [-f] [-i|--ignore-global-affinity-masks] DOM VCPU HARD [SOFT] and mem-set DOM SIZE (kB unless
    suffixed with b, k, m, g, t)."""
    need, ignore_masks = (3 if verb == "vcpu-pin" else 2), False
    if verb == "vcpu-pin":
        try:
            opts, args = getopt.gnu_getopt(args, "fi", ["force", "ignore-global-affinity-masks"])
        except getopt.GetoptError as e:
            return _fail(f"xl vcpu-pin: {e}\n", 2)
        ignore_masks = any(o in ("-i", "--ignore-global-affinity-masks") for o, _ in opts)
    if len(args) < need:
        return _fail(f"'xl {verb}' requires at least {need} arguments.\n\n", 2)
    dom = find(state, args[0])
    if dom is None:
        return _no_domain(args[0])
    run = state["running"]
    target = run["xen"] if dom["domid"] == 0 else next(d for d in run["domains"] if d["domid"] == dom["domid"])
    if verb == "vcpu-pin":
        problem = pin(host, state, dom, args, ignore_masks)
        if problem is not None:
            return problem
        target.setdefault("pins", {})[args[1]] = args[2:4]
    else:
        kib = _size_kib(args[1])
        if kib is None:
            return _fail(f"invalid memory size: {args[1]}\n")
        top = dom.get("maxmem_mib") or total_mib(state)
        if kib // 1024 > top:
            return _fail(f"libxl: error: libxl_mem.c:340:libxl_set_memory_target: Domain {dom['domid']}:memory_"
                         "dynamic_max must be less than or equal to memory_static_max\n")
        target["dom0_mem_mib" if dom["domid"] == 0 else "memory_mib"] = kib // 1024
    host.save_state(state)
    return Result(0, "", "")
