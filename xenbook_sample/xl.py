"""The sample host's SIMULATED Xen toolstack, xl and xentop; the running guests live in the state (running.domains).

xl works only when the last simulated boot started Xen (dom0) and xenstored is active, and fails as the real one does
otherwise. Guests get deterministic CPU time that grows with their uptime; xentop shows it in its batch format."""

from __future__ import annotations

import getopt
import hashlib
import json
import math
import time

from xenbook.core.commands import Result
from xenbook_sample.services import is_active

CTX = "cannot init xl context\n"
NOT_XEN = ("xencall: error: Could not obtain handle on privileged command interface: No such file or directory\n"
           "libxl: error: libxl.c:102:libxl_ctx_alloc: cannot open libxc handle: No such file or directory\n")
NO_XENSTORE = "libxl: error: libxl.c:108:libxl_ctx_alloc: cannot connect to xenstore: No such file or directory\n"
HEADER = "Name                                        ID   Mem VCPUs\tState\tTime(s)\n"
DOM0_UUID = "00000000-0000-0000-0000-000000000000"


def xen_version(host) -> str:
    """The installed hypervisor's version as xl info prints it: 4.21.2-1 (pacman) is 4.21.2-1arch, 4.21.3pre-1 is
    4.21.3-pre-1arch (the PKGBUILD sets XEN_VENDORVERSION=-${pkgrel}arch)."""
    from xenbook_sample.packages import installed
    version = installed(host).get("xen", {}).get("version", "4.21.2-1")
    upstream, _, pkgrel = version.split(":")[-1].rpartition("-")
    major, minor, *rest = upstream.split(".")
    extra = "." + ".".join(rest) if rest else ".0"
    return f"{major}.{minor}{extra.replace('pre', '-pre')}-{pkgrel}arch"


def _fail(why: str, code: int = 1, out: str = "") -> Result:
    return Result(code, out, why)


def context(host) -> tuple[dict | None, Result | None]:
    """(state, None) when xl can open its context on the sample, else (None, the real tool's failure)."""
    if not host.exists("/usr/bin/xl"):
        return None, Result(127, "", "xl: command not found (SIMULATED host: install the xen package first)\n")
    state = host.load_state()
    if "control_d" not in (host.read_text("/proc/xen/capabilities") or "") or not state["running"].get("xen"):
        return None, _fail(NOT_XEN + CTX)
    if not is_active(host, "xenstored.service"):
        return None, _fail(NO_XENSTORE + CTX)
    return state, None


def dom0(state: dict) -> dict:
    x, run = state["running"]["xen"], state["running"]
    return {"name": "Domain-0", "domid": 0, "type": "pv", "memory_mib": x["dom0_mem_mib"], "uuid": DOM0_UUID,
            "maxmem_mib": x.get("dom0_max_mib"), "vcpus": x["dom0_vcpus"], "run_since": run["booted_at"],
            "cpu_offset": 0.0, "nics": [], "disks": []}


def all_domains(state: dict) -> list[dict]:
    return [dom0(state)] + sorted(state["running"].get("domains", []), key=lambda d: d["domid"])


def cpu_seconds(dom: dict, now: float) -> float:
    """CPU time that grows with uptime: a base load per vCPU with a slow, name-dependent wave (monotonic)."""
    secs = dom.get("cpu_offset", 0.0)
    if dom.get("run_since") is not None:
        u = max(0, int(now - dom["run_since"]))
        rate = (0.06 if dom["domid"] == 0 else 0.02) * dom["vcpus"]
        phase = int(hashlib.sha256(dom["name"].encode()).hexdigest(), 16) % 60
        secs += rate * u + rate * 3 * (math.cos(phase / 9) - math.cos((u + phase) / 9))
    return secs


def find(state: dict, arg: str) -> dict | None:
    return next((d for d in all_domains(state) if arg in (d["name"], str(d["domid"]))), None)


def _no_domain(arg: str) -> Result:
    return _fail(f"{arg} is an invalid domain identifier (rc=-6)\n")


def total_mib(state: dict) -> int:
    return state["machine"]["mem_kib"] // 1024


def free_mib(state: dict) -> int:
    """Memory no domain holds: the machine's, less Xen's own and every domain's."""
    total = total_mib(state)
    return total - total // 512 - 16 - sum(d["memory_mib"] for d in all_domains(state))


# xl info

def virt_caps(state: dict) -> list[str]:
    cpu, iommu = state["machine"]["cpu"], state["machine"].get("iommu", True)
    hvm = bool({"vmx", "svm"} & set(cpu["flags"]))
    hap = hvm and bool({"ept", "npt"} & set(cpu["flags"]))
    caps = ["pv"] + (["hvm"] if hvm else []) + (["hvm_directio"] if hvm and iommu else [])
    caps += (["pv_directio"] if iommu else []) + (["hap"] if hap else []) + ["shadow"]
    return caps + (["iommu_hap_pt_share"] if hap and iommu else []) + ["gnttab-v1", "gnttab-v2"]


def info_rows(host, state: dict) -> list[tuple[str, str]]:
    run, machine, x = state["running"], state["machine"], state["running"]["xen"]
    cpu = machine["cpu"]
    major, minor, rest = x["version"].split(".", 2)
    hvm = "hvm" in virt_caps(state)
    build = hashlib.sha1(f"xen-{x['version']}".encode()).hexdigest()
    hw = "bfebfbff:77faf3ff:2c100800:00000121:0000000f:009c6fbf:00000000:00000100" if cpu["vendor"] == \
        "GenuineIntel" else "178bfbff:fed8320b:2e500800:75c237ff:0000000f:219c91a9:0040069c:00000780"
    return [("host", run["hostname"]), ("release", run["kernel_release"]), ("version", run["kernel_version"]),
            ("machine", "x86_64"), ("nr_cpus", str(cpu["count"])), ("max_cpu_id", str(cpu["count"] - 1)),
            ("nr_nodes", "1"), ("cores_per_socket", str(cpu["count"])), ("threads_per_core", "1"),
            ("cpu_mhz", f"{cpu['mhz']:.3f}"), ("hw_caps", hw), ("virt_caps", " ".join(virt_caps(state))),
            ("total_memory", str(total_mib(state))), ("free_memory", str(max(0, free_mib(state)))),
            ("sharing_freed_memory", "0"), ("sharing_used_memory", "0"), ("outstanding_claims", "0"),
            ("free_cpus", "0"), ("xen_major", major), ("xen_minor", minor), ("xen_extra", "." + rest),
            ("xen_version", x["version"]),
            ("xen_caps", "xen-3.0-x86_64" + (" hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64" if hvm else "")),
            ("xen_scheduler", "credit2"), ("xen_pagesize", "4096"),
            ("platform_params", "virt_start=0xffff800000000000"),
            ("xen_changeset", "Thu Nov 20 16:42:10 2025 +0000 git:5e0c8a1f3b"), ("xen_commandline", x["cmdline"]),
            ("cc_compiler", "gcc (GCC) 15.2.1 20251112"), ("cc_compile_by", "builder"), ("cc_compile_domain", ""),
            ("cc_compile_date", "Tue Nov 25 10:12:44 UTC 2025"), ("build_id", build), ("xend_config_format", "4")]


def xl_info(host, state: dict, args: list[str]) -> Result:
    rows = info_rows(host, state)
    if args and args[0] not in ("-n", "--numa"):
        return Result(0, "".join(v + "\n" for k, v in rows if k.startswith(args[0])), "")
    return Result(0, "".join(f"{k:<23}: {v}\n" for k, v in rows), "")


# xl list

def _config_json(d: dict) -> dict:
    """The domain's configuration as libxl's JSON prints it (the keys xenbook's sample knows)."""
    if d["domid"] == 0:
        c_info = {"type": "pv", "name": "Domain-0"}
    else:
        c_info = {"type": d["type"], "name": d["name"], "uuid": d["uuid"], "run_hotplug_scripts": "True"}
    memkb = d["memory_mib"] * 1024
    maxkb = d["maxmem_mib"] * 1024 if d.get("maxmem_mib") else memkb if d["domid"] else 17179869180
    b_info = {"max_vcpus": d["vcpus"], "avail_vcpus": list(range(d["vcpus"])), "max_memkb": maxkb,
              "target_memkb": memkb}
    b_info.update({k: d[k] for k in ("kernel", "cmdline", "ramdisk") if d.get(k)})
    if d.get("firmware"):
        b_info[f"type.{d['type']}"] = {"firmware": d["firmware"]}
    out = {"c_info": c_info, "b_info": b_info}
    if d.get("disks"):
        out["disks"] = [{"pdev_path": x["target"], "vdev": x["vdev"], "backend": x["backend"], "format": x["format"],
                         "readwrite": 0 if x["access"].startswith("r") and x["access"] != "rw" else 1}
                        | ({"is_cdrom": 1} if x.get("cdrom") else {}) for x in d["disks"]]
    if d.get("nics"):
        out["nics"] = [{"devid": i, "mac": n["mac"], "bridge": n["bridge"], "script": n["script"],
                        "nictype": "vif_ioemu" if d["type"] == "hvm" else "vif"} for i, n in enumerate(d["nics"])]
    if d["domid"]:
        out.update({k: d.get(k, v) for k, v in (("on_poweroff", "destroy"), ("on_reboot", "restart"),
                                                  ("on_crash", "destroy"))})
    return out


def xl_list(host, state: dict, args: list[str]) -> Result:
    long = any(a in ("-l", "--long") for a in args)
    names = [a for a in args if not a.startswith("-")]
    doms = all_domains(state)
    if names:
        dom = find(state, names[0])
        if dom is None:
            return _no_domain(names[0])
        doms = [dom]
    if long:  # dom0 has a configuration only after xen-init-dom0 wrote its JSON stub
        shown = [d for d in doms if d["domid"] or is_active(host, "xen-init-dom0.service")]
        return Result(0, json.dumps([{"domid": d["domid"], "config": _config_json(d)} for d in shown], indent=4)
                      + "\n", "")
    now = time.time()
    rows = "".join(f"{d['name']:<40} {d['domid']:>5} {d['memory_mib']:>5} {d['vcpus']:>5}     "
                   f"{'r-----' if d['domid'] == 0 else '--p---' if d.get('paused') else '-b----'}  "
                   f"{cpu_seconds(d, now):>8.1f}\n" for d in doms)
    return Result(0, HEADER + rows, "")


# xentop -b

def xentop(host, argv, stdin) -> Result:
    """xentop -b [-i N] [-d S]: N tables one simulated delay apart (no waiting), CPU(%) from the CPU time between."""
    try:
        opts, _ = getopt.gnu_getopt(argv[1:], "hVnxrvd:bi:fz", ["batch", "delay=", "iterations=", "help", "version",
                                                                "networks", "vbds", "repeat-header", "vcpus",
                                                                "full-name", "dom0-first"])
    except getopt.GetoptError:
        return Result(1, "Usage: xentop [OPTION]\n", "")
    given = {o.lstrip("-")[:1] if len(o) == 2 else {"batch": "b", "delay": "d", "iterations": "i", "dom0-first": "z"}
             .get(o[2:], o): v for o, v in opts}
    state, problem = context(host)
    if problem is not None:
        return problem if problem.returncode == 127 else Result(1, "", problem.stderr.split("\n")[0] + "\n"
                                                                "Failed to initialize xenstat library\n")
    if "b" not in given:
        return _fail("[simulated] xentop needs a terminal; xenbook's sample host runs it only in batch mode (-b)\n")
    delay, count = max(1, int(given.get("d") or 3)), int(given.get("i") or 1)
    doms = sorted(all_domains(state), key=lambda d: (bool(d["domid"]) if "z" in given else 0, d["name"].lower()))
    total, now, out = total_mib(state) * 1024, time.time(), ""
    heads = [("NAME", 10), ("STATE", 6), ("CPU(sec)", 10), ("CPU(%)", 6), ("MEM(k)", 10), ("MEM(%)", 6),
             ("MAXMEM(k)", 10), ("MAXMEM(%)", 9), ("VCPUS", 5), ("NETS", 4), ("NETTX(k)", 8), ("NETRX(k)", 8),
             ("VBDS", 4), ("VBD_OO", 8), ("VBD_RD", 8), ("VBD_WR", 8), ("VBD_RSECT", 10), ("VBD_WSECT", 10),
             ("SSID", 4)]
    for k in range(count):
        t = now + k * delay
        out += " ".join(f"{h:>{w}}" for h, w in heads) + "\n"
        for d in doms:
            cpu, before = cpu_seconds(d, t), cpu_seconds(d, t - delay)
            up = 0 if d.get("run_since") is None else int(t - d["run_since"])
            mem, top = d["memory_mib"] * 1024, (d.get("maxmem_mib") or 0) * 1024
            nets, vbds = len(d.get("nics", [])), len(d.get("disks", []))
            io = [nets * up * 3, nets * up * 11, 0, vbds * up // 2, vbds * up // 5, vbds * up * 8, vbds * up * 3]
            cols = [f"{d['name']:>10.10}", "-----r" if d["domid"] == 0 else "----p-" if d.get("paused") else "--b---",
                    f"{int(cpu):>10}", f"{(cpu - before) * 100 / delay if k else 0.0:>6.1f}", f"{mem:>10}",
                    f"{mem * 100 / total:>6.1f}", f"{top:>10}" if top else f"{'no limit':>10}",
                    f"{top * 100 / total:>9.1f}" if top else f"{'n/a':>9}", f"{d['vcpus']:>5}", f"{nets:>4}",
                    f"{io[0]:>8}", f"{io[1]:>8}", f"{vbds:>4}", f"{io[2]:>8}", f"{io[3]:>8}", f"{io[4]:>8}",
                    f"{io[5]:>10}", f"{io[6]:>10}", f"{0:>4}"]
            out += " ".join(cols) + "\n"
    return Result(0, out, "")


# xl

USAGE = "Usage xl [-vfNtT] <subcommand> [args]\n"
SIMPLE = {"info", "list", "domid", "console"}


def xl(host, argv, stdin) -> Result:
    args, dryrun = argv[1:], False
    while args and args[0].startswith("-") and args[0] not in ("-h", "--help"):
        dryrun |= "N" in args[0]
        args = args[1:]
    state, problem = context(host)
    if problem is not None:
        return problem
    if not args:
        return Result(1, USAGE, "")
    verb, rest = args[0], args[1:]
    from xenbook_sample import xlguests  # xlguests imports this module
    if verb == "create":
        return xlguests.xl_create(host, state, rest, dryrun)
    if dryrun and verb not in SIMPLE:
        return _fail("command does not implement -N (dryrun) option\n")
    if verb == "info":
        return xl_info(host, state, rest)
    if verb == "dmesg":
        from xenbook_sample.journal import xl_dmesg
        return xl_dmesg(host, state)
    if verb == "list":
        return xl_list(host, state, rest)
    if verb in ("domid", "console"):
        if not rest:
            return _fail(f"'xl {verb}' requires at least 1 argument.\n\n", 2)
        dom = find(state, rest[-1]) if verb == "console" else next(
            (d for d in all_domains(state) if d["name"] == rest[0]), None)
        if dom is None:
            return _no_domain(rest[-1]) if verb == "console" else _fail(
                f"Can't get domid of domain name '{rest[0]}', maybe this domain does not exist.\n")
        return Result(0, f"{dom['domid']}\n", "") if verb == "domid" else Result(
            0, "", f"[simulated] here xl would attach to {dom['name']}'s console (Ctrl-] leaves it); without a "
                   "terminal there is nothing to show (the dashboard's Console runs it on one: a login prompt)\n")
    if verb in ("shutdown", "reboot", "destroy", "pause", "unpause"):
        return xlguests.lifecycle(host, state, verb, rest)
    if verb in ("vcpu-pin", "mem-set"):
        return xlguests.tune(host, state, verb, rest)
    return _fail(f"[simulated] xenbook's sample host does not simulate 'xl {verb}'\n")


PROGRAMS = {"xl": xl, "xentop": xentop}
