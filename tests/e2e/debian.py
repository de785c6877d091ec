"""Debian's Xen, kernel and tools for the e2e boot, as their packages install them.

scripts/test installs the packages; Debian's kernel is not installed but fetched with `apt-get download` once into
the repository's ignored .cache/xenbook-e2e/ and unpacked there, so later runs reuse it (also without apt lists).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "xenbook-e2e"
XEN = "4.17"
XEN_GZ = Path(f"/boot/xen-{XEN}-amd64.gz")          # xen-hypervisor-4.17-amd64
XEN_BIN = Path(f"/usr/lib/xen-{XEN}/bin")            # xen-utils-4.17
XEN_SCRIPTS = Path("/etc/xen/scripts")               # xen-utils-common
GRUB_PC = Path("/usr/lib/grub/i386-pc")              # grub-pc-bin, the BIOS platform grub-mkrescue builds for

# what the boot needs -> the Debian package that has it
TOOLS = {"qemu-system-x86_64": "qemu-system-x86", "grub-mkrescue": "grub-common", "xorriso": "xorriso",
         "mformat": "mtools", "busybox": "busybox-static", "flock": "util-linux", "xenstore-read": "xenstore-utils",
         "dpkg-deb": "dpkg", "ldd": "libc-bin"}
FILES = {XEN_GZ: "xen-hypervisor-4.17-amd64", XEN_BIN / "xl": "xen-utils-4.17",
         XEN_SCRIPTS / "block": "xen-utils-common", GRUB_PC / "multiboot2.mod": "grub-pc-bin"}


def missing() -> list[str]:
    """What is not installed, as 'thing (package)'; empty when the boot can be built."""
    gone = [f"{name} ({pkg})" for name, pkg in TOOLS.items() if not shutil.which(name)]
    gone += [f"{path} ({pkg})" for path, pkg in FILES.items() if not path.exists()]
    if not shutil.which("busybox") or not _static(Path(shutil.which("busybox"))):
        gone.append("a static busybox (busybox-static)")
    return gone


def missing_uefi() -> list[str]:
    """What the UEFI boots need beyond missing(): OVMF, systemd-boot, Xen's EFI binary, mkfs.fat, and virt-firmware
    (a test extra: it writes the firmware's boot entry into a copy of OVMF's variable store)."""
    from tests.e2e import esp, qemu  # esp imports qemu; neither imports this module at import time
    files = {qemu.OVMF_CODE: "ovmf", qemu.OVMF_VARS: "ovmf", esp.SYSTEMD_BOOT: "systemd-boot-efi",
             esp.XEN_EFI: "xen-hypervisor-4.17-amd64"}
    gone = [f"{path} ({pkg})" for path, pkg in files.items() if not path.exists()]
    gone += [f"{name} ({pkg})" for name, pkg in {"mkfs.fat": "dosfstools", "sfdisk": "fdisk",
                                                  "mcopy": "mtools"}.items() if not shutil.which(name)]
    if esp.edk2 is None:
        gone.append("the Python package virt-firmware (xenbook's test extras)")
    return gone


def _static(program: Path) -> bool:
    return "not a dynamic executable" in subprocess.run(["ldd", str(program)], capture_output=True, text=True).stderr


def _kernel_package() -> str | None:
    """linux-image-amd64's current kernel package, as apt knows it (None without apt lists)."""
    proc = subprocess.run(["apt-cache", "depends", "linux-image-amd64"], capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.strip().startswith("Depends: linux-image-"):
            return line.split(":", 1)[1].strip()
    return None


def kernel(modules: dict[str, str]) -> tuple[Path, Path]:
    """Debian's kernel: (vmlinuz, its modules folder), from the cached .deb, downloaded first if not cached.
    Only vmlinuz and MODULES (name -> folder under kernel/) are unpacked, not the whole package's 800 MB."""
    debs = CACHE / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    package = _kernel_package()
    if package and not list(debs.glob(f"{package}_*.deb")):
        subprocess.run(["apt-get", "download", "-q", package], cwd=debs, check=True, capture_output=True)
    found = sorted(debs.glob(f"{package}_*.deb" if package else "linux-image-*-amd64_*.deb"))
    if not found:
        raise FileNotFoundError(f"no linux-image .deb in {debs} and apt-get could not download one")
    deb = found[-1]
    unpacked = CACHE / "linux" / deb.stem
    wanted = [f"*/modules/*/kernel/{folder}/{name}.ko" for name, folder in modules.items()]
    if not all(any(unpacked.glob("*" + pattern)) for pattern in wanted):
        shutil.rmtree(unpacked, ignore_errors=True)
        unpacked.mkdir(parents=True)
        tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
        subprocess.run(["tar", "-x", "-C", str(unpacked), "--wildcards", "./boot/vmlinuz-*", *wanted],
                       stdin=tar.stdout, check=True)
        tar.stdout.close()
        assert tar.wait() == 0, f"dpkg-deb could not read {deb}"
    vmlinuz = next((unpacked / "boot").glob("vmlinuz-*"))
    folder = next(unpacked.glob("**/modules/*/kernel")).parent
    return vmlinuz, folder
