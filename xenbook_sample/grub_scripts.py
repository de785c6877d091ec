"""The sample host's SIMULATED /etc/grub.d scripts after 00_header: the grub.cfg sections 10_linux, 20_linux_xen,
30_os-prober and the custom scripts write, as GRUB 2.12 with Arch's scripts writes them."""

from __future__ import annotations

import gzip
import lzma
import posixpath
import re
import struct
from typing import TYPE_CHECKING

from xenbook_sample.host import boot_files, kernel_config, relative_to_root, reverse_sorted

if TYPE_CHECKING:
    from xenbook_sample.grub import Mkconfig

XEN_RM_OPTS = ['        if [ "$grub_platform" = "pc" -o "$grub_platform" = "" ]; then', "            xen_rm_opts=",
               "        else", '            xen_rm_opts="no-real-mode edd=off"', "        fi"]


MULTIBOOT2_MAGIC, MULTIBOOT_SEARCH = 0xE85250D6, 32768


def is_x86_multiboot2(host, path: str) -> bool:
    """grub-file --is-x86-multiboot2: a multiboot2 header for i386 (magic, architecture 0, length and a checksum
    that sums them to zero) 8-byte aligned in the first 32 KiB of the image, which grub-file unpacks first. A stand-in
    image counts when its label says multiboot2 (the sample's Xen image does; the microcode blob xen's scriptlet
    extracts does not, and the real blob has no such header either)."""
    data = host.read_bytes(path) or b""
    if data.startswith(b"SIMULATED"):
        return b"(multiboot2)" in data.split(b"\n", 1)[0]
    try:
        if data.startswith(b"\x1f\x8b"):
            data = gzip.decompress(data)
        elif data.startswith(b"\xfd7zXZ\x00"):
            data = lzma.decompress(data)
    except (OSError, EOFError, lzma.LZMAError):
        return False
    for offset in range(0, min(len(data), MULTIBOOT_SEARCH) - 15, 8):
        magic, arch, length, checksum = struct.unpack_from("<4I", data, offset)
        if magic == MULTIBOOT2_MAGIC and arch == 0 and (magic + arch + length + checksum) % 2**32 == 0:
            return True
    return False


def quote(text: str) -> str:
    """grub_quote: ' becomes '\\''."""
    return text.replace("'", "'\\''")


def _menuentry(m: Mkconfig, title: str, extra_class: str, entry_id: str, savedefault: bool) -> list[str]:
    distributor = m.get("GRUB_DISTRIBUTOR")
    classes = "--class gnu-linux --class gnu --class os" + extra_class
    if distributor:
        classes = f"--class {re.sub(r'[^A-Za-z0-9_]', '_', distributor.lower().split()[0])} {classes}"
    head = [f"menuentry '{quote(title)}' {classes} $menuentry_id_option '{entry_id}' {{"]
    return head + (["\tsavedefault"] if savedefault and m.get("GRUB_SAVEDEFAULT") == "true" else [])


def _cmdline(m: Mkconfig, xen: bool = False) -> tuple[str, str]:
    """(GRUB_CMDLINE_LINUX, GRUB_CMDLINE_LINUX_DEFAULT) as a script uses them."""
    linux, default = m.get("GRUB_CMDLINE_LINUX"), m.get("GRUB_CMDLINE_LINUX_DEFAULT")
    if xen:
        linux = m.get("GRUB_CMDLINE_LINUX_XEN_REPLACE") or linux
        default = m.get("GRUB_CMDLINE_LINUX_XEN_REPLACE_DEFAULT") or default
    sub = relative_to_root(m.state, "/").lstrip("/")
    return (f"rootflags=subvol={sub} {linux}" if m.get("GRUB_FS") == "btrfs" and sub else linux), default


def linux(m: Mkconfig) -> str:
    """10_linux as Arch builds it: 'Arch Linux' titles, root mounted rw, fallback initramfs entries."""
    os_name = f"{m.get('GRUB_DISTRIBUTOR')} Linux" if m.get("GRUB_DISTRIBUTOR") else "Linux"
    dev_id, (cmdline, default) = m.get("GRUB_DEVICE_UUID") or m.get("GRUB_DEVICE"), _cmdline(m)
    out, top, pad = [], True, ""
    for k in m.kernels(("vmlinuz-", "kernel-"), lambda base: base.replace("vmlinuz-", "")):
        version = k["version"]
        m.log.append(f"Found linux image: {k['path']}")
        initrds = k["early"] + ([k["real"]] if k["real"] else [])
        m.found_initrd(k, initrds)
        alt = version[:-4] if version.endswith(".old") else version
        config = kernel_config(m.host, k["dir"], version, alt)
        ramfs = next((c.split("=", 1)[1].strip('"') for c in config if c.startswith("CONFIG_INITRAMFS_SOURCE=")), "")
        root = m.root_device(bool(ramfs or k["real"]))

        def entry(kind: str, title: str, rd: list[str], args: str) -> None:
            lines = _menuentry(m, title, "", f"gnulinux-{version}-{kind}-{dev_id}" if kind != "simple"
                               else f"gnulinux-simple-{dev_id}", kind != "recovery")
            payload = m.get("GRUB_GFXPAYLOAD_LINUX")
            if not payload:
                keep = "CONFIG_FB_EFI=y" in config and "CONFIG_VT_HW_CONSOLE_BINDING=y" in config
                lines += ["\tload_video"] + (["\tset gfxpayload=keep"] if keep else [])
            else:
                lines += ([] if payload == "text" else ["\tload_video"]) + [f"\tset gfxpayload={payload}"]
            device = m.get("GRUB_DEVICE") if k["dir"] == "/" else m.get("GRUB_DEVICE_BOOT")
            lines += ["\tinsmod gzio"] + ["\t" + line for line in m.prepare(device)]
            lines += [f"\techo\t'{quote(f'Loading Linux {version} ...')}'",
                      f"\tlinux\t{k['rel']}/{k['base']} root={root} rw {args}"]
            if rd:
                lines += [f"\techo\t'{quote('Loading initial ramdisk ...')}'",
                          "\tinitrd\t" + " ".join(f"{k['rel']}/{i}" for i in rd)]
            out.extend(pad + line for line in lines + ["}"])

        if top and m.get("GRUB_DISABLE_SUBMENU") != "true":
            entry("simple", os_name, initrds, f"{cmdline} {default}")
            out.append(f"submenu 'Advanced options for {quote(os_name)}' $menuentry_id_option "
                       f"'gnulinux-advanced-{dev_id}' {{")
            top, pad = False, "\t"
        entry("advanced", f"{os_name}, with Linux {version}", initrds, f"{cmdline} {default}")
        for kind, image in (("fallback", f"initramfs-{version}-fallback.img"), ("booster", f"booster-{version}.img")):
            if m.host.exists(f"{k['dir']}/{image}"):
                rd = k["early"] + [image]
                m.log.append(f"Found {kind} initrd image(s) in {k['dir']}: {''.join(' ' + i for i in rd)}")
                entry(kind, f"{os_name}, with Linux {version} ({kind} initramfs)", rd, f"{cmdline} {default}")
        if m.get("GRUB_DISABLE_RECOVERY") != "true":
            entry("recovery", f"{os_name}, with Linux {version} (recovery mode)", initrds,
                  f"{m.get('GRUB_CMDLINE_LINUX_RECOVERY') or 'single'} {cmdline}")
    return "\n".join(out + ([] if top else ["}"]) + [""]) + "\n"  # the trailing empty title_correction_code


def linux_xen(m: Mkconfig) -> str:
    """20_linux_xen as upstream ships it (Arch patches only 10_linux): kernels whose config allows dom0."""
    os_name = f"{m.get('GRUB_DISTRIBUTOR')} GNU/Linux" if m.get("GRUB_DISTRIBUTOR") else "GNU/Linux"
    dev_id, (cmdline, default) = m.get("GRUB_DEVICE_UUID") or m.get("GRUB_DEVICE"), _cmdline(m, xen=True)
    kernels = [k for k in m.kernels(("vmlinuz-", "vmlinux-", "kernel-"), lambda b: re.sub(r"^[^0-9]*-", "", b))
               if {"CONFIG_XEN_DOM0=y", "CONFIG_XEN_PRIVILEGED_GUEST=y"} & set(
                   kernel_config(m.host, k["dir"], k["version"], ""))]
    xens = [x for x in boot_files(m.host, "/boot", ("xen",)) if not re.search(r"/xen-syms-|/xenpolicy-|\.config$", x)]
    if not kernels:
        return ""
    xen_args = f"{m.get('GRUB_CMDLINE_XEN')} {m.get('GRUB_CMDLINE_XEN_DEFAULT')}"
    out, top, pad = [], True, ""
    for xen in reverse_sorted(xens, m.get("GRUB_TOP_LEVEL_XEN")):
        xdir, xbase = posixpath.split(xen)
        xver = re.sub(r"^xen-", "", re.sub(r".gz$", "", xbase))
        # the loaders grub-file picks for this image: multiboot2 where it has that header, else multiboot
        xen_loader, module_loader = ("multiboot2", "module2") if is_x86_multiboot2(m.host, xen) else \
            ("multiboot", "module")
        submenu = (f"\tsubmenu 'Xen hypervisor, version {quote(xver)}' $menuentry_id_option "
                   f"'xen-hypervisor-{xver}-{dev_id}' {{")
        out += [] if top else [submenu]
        for k in kernels:
            m.log.append(f"Found linux image: {k['path']}")
            initrds = ([k["real"]] if k["real"] else []) + m.early(xdir)  # Xen wants the real initrd first
            m.found_initrd(k, initrds)
            root, kver = m.root_device(bool(k["real"])), k["version"]

            def entry(kind: str, args: str, base_args: str) -> None:
                for xsm in (False, True):
                    version, xargs, policy = xver, base_args, f"xenpolicy-{xver}"
                    if xsm and not m.host.exists(f"{xdir}/{policy}"):
                        continue
                    if xsm:
                        version, xargs = f"{xver} (XSM enabled)", f"{base_args} flask=enforcing"
                    title = f"{os_name}, with Xen hypervisor" if kind == "simple" else \
                        f"{os_name}, with Xen {version} and Linux {kver}" + (" (recovery mode)" if kind == "recovery"
                                                                            else "")
                    lines = _menuentry(m, title, " --class xen", f"xen-gnulinux-simple-{dev_id}" if kind == "simple"
                                       else f"xen-gnulinux-{kver}-{kind}-{dev_id}", kind != "recovery")
                    lines += ["\t" + line for line in m.prepare(m.get("GRUB_DEVICE_BOOT"))]
                    lines += [f"\techo\t'{quote(f'Loading Xen {version} ...')}'"] + XEN_RM_OPTS
                    lines += [f"\t{xen_loader}\t{relative_to_root(m.state, xdir)}/{xbase} placeholder {xargs} "
                              "${xen_rm_opts}", f"\techo\t'{quote(f'Loading Linux {kver} ...')}'",
                              f"\t{module_loader}\t{k['rel']}/{k['base']} placeholder root={root} ro {args}"]
                    for rd in initrds:
                        lines += [f"\techo\t'{quote('Loading initial ramdisk ...')}'",
                                  f"\t{module_loader}\t--nounzip   {k['rel']}/{rd}"]
                    if xsm:
                        lines += ["\techo\t'Loading XSM policy ...'", f"\t{module_loader}     {k['rel']}/{policy}"]
                    out.extend(pad + line for line in lines + ["}"])

            if top and m.get("GRUB_DISABLE_SUBMENU") != "true":
                entry("simple", f"{cmdline} {default}", xen_args)
                out += [f"submenu 'Advanced options for {quote(os_name)} (with Xen hypervisor)' "
                        f"$menuentry_id_option 'gnulinux-advanced-{dev_id}' {{", submenu]
                top, pad = False, "\t\t"
            entry("advanced", f"{cmdline} {default}", xen_args)
            if m.get("GRUB_DISABLE_RECOVERY") != "true":
                entry("recovery", f"{m.get('GRUB_CMDLINE_LINUX_RECOVERY') or 'single'} {cmdline}",
                      m.get("GRUB_CMDLINE_XEN"))
        out += [] if top else ["\t}"]
    return "\n".join(out + ([] if top else ["}"]) + [""]) + "\n"


def os_prober(m: Mkconfig) -> str:
    if m.get("GRUB_DISABLE_OS_PROBER") == "false":
        m.log += ["Warning: os-prober will be executed to detect other bootable partitions.",
                  "Its output will be used to detect bootable binaries on them and create new boot entries."]
    else:
        m.log += ["Warning: os-prober will not be executed to detect other bootable partitions.",
                  "Systems on them will not be added to the GRUB boot configuration.",
                  "Check GRUB_DISABLE_OS_PROBER documentation entry."]
    return ""  # os-prober is not installed on the sample host


def custom(m: Mkconfig, path: str) -> str | None:
    """Output of 'exec tail -n +N $0' scripts (40_custom) and cat-heredoc scripts (41_custom); None otherwise."""
    lines = (m.host.read_text(path) or "").splitlines(keepends=True)
    tail = re.match(r"^exec tail -n \+(\d+) \$0\s*$", lines[1]) if len(lines) > 1 else None
    if tail:
        return "".join(lines[int(tail.group(1)) - 1:])
    out, i = [], 1
    while i < len(lines):
        line, here = lines[i].strip(), re.match(r"^cat\s*<<\s*(['\"]?)(\w+)\1$", lines[i].strip())
        if here:
            end = next((j for j in range(i + 1, len(lines)) if lines[j].rstrip("\n") == here.group(2)), None)
            if end is None:
                return None
            body = "".join(lines[i + 1:end])
            out.append(body if here.group(1) else re.sub(  # unquoted heredoc: \$ \` \\ and $VAR expand
                r"\\([$`\\])|\$\{(\w+)\}|\$(\w+)", lambda x: x.group(1) or m.get(x.group(2) or x.group(3)), body))
            i = end + 1
        elif line and not line.startswith("#") and line not in ("set -e", "exit 0"):
            return None
        else:
            i += 1
    return "".join(out)
