"""The real grub-mkconfig over a copy of a sample host's tree, and readers for the grub.cfg it writes.

Debian's GRUB 2.06 runs in a private mount namespace (mkconfig.sh) where the copy's boot folder is /boot, its grub.d
folder /etc/grub.d and its default folder /etc/default. The copy holds Debian's own 00_header, 10_linux,
20_linux_xen and 30_os-prober in place of the sample's stand-ins (each with the sample file's mode), the sample's
other /etc/grub.d files as they are, and in place of the sample's text stand-in for the Xen image the real Xen 4.17
image, so that grub-file really decides between multiboot2 and multiboot.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.debian import XEN_GZ
from xenbook.core.commands import Result

SCRIPT = Path(__file__).parent / "mkconfig.sh"
GRUB_D = Path("/etc/grub.d")
REAL_SCRIPTS = ("00_header", "10_linux", "20_linux_xen", "30_os-prober")
MISSING = [p for p in ("grub-mkconfig", "grub-script-check", "grub-probe", "unshare") if shutil.which(p) is None]
MISSING += [str(p) for p in [XEN_GZ, *(GRUB_D / s for s in REAL_SCRIPTS)] if not p.exists()]


def _cannot() -> str | None:
    """Why the real grub-mkconfig cannot run here, or None."""
    if MISSING:
        return f"not installed here: {', '.join(MISSING)} (grub-common, xen-hypervisor-4.17-amd64, util-linux)"
    if os.geteuid() != 0:
        return "a private mount namespace needs root"
    probe = ["unshare", "--mount", "--propagation", "private", "true"]
    if subprocess.run(probe, capture_output=True, timeout=30).returncode != 0:
        return "unshare --mount is refused here (a container without CAP_SYS_ADMIN)"
    return None


CANNOT = _cannot()


def copy_tree(root: Path, work: Path) -> Path:
    """work prepared from the sample host in root (see the module's docstring); returns work."""
    boot = work / "boot"
    shutil.copytree(root / "boot", boot, symlinks=True)
    if (boot / "xen.gz").exists():
        shutil.copyfile(XEN_GZ, boot / "xen.gz")  # the name xenbook's entry and the Arch package use
    shutil.copytree(root / "etc/grub.d", work / "grub.d", symlinks=True)
    for name in REAL_SCRIPTS:
        if (work / "grub.d" / name).exists():
            mode = (work / "grub.d" / name).stat().st_mode
            shutil.copyfile(GRUB_D / name, work / "grub.d" / name)
            os.chmod(work / "grub.d" / name, mode)
    if (root / "etc/default").is_dir():
        shutil.copytree(root / "etc/default", work / "default", symlinks=True)
    else:
        (work / "default").mkdir()
    return work


def run_real(work: Path, argv: tuple[str, ...] | list[str]) -> Result:
    """argv (a grub-mkconfig command line) run by the real tool over work."""
    proc = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", str(SCRIPT), str(work), *argv],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 125, proc.stderr
    return Result(proc.returncode, proc.stdout, proc.stderr)


def probe(*args: str) -> str:
    proc = subprocess.run(["grub-probe", *args], capture_output=True, text=True, timeout=60)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def machine_root() -> tuple[str, str]:
    """(device, filesystem UUID or "") of the machine's own root filesystem, as grub-mkconfig probes them: the real
    tool names the root of the machine it runs on, not the sample's."""
    device = probe("--target=device", "/").splitlines()[0]
    return device, probe("--device", device, "--target=fs_uuid")


def section(cfg: str, script: str) -> str:
    begin, end = f"### BEGIN /etc/grub.d/{script} ###\n", f"### END /etc/grub.d/{script} ###"
    assert begin in cfg and end in cfg, f"no {script} section"
    return cfg[cfg.index(begin) + len(begin):cfg.index(end)]


def sections(cfg: str) -> list[str]:
    return re.findall(r"^### BEGIN /etc/grub.d/(\S+) ###$", cfg, re.M)


def default_entry(cfg: str) -> str:
    return re.findall(r'^\s*set default="([^"]+)"$', section(cfg, "00_header"), re.M)[-1]


def timeouts(cfg: str) -> list[str]:
    """The menu timeouts 00_header sets (both branches of its timeout_style test)."""
    return re.findall(r"^\s*set timeout=(\S+)$", section(cfg, "00_header"), re.M)


def entry_ids(cfg: str) -> list[str]:
    return re.findall(r"^\s*menuentry .*(?:--id |\$menuentry_id_option )'?([^' {]+)'? \{$", cfg, re.M)


def xen_lines(text: str, image: str = "/xen.gz") -> list[str]:
    """The loader lines of a section that load image, from the argument after the image path on."""
    return [line.split(None, 2)[2] for line in text.splitlines() if line.strip().startswith(("multiboot", "module"))
            and line.split()[0] in ("multiboot", "multiboot2") and line.split()[1].endswith(image)]


LOADERS = ("linux", "initrd", "multiboot", "multiboot2", "module", "module2")


@dataclass(frozen=True)
class Entry:
    """One menuentry of grub.cfg: the section that wrote it, the titles of its submenus, its title and id, whether
    it saves itself as the default, and its loader lines (words joined by one space)."""

    script: str
    submenus: tuple[str, ...]
    title: str
    id: str
    savedefault: bool
    loaders: tuple[str, ...]


def _title_and_id(line: str) -> tuple[str, str]:
    match = re.match(r"^\s*(?:menuentry|submenu) '((?:[^']|'\\'')*)'.*?(?:\$menuentry_id_option|--id) '([^']*)' \{$",
                     line)
    assert match, line
    return match[1].replace("'\\''", "'"), match[2]


def entries(cfg: str) -> list[Entry]:
    """Every menuentry of grub.cfg, in order (a line-by-line reading: braces open at the end of a menuentry or
    submenu line and close on a line of their own, as the scripts write them)."""
    out, script, stack, body = [], "", [], None
    for line in cfg.splitlines():
        begin = re.match(r"^### BEGIN /etc/grub.d/(\S+) ###$", line)
        script = begin[1] if begin else script
        words = line.split()
        if not words:
            continue
        if words[0] == "submenu":
            stack.append(_title_and_id(line)[0])
        elif words[0] == "menuentry":
            body = [line]
        elif words == ["}"]:
            if body is not None:
                title, entry_id = _title_and_id(body[0])
                loaders = tuple(" ".join(w) for w in map(str.split, body[1:]) if w and w[0] in LOADERS)
                out.append(Entry(script, tuple(stack), title, entry_id, ["savedefault"] in map(str.split, body),
                                 loaders))
                body = None
            elif stack:
                stack.pop()
        elif body is not None:
            body.append(line)
    return out
