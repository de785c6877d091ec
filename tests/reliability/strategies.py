"""Hypothesis strategies: valid parameter sets for a sample profile, chosen so the profile's machine can carry
them out (a profile without VT-x gets PV guests; LVM where the profile has vg0; what a guest needs installed is)."""

from __future__ import annotations

from hypothesis import assume
from hypothesis import strategies as st

from xenbook.sections.domu.checks import cpu_set
from xenbook_sample.profiles import PROFILES

from . import samples

LOADER = {"grub2": "grub2", "grub-legacy": "grub-legacy", "systemd-boot": "uefi"}
XEN_OPTIONS = ["iommu=verbose", "sched=credit2", "ucode=scan", "smt=off", "spec-ctrl=no", "noreboot",
               "sync_console", "conring_size=1m", "cpufreq=xen", "x2apic=true", "nmi=dom0"]
KERNEL_OPTIONS = ["quiet", "loglevel=3", "nomodeset", "mitigations=auto", "zswap.enabled=0", "panic=30"]
GUEST_PACKAGES = ["openssh", "less", "curl", "wget", "python", "git"]
LOGLEVELS = [None, "none", "error", "warning", "info", "debug", "all"]
name_text = st.from_regex(r"[a-z][a-z0-9]{0,7}([_-][a-z0-9]{1,4})?", fullmatch=True)


@st.composite
def boot(draw, profile: str) -> dict:
    p = PROFILES[profile]
    consoles = draw(st.lists(st.sampled_from(["vga", "com1", "com2", "pv", "com1H", "dbgp"]), min_size=1,
                             max_size=3, unique_by=lambda c: c[:4]))
    cpus = p.cpu.count
    pin = draw(st.booleans())
    vcpus = draw(st.one_of(st.none(), st.integers(1, cpus - 2))) if not pin else draw(st.integers(1, cpus - 2))
    mem = draw(st.one_of(st.integers(512, 4096).map(lambda n: f"{n}M"), st.sampled_from(["1G", "2G", "3g"])))
    data = {
        "loader": draw(st.sampled_from(["auto", LOADER[p.loader]])),
        "dom0_mem": mem, "dom0_max_vcpus": vcpus, "dom0_vcpus_pin": pin, "console": ",".join(consoles),
        "loglvl": draw(st.sampled_from(LOGLEVELS)), "guest_loglvl": draw(st.sampled_from(LOGLEVELS)),
        "xen_options": draw(st.lists(st.sampled_from(XEN_OPTIONS), max_size=3, unique_by=lambda o: o.split("=")[0])),
        "dom0_kernel_options": draw(st.one_of(st.none(), st.lists(st.sampled_from(KERNEL_OPTIONS), min_size=1,
                                                                   max_size=3, unique=True).map(" ".join))),
        "make_default": draw(st.sampled_from([True, True, True, False])),
    }
    if "com1" in consoles:
        data["com1"] = draw(st.sampled_from([None, "115200,8n1", "auto", "9600,8n1,0x3f8", "57600"]))
    if p.boot_mode == "uefi":
        data["uefi_entry"] = draw(st.sampled_from(["systemd-boot", "efibootmgr"]))
    return data


@st.composite
def install(draw) -> dict:
    return {
        "xen_qemu": draw(st.booleans()), "xen_edk2": draw(st.booleans()), "xen_grub_pvh": draw(st.booleans()),
        "hvm_guests": draw(st.booleans()),
        "build_user": "xb" + draw(st.from_regex(r"[a-z0-9_-]{0,10}", fullmatch=True)),
        "aur_helper": draw(st.sampled_from(["auto", "none"])),
        "build_dir": draw(st.sampled_from(["/var/lib/xenbook/build", "/var/tmp/xenbook", "/srv/aur", "/opt/build"]))
        + draw(st.sampled_from(["", "/x", "/xen-build", "/a.b+c"])),
        "jobs": draw(st.one_of(st.none(), st.integers(1, 16))),
    }


@st.composite
def guest(draw, profile: str, installed: dict, name: str, bridge: str, pinned: int = 0) -> dict:
    """A valid guest: with dom0 pinned to CPUs 0..pinned-1, its cpus name at least one other (else it is bad input)."""
    p = PROFILES[profile]
    cpus = [c for c in (None, "all", f"1-{p.cpu.count - 1}", "all,^0-1", "0,2,4")
            if c is None or cpu_set(c, p.cpu.count) - set(range(pinned))]
    kinds = ["pv"] + (["pvh", "pvh"] if profile in samples.HVM_PROFILES else [])
    if profile in samples.HVM_PROFILES and installed["xen_qemu"] and (installed["hvm_guests"] or installed["xen_edk2"]):
        kinds.append("hvm")
    kind = draw(st.sampled_from(kinds))
    memory = draw(st.integers(64, 2048))
    g = {"name": name, "type": kind, "memory": memory,
         "maxmem": draw(st.one_of(st.none(), st.integers(memory, memory + 1024))),
         "vcpus": draw(st.integers(1, 4)),
         "cpus": draw(st.sampled_from(cpus)),
         "storage": draw(st.sampled_from(["lvm", "image"] if profile in samples.LVM_PROFILES else ["image"])),
         "size": draw(st.sampled_from(["1G", "2G", "8G", "20G", "1024M", "50g"])),
         "fstab_device": draw(st.sampled_from(["uuid", "xvda"])), "bridge": bridge,
         "mac": draw(st.one_of(st.none(), st.from_regex(r"(00:16:3e|[0-9a-f][26ae]:[0-9a-f]{2}:[0-9a-f]{2})"
                                                         r"(:[0-9a-f]{2}){3}", fullmatch=True))),
         "hostname": draw(st.one_of(st.none(), st.from_regex(r"[a-z0-9]([a-z0-9-]{0,12}[a-z0-9])?", fullmatch=True))),
         "autostart": draw(st.booleans()), "start": draw(st.booleans())}
    if kind == "hvm":
        firmware = [f for f, ok in (("seabios", installed["hvm_guests"]), ("ovmf", installed["xen_edk2"])) if ok]
        g.update(bootstrap="none", iso="/var/lib/xen/isos/archlinux.iso", firmware=draw(st.sampled_from(firmware)))
    else:
        g.update(packages=draw(st.lists(st.sampled_from(GUEST_PACKAGES), max_size=3, unique=True)),
                 ssh_key=draw(st.sampled_from([None, samples.KEY])),
                 root_password_hash_env=draw(st.sampled_from([None, samples.HASH_ENV])))
        if kind == "pvh" and installed["xen_grub_pvh"]:
            g["boot"] = draw(st.sampled_from(["direct", "pvhgrub"]))
    return g


@st.composite
def runbook(draw, profile: str) -> dict:
    """A whole valid parameter set for a host of profile: install, boot, dom0 and zero to two guests (or, for a
    profile that is a Xen guest, the pv-guest section's choices)."""
    if profile in samples.GUEST_PROFILES:
        return {"pv_guest": {"framebuffer": draw(st.booleans()), "serial_getty": draw(st.booleans()),
                             "xenfs": draw(st.booleans()),
                             "agent": draw(st.sampled_from(["xen-guest-agent", "xe-guest-utilities", "none"]))}}
    installed = draw(install())
    bridge = draw(st.sampled_from(["xenbr0", "br0", "xenbr1", "virbr7"]))
    booted = draw(boot(profile))
    pinned = (booted["dom0_max_vcpus"] or 0) if booted["dom0_vcpus_pin"] else 0
    data = {"install": installed, "boot": booted,
            "dom0": {"xendomains": draw(st.booleans()),
                     "network": draw(st.sampled_from(["auto", PROFILES[profile].network])),
                     "bridge": bridge, "uplink": draw(st.sampled_from([None, PROFILES[profile].nics[0].name]))}}
    names = draw(st.lists(name_text.filter(lambda n: n not in ("data", "dom0")), max_size=2, unique=True))
    data["guests"] = [draw(guest(profile, installed, n, bridge, pinned)) for n in names]
    for field in ("mac", "hostname"):  # each guest its own (a repeated one is bad input)
        given = [g[field] or (g["name"].lower().replace("_", "-") if field == "hostname" else None)
                 for g in data["guests"]]
        assume(len({v for v in given if v}) == len([v for v in given if v]))
    data["manage"] = {"snapshot": draw(st.booleans()), "samples": draw(st.integers(1, 2)), "refresh_seconds": 0.5}
    return data
