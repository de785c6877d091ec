"""The sample host's SIMULATED mkinitcpio: presets, MODULES and the initramfs images it writes."""

from __future__ import annotations

import re

from xenbook.core.commands import Result
from xenbook_sample.options import Usage, options
from xenbook_sample.storage import stand_in


MODULE_DIRS = {"xen-blkfront": "drivers/block", "xen-netfront": "drivers/net", "xen-fbfront": "drivers/video/fbdev",
               "xen-kbdfront": "drivers/input/misc", "xen-pcifront": "drivers/pci", "xen-scsifront": "drivers/scsi",
               "xen-blkback": "drivers/block/xen-blkback", "xen-netback": "drivers/net/xen-netback",
               "xen-gntdev": "drivers/xen", "xen-gntalloc": "drivers/xen", "xen-evtchn": "drivers/xen",
               "xen-privcmd": "drivers/xen", "xenfs": "drivers/xen/xenfs", "xen-pciback": "drivers/xen/xen-pciback",
               "ext4": "fs/ext4", "btrfs": "fs/btrfs", "xfs": "fs/xfs", "vfat": "fs/fat", "dm-mod": "drivers/md",
               "nvme": "drivers/nvme/host", "ahci": "drivers/ata", "virtio-blk": "drivers/block"}
PRESET = """\
# mkinitcpio preset file for the 'linux' package

#ALL_config="/etc/mkinitcpio.conf"
ALL_kver="/boot/vmlinuz-linux"

PRESETS=('default' 'fallback')

#default_config="/etc/mkinitcpio.conf"
default_image="/boot/initramfs-linux.img"
#default_uki="/efi/EFI/Linux/arch-linux.efi"
#default_options="--splash /usr/share/systemd/bootctl/splash-arch.bmp"

#fallback_config="/etc/mkinitcpio.conf"
fallback_image="/boot/initramfs-linux-fallback.img"
#fallback_uki="/efi/EFI/Linux/arch-linux-fallback.efi"
fallback_options="-S autodetect"
"""


def bash_vars(text: str) -> dict:
    """NAME=value, NAME=(a b) and NAME+=(c) assignments of a bash config file such as mkinitcpio.conf."""
    out: dict = {}
    for m in re.finditer(r"(?m)^[ \t]*([A-Za-z_]\w*)(\+?=)(?:\(([^)]*)\)|\"([^\"]*)\"|'([^']*)'|(\S*))", text):
        if m.group(3) is not None:
            words = [w.strip("'\"") for w in re.sub(r"#[^\n]*", "", m.group(3)).split()]
            out[m.group(1)] = (out.get(m.group(1), []) if m.group(2) == "+=" else []) + words
        else:
            out[m.group(1)] = next(g for g in m.group(4, 5, 6) if g is not None)
    return out


def _build(host, preset: str, name: str, kernel: str, image: str, skip: list[str]) -> tuple[list[str], bool]:
    lines = [f"==> Building image from preset: {preset}: '{name}'",
             "==> Using default configuration file: '/etc/mkinitcpio.conf'",
             f"  -> -k {kernel} -g {image}" + "".join(f" -S {s}" for s in skip)]
    config = host.read_text("/etc/mkinitcpio.conf") or ""
    for drop in sorted(n for n in host.listdir("/etc/mkinitcpio.conf.d") or [] if n.endswith(".conf")):
        lines.append(f"==> Using drop-in configuration file: '{drop}'")
        config += "\n" + (host.read_text(f"/etc/mkinitcpio.conf.d/{drop}") or "")
    found = re.search(r"Linux (\S+) kernel image", host.read_text(kernel) or "")
    if found is None:
        return lines + [f"==> ERROR: specified kernel image does not exist: '{kernel}'"], False
    kver, conf = found.group(1), bash_vars(config)
    hooks = [h for h in conf.get("HOOKS", []) if h not in skip]
    lines += [f"==> Starting build: '{kver}'"] + [f"  -> Running build hook: [{h}]" for h in hooks]
    modules, files = [m.replace("_", "-") for m in conf.get("MODULES", []) if m.rstrip("?")], []
    for m in modules:
        if m.rstrip("?") in MODULE_DIRS:
            files.append(f"usr/lib/modules/{kver}/kernel/{MODULE_DIRS[m.rstrip('?')]}/{m.rstrip('?')}.ko.zst")
        elif not m.endswith("?"):
            lines.append(f"==> ERROR: module not found: '{m}'")
    lines += ["==> Generating module dependencies", f"==> Creating zstd-compressed initcpio image: '{image}'"]
    body = (stand_in("initramfs image").decode() + f"kernel: {kver}\nhooks: {' '.join(hooks)}\n"
            f"modules: {' '.join(m.rstrip('?') for m in modules)}\nfiles:\nbuildconfig\nconfig\ninit\n"
            + "".join(f + "\n" for f in files) + f"usr/lib/modules/{kver}/modules.dep\n")
    host.write_atomic(image, body.encode(), mode=0o600)
    ok = not any(line.startswith("==> ERROR") for line in lines)
    return lines + ["==> Initcpio image generation successful" if ok else
                    "==> WARNING: errors were encountered during the build. The image may not be complete."], ok


def initcpio(host, presets: list[str] | None = None) -> tuple[str, int]:
    """Build every preset (or the named ones) as mkinitcpio -P does: (output, exit code)."""
    names = presets or sorted(n[:-7] for n in host.listdir("/etc/mkinitcpio.d") or [] if n.endswith(".preset"))
    if not names:
        return "==> ERROR: No presets found in /etc/mkinitcpio.d\n", 1
    lines, rc = [], 0
    for name in names:
        path = f"/etc/mkinitcpio.d/{name}.preset"
        conf = bash_vars(host.read_text(path) or "")
        if not conf:
            return f"==> ERROR: Failed to load preset: '{path}'\n", 1
        for p in conf.get("PRESETS", []):
            options_ = (conf.get(f"{p}_options") or "").split()
            skip = [options_[i + 1] for i, o in enumerate(options_[:-1]) if o == "-S"]
            more, ok = _build(host, path, p, conf.get(f"{p}_kver", conf.get("ALL_kver", "")), conf[f"{p}_image"],
                              skip)
            lines, rc = lines + more, rc or (0 if ok else 1)
    return "".join(line + "\n" for line in lines), rc


def mkinitcpio(host, argv, stdin) -> Result:
    opts, args = options("mkinitcpio", argv, "Pp:", ["allpresets", "preset="])
    if not opts:
        raise Usage("[simulated] xenbook's sample host simulates mkinitcpio -P and -p PRESET\n", 1)
    out, rc = initcpio(host, [v for o, v in opts if o in ("-p", "--preset")] or None)
    lines = out.splitlines(keepends=True)
    return Result(rc, "".join(x for x in lines if not x.startswith("==> ERROR")),
                  "".join(x for x in lines if x.startswith("==> ERROR")))


PROGRAMS = {"mkinitcpio": mkinitcpio}
