"""The initial file tree a new sample host gets from its machine profile."""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import uuid
from importlib import resources

from xenbook_sample import devices
from xenbook_sample.grubenv import NEW_BLOCK
from xenbook_sample.loaders import LOADER_FILES
from xenbook_sample.profiles import DEPENDENCIES, Cpu, Profile, mounts_of, part_name

STATE_DIR = ".xenbook-sample"
FORMAT = 2  # of the simulated machine; raised when a sample host made before lacks what xenbook simulates now
INSTALL_TIME = 1764000000  # every file of a new sample gets this mtime: same tree, same bytes, same times


def profile_data(profile: Profile) -> dict:
    return dataclasses.asdict(profile)


def _mounts(profile: Profile) -> list[dict]:
    """The running system's mount table in /proc/self/mountinfo order."""
    half = profile.mem_kib // 2
    parts = {target: (f"/dev/{part_name(d.name, p.number)}", p, fsroot, opts)
             for d in profile.disks for p in d.partitions for target, fsroot, opts in mounts_of(p)}
    out = [{"target": "/", "source": parts["/"][0], "fstype": parts["/"][1].fstype,
            "options": parts["/"][3], "fsroot": parts["/"][2]}]
    pseudo = [("/proc", "proc", "proc", "rw,nosuid,nodev,noexec,relatime"),
              ("/sys", "sysfs", "sysfs", "rw,nosuid,nodev,noexec,relatime"),
              ("/dev", "devtmpfs", "devtmpfs", f"rw,nosuid,size={half}k,nr_inodes={half // 4},mode=755,inode64"),
              ("/run", "run", "tmpfs", f"rw,nosuid,nodev,size={half}k,nr_inodes=819200,mode=755,inode64"),
              ("/tmp", "tmpfs", "tmpfs", f"rw,nosuid,nodev,size={half}k,nr_inodes=1048576,inode64")]
    out += [{"target": t, "source": s, "fstype": f, "options": o, "fsroot": "/"} for t, s, f, o in pseudo]
    for target in sorted(t for t in parts if t != "/"):
        dev, p, fsroot, opts = parts[target]
        out.append({"target": target, "source": dev, "fstype": p.fstype, "options": opts, "fsroot": fsroot})
    return out


def initial_state(profile: Profile) -> dict:
    state = _base_state(profile)
    if profile.boot_mode == "uefi":
        from xenbook_sample.efi import initial_entries
        state["efi"] = initial_entries(state)
    return state


def _base_state(profile: Profile) -> dict:
    return {
        "format": FORMAT,
        "simulated": True,
        "notice": "SIMULATED Arch Linux host made by xenbook; nothing in this directory is a real machine.",
        "profile": profile.name,
        "machine": profile_data(profile),
        "running": {"hostname": profile.hostname, "kernel_release": profile.kernel_release,
                    "kernel_version": profile.kernel_version, "machine": "x86_64",
                    "network": _network().initial(profile)},
        "mounts": _mounts(profile),
        **_storage().initial_state(profile),  # lvm, volumes, loops
    }


def _network():
    from xenbook_sample import network  # network imports services, which reads unit files
    return network


def _storage():
    from xenbook_sample import storage  # storage imports this module
    return storage


README = """\
This directory is a SIMULATED Arch Linux host made by xenbook (its "sample host").

Nothing in it is a real machine: the directory stands for the simulated machine's
root filesystem "/", its programs (uname, lsblk, blkid, grub-mkconfig, ...) are
simulated by xenbook in Python (findmnt is the real one where it is installed,
reading the mount table in proc/self/mountinfo), and the kernel, initramfs and Xen
images under boot/ are small text files.  state.json next to this file holds what
a real host keeps outside its files (disks, mounts, the running kernel).  Changing the
simulated host changes nothing else.  Delete the directory to throw it away.
"""


def _data(name: str) -> bytes:
    return resources.files(__package__).joinpath("files", *name.split("/")).read_bytes()


def _stand_in(name: str, what: str) -> bytes:
    return (f"#! /bin/sh\nset -e\n\n# Stand-in for GRUB's /etc/grub.d/{name} ({what}), written by xenbook's\n"
            "# SIMULATED sample host.  Its grub-mkconfig is simulated by xenbook and generates this\n"
            "# section itself; this script is never run.  Clear its executable bit to leave the\n"
            "# section out, as with the real grub-mkconfig.\nexit 0\n").encode()


def _cpuinfo(cpu: Cpu) -> str:
    blocks = []
    for n in range(cpu.count):
        rows = [("processor", n), ("vendor_id", cpu.vendor), ("cpu family", cpu.family), ("model", cpu.model),
                ("model name", cpu.model_name), ("stepping", cpu.stepping), ("microcode", cpu.microcode),
                ("cpu MHz", f"{cpu.mhz:.3f}"), ("cache size", f"{cpu.cache_kb} KB"), ("physical id", 0),
                ("siblings", cpu.count), ("core id", n), ("cpu cores", cpu.count), ("apicid", 2 * n),
                ("initial apicid", 2 * n), ("fpu", "yes"), ("fpu_exception", "yes"),
                ("cpuid level", cpu.cpuid_level), ("wp", "yes"), ("flags", " ".join(cpu.flags))]
        if cpu.vmx_flags:
            rows.append(("vmx flags", " ".join(cpu.vmx_flags)))
        rows += [("bugs", " ".join(cpu.bugs)), ("bogomips", f"{cpu.mhz * 2:.2f}"), ("clflush size", 64),
                 ("cache_alignment", 64), ("address sizes", cpu.address_sizes), ("power management", "")]
        lines = [f"{k}{chr(9) * (1 if len(k) >= 8 else 2)}: {v}" for k, v in rows[:-1]]
        blocks.append("\n".join(lines) + "\npower management:\n\n")
    return "".join(blocks)


def _meminfo(total: int) -> str:
    free, avail = total * 86 // 100, total * 94 // 100
    rows = [("MemTotal", total), ("MemFree", free), ("MemAvailable", avail), ("Buffers", 2316),
            ("Cached", total * 7 // 100), ("SwapCached", 0), ("Active", total * 3 // 100),
            ("Inactive", total * 5 // 100), ("Unevictable", 0), ("Mlocked", 0), ("SwapTotal", 0),
            ("SwapFree", 0), ("Dirty", 12), ("Writeback", 0), ("AnonPages", 98632), ("Mapped", 101244),
            ("Shmem", 1836), ("KReclaimable", 41520), ("Slab", 90764), ("SReclaimable", 41520),
            ("SUnreclaim", 49244), ("KernelStack", 4672), ("PageTables", 2244), ("CommitLimit", total // 2),
            ("Committed_AS", 291956), ("VmallocTotal", 34359738367), ("VmallocUsed", 31128),
            ("VmallocChunk", 0), ("Percpu", 5696), ("HardwareCorrupted", 0), ("AnonHugePages", 0)]
    text = "".join(f"{k + ':':<16}{v:>{24 - max(16, len(k) + 1)}} kB\n" for k, v in rows)
    text += "".join(f"{k + ':':<16}{v:>8}\n" for k in ("HugePages_Total", "HugePages_Free", "HugePages_Rsvd",
                                                       "HugePages_Surp") for v in (0,))
    return text + f"{'Hugepagesize:':<16}{2048:>8} kB\n{'Hugetlb:':<16}{0:>8} kB\n"


def _desc(name: str, version: str, arch: str, summary: str) -> str:
    fields = [("NAME", name), ("VERSION", version), ("BASE", name), ("DESC", summary), ("ARCH", arch),
              ("BUILDDATE", str(INSTALL_TIME - 400000)), ("INSTALLDATE", str(INSTALL_TIME)),
              ("PACKAGER", "xenbook sample host (SIMULATED) <sample@xenbook.invalid>")]
    if name in DEPENDENCIES:
        fields.append(("REASON", "1"))
    fields.append(("VALIDATION", "pgp"))
    return "".join(f"%{k}%\n{v}\n\n" for k, v in fields)


def _cmdline(profile: Profile, root) -> str:
    """/proc/cmdline as the profile's stock GRUB 2 entry (10_linux) boots it: rootflags= for a btrfs subvolume root."""
    sub = next((name for name, target in root.subvolumes if target == "/"), "")
    flags = [f"rootflags=subvol={sub}"] if sub else []
    words = [f"BOOT_IMAGE=/vmlinuz-{profile.kernel_pkgbase}", f"root=UUID={root.uuid}", "rw", *flags,
             *profile.grub_cmdline_linux.split(), "loglevel=3", "quiet"]
    return " ".join(words) + "\n"


# what the installer leaves: the mirror the sample's pacman -Sy names (pacman.conf's Include needs the file)
MIRRORLIST = "## Arch Linux repository mirrorlist\n\nServer = https://geo.mirror.pkgbuild.com/$repo/os/$arch\n"


def files(profile: Profile) -> list[tuple[str, bytes | None, int, str | None]]:
    """(path, data, mode, link target) for every entry of the tree; data None for a directory or link."""
    root = next(p for d in profile.disks for p in d.partitions if p.mount == "/")
    kver = profile.kernel_release
    fstab = "# Static information about the filesystems.\n# See fstab(5) for details.\n\n" \
            "# <file system> <dir> <type> <options> <dump> <pass>\n"
    for d in profile.disks:
        for target, p, opts in sorted(((t, p, o) for p in d.partitions for t, _, o in mounts_of(p)),
                                      key=lambda row: len(row[0])):
            passno = 0 if p.fstype == "btrfs" else 1 if target == "/" else 2  # fsck.btrfs checks nothing
            fstab += (f"# /dev/{part_name(d.name, p.number)}\nUUID={p.uuid}\t{target:<10}\t{p.fstype:<10}\t{opts}"
                      f"\t0 {passno}\n\n")
    simulated = "SIMULATED {}, written by xenbook's sample host; not a real one.\n"
    out: list[tuple[str, bytes | None, int, str | None]] = [
        ("/usr/lib/os-release", _data("os-release"), 0o644, None),
        ("/etc/os-release", None, 0o777, "../usr/lib/os-release"),
        ("/etc/arch-release", b"", 0o644, None),
        ("/etc/hostname", f"{profile.hostname}\n".encode(), 0o644, None),
        # a new one per sample host, as systemd-machine-id-setup makes it on a real install (machine-id(5))
        ("/etc/machine-id", f"{uuid.uuid4().hex}\n".encode(), 0o444, None),
        ("/etc/locale.conf", b"LANG=en_US.UTF-8\n", 0o644, None),
        ("/etc/fstab", fstab.encode(), 0o644, None),
        ("/etc/mkinitcpio.conf", _data("mkinitcpio.conf"), 0o644, None),
        ("/etc/pacman.conf", _data("pacman.conf"), 0o644, None),
        ("/etc/pacman.d/mirrorlist", MIRRORLIST.encode(), 0o644, None),
        ("/proc/cpuinfo", _cpuinfo(profile.cpu).encode(), 0o444, None),
        ("/proc/meminfo", _meminfo(profile.mem_kib).encode(), 0o444, None),
        ("/proc/cmdline", _cmdline(profile, root).encode(), 0o444, None),
        ("/proc/config.gz", gzip.compress(_data("kernel-config"), mtime=0), 0o444, None),
        (f"/usr/lib/modules/{kver}/pkgbase", f"{profile.kernel_pkgbase}\n".encode(), 0o644, None),
        (f"/usr/lib/modules/{kver}/vmlinuz", simulated.format(f"Linux {kver} kernel image").encode(),
         0o644, None),
        ("/var/lib/pacman/local/ALPM_DB_VERSION", b"9\n", 0o644, None),
        ("/tmp", None, 0o1777, None),
    ]
    if profile.loader == "grub2":
        defaults = _data("grub.default").replace(b'GRUB_CMDLINE_LINUX=""',
                                                 f'GRUB_CMDLINE_LINUX="{profile.grub_cmdline_linux}"'.encode())
        out += [("/etc/default/grub", defaults, 0o644, None),
                ("/etc/grub.d/README", _data("grub.d/README"), 0o644, None),
                ("/etc/grub.d/40_custom", _data("grub.d/40_custom"), 0o755, None),
                ("/etc/grub.d/41_custom", _data("grub.d/41_custom"), 0o755, None),
                ("/boot/grub/grubenv", NEW_BLOCK, 0o644, None)]
        out += [(f"/etc/grub.d/{n}", _stand_in(n, w), 0o755, None) for n, w in (
            ("00_header", "the menu's header"), ("10_linux", "Linux entries"),
            ("20_linux_xen", "Xen entries"), ("30_os-prober", "other systems' entries"))]
    pkg = profile.kernel_pkgbase
    boot = {f"vmlinuz-{pkg}": f"Linux {kver} kernel image", f"initramfs-{pkg}.img": "initramfs image",
            f"initramfs-{pkg}-fallback.img": "fallback initramfs image"}
    for vendor, label in (("intel", "Intel"), ("amd", "AMD")):
        if f"{vendor}-ucode" in {p[0] for p in profile.packages}:
            boot[f"{vendor}-ucode.img"] = f"{label} microcode image"
    if profile.xen_installed:
        boot["xen.gz"] = "Xen hypervisor image (multiboot2)"
    out += [(f"/boot/{n}", simulated.format(w).encode(), 0o644, None) for n, w in boot.items()]
    for name, version, arch, summary in profile.packages:
        out.append((f"/var/lib/pacman/local/{name}-{version}/desc",
                    _desc(name, version, arch, summary).encode(), 0o644, None))
    if profile.loader in LOADER_FILES:
        out += [(path, data, mode, None) for path, data, mode in LOADER_FILES[profile.loader](profile)]
    if profile.boot_mode == "uefi":
        out.append(("/sys/firmware/efi/fw_platform_size", b"64\n", 0o444, None))
    out += devices.files(profile) + _storage().tree_files(profile)
    out += _network().files(profile)  # systemd's units, 20-wired.network, the NIC in /sys
    from xenbook_sample.netmanagers import files as manager_files  # netmanagers imports network
    out += manager_files(profile)  # NetworkManager or netctl with the NIC's profile
    if profile.kernel_pkgbase == "linux":
        from xenbook_sample.initcpio import PRESET
        out.append(("/etc/mkinitcpio.d/linux.preset", PRESET.encode(), 0o644, None))
    from xenbook_sample.mountinfo import MOUNTINFO, render  # mountinfo reads the devices host derives
    state = initial_state(profile)
    out += [(MOUNTINFO, render(state).encode(), 0o444, None),
            (f"/{STATE_DIR}/README.txt", README.encode(), 0o644, None),
            (f"/{STATE_DIR}/state.json", (json.dumps(state, indent=2, sort_keys=True) + "\n").encode(), 0o644, None)]
    return out


def write_tree(root: str, profile: Profile) -> None:
    """Create profile's files under root (an empty or missing directory)."""
    os.makedirs(root, exist_ok=True)
    os.chmod(root, 0o755)
    for path, data, mode, link in files(profile):
        real = os.path.join(root, path.lstrip("/"))
        parent = os.path.dirname(real)
        if not os.path.isdir(parent):
            os.makedirs(parent)
        if link is not None:
            os.symlink(link, real)
        elif data is None:
            os.makedirs(real, exist_ok=True)
            os.chmod(real, mode)
        else:
            with open(real, "wb") as f:
                f.write(data)
            os.chmod(real, mode)


def settle(root: str) -> None:
    """Give every directory mode 0755 unless set, and every entry the fixed install mtime."""
    for folder, dirs, names in os.walk(root, topdown=False):
        for name in dirs + names:
            path = os.path.join(folder, name)
            if name in dirs and not os.path.islink(path) and os.stat(path).st_mode & 0o7777 != 0o1777:
                os.chmod(path, 0o755)
            os.utime(path, (INSTALL_TIME, INSTALL_TIME), follow_symlinks=False)
    os.utime(root, (INSTALL_TIME, INSTALL_TIME))
