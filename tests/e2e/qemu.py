"""Boot an ISO under QEMU (software emulation) and follow its serial console through the stages of the boot.

Stages, in order: `grub` (GRUB's config runs), `hypervisor` (Xen's own banner on its console), then the stages
dom0's /init prints: `xen`, `dom0`, `xenstored`, `xl-info`, `xl-parse`, `guest-created`, `guest-marker`,
`guest-network`.
Booted by UEFI (OVMF) instead, the first stages are `firmware` (OVMF starts a Boot#### entry) and `xen-efi` (xen.efi's
own loader banner), then `hypervisor` and the rest.
The boot stops at XENBOOK-DONE, at the first sign of failure (a GRUB error, a panic, XENBOOK-FAIL), when QEMU
exits, or at a hard timeout; the result says which stage was reached last and keeps the console's tail.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

DOM0_STAGES = ("hypervisor", "xen", "dom0", "xenstored", "xl-info", "xl-parse", "guest-created", "guest-marker",
               "guest-network")
STAGES = ("grub",) + DOM0_STAGES
UEFI_STAGES = ("firmware", "xen-efi") + DOM0_STAGES
# Debian's OVMF (ovmf): the firmware's code read-only, and a copy of its variable store per boot.
OVMF_CODE = Path("/usr/share/OVMF/OVMF_CODE_4M.fd")
OVMF_VARS = Path("/usr/share/OVMF/OVMF_VARS_4M.fd")
# +svm lets Xen run HVM and PVH guests; +npt adds nested paging, which Debian's Xen needs for them (it has no
# shadow paging: without +npt `xl create` of a PVH guest fails "neither hap nor shadow paging available").
# Not -cpu max: dom0 crashes with a page fault there.
CPU = "qemu64,+svm,+npt"
QEMU = ["qemu-system-x86_64", "-machine", "q35", "-cpu", CPU, "-m", "2048", "-smp", "2", "-nographic", "-no-reboot"]
DONE = "XENBOOK-DONE"
GRUB_FAILURES = [
    re.compile(r"^error: .*", re.M),                      # GRUB: a file not found, a bad command, ...
    re.compile(r"Press any key to continue"),             # GRUB gave up on the entry
]
FAILURES = [
    re.compile(r"XENBOOK-FAIL .*"),                       # dom0's /init
    # xen.efi's loader (xen/common/efi/boot.c: read_file's "<what> failed for <file>: <status>", and blexit's)
    re.compile(r"(?:Open|Seek|Get size|Allocation|Read) failed for .*"),
    re.compile(r"No initial domain kernel specified\.|No configuration file found\.|Configuration file not found\."),
    re.compile(r"Panic on CPU \d+:(?:\s*\(XEN\))?\s*.*"),  # Xen
    re.compile(r"Kernel panic - .*"),                     # Linux
]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[c78=>]|\r")


@dataclass
class Boot:
    console: str = ""
    stages: list[str] = field(default_factory=list)
    failure: str | None = None
    seconds: float = 0.0
    log: Path | None = None

    @property
    def last_stage(self) -> str:
        return self.stages[-1] if self.stages else "none (not even GRUB)"

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.console.splitlines()[-lines:])

    def explain(self) -> str:
        return (f"boot stopped after stage {self.last_stage!r} ({self.seconds:.0f} s): {self.failure or 'done'}\n"
                f"full console: {self.log}\n--- console tail ---\n{self.tail()}")

    def assert_reached(self, stages=STAGES) -> None:
        assert self.stages[:len(stages)] == list(stages) and self.failure is None, self.explain()


def stages_in(console: str) -> list[str]:
    seen = []
    if "XENBOOK-STAGE grub" in console:
        seen.append("grub")
    if re.search(r"BdsDxe: starting Boot[0-9A-F]{4}", console):
        seen.append("firmware")
    if re.search(r"Xen \d+\.\d+\S* \(c/s [^)]*\) EFI loader", console):  # after systemd-boot's menu, no newline
        seen.append("xen-efi")
    if re.search(r"\(XEN\) Xen version \d", console):
        seen.append("hypervisor")
    seen += [m[1] for m in re.finditer(r"^XENBOOK-STAGE ([a-z0-9-]+)\s*$", console, re.M) if m[1] != "grub"]
    return seen


def failure_in(console: str) -> str | None:
    """The first sign of failure: GRUB's own (only before Xen's banner, as later output is not GRUB's), then
    /init's, Xen's or Linux's."""
    banner = re.search(r"\(XEN\) Xen version \d", console)
    grub = console[:banner.start()] if banner else console
    hits = [(m.start(), m.group(0).strip()) for rx in GRUB_FAILURES for m in rx.finditer(grub)]
    hits += [(m.start(), m.group(0).strip()) for rx in FAILURES for m in rx.finditer(console)]
    return min(hits)[1] if hits else None


def cdrom(iso: Path) -> list[str]:
    """QEMU's arguments to boot ISO by the BIOS (SeaBIOS) from the CD drive."""
    return ["-cdrom", str(iso), "-boot", "d"]


def uefi(disk: Path, vars_file: Path) -> list[str]:
    """QEMU's arguments to boot DISK (a raw GPT image holding the ESP) by OVMF, with VARS_FILE (this boot's own copy
    of the variable store: the boot entries) as the second flash chip. No display adapter: with one, OVMF hands Xen
    and dom0 a 1280x800 graphics framebuffer and the boot takes about twice as long under emulation (the consoles
    are all on the serial port anyway)."""
    return ["-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
            "-drive", f"if=pflash,format=raw,unit=1,file={vars_file}",
            "-drive", f"file={disk},format=raw,if=none,id=esp", "-device", "virtio-blk-pci,drive=esp",
            "-nic", "none", "-vga", "none"]


def boot(media: list[str] | Path, log: Path, timeout: float = 300.0, processes: list | None = None,
         cpu: str = CPU, until: str | None = None) -> Boot:
    """Boot MEDIA (QEMU's arguments for the boot disk, or an ISO path), its serial console copied to LOG; PROCESSES
    gets the QEMU process (for a teardown that outlives this call). With UNTIL (a stage /init prints), the boot ends
    as soon as that stage is reached instead of at XENBOOK-DONE. QEMU is always stopped, by its own process id,
    before this returns."""
    start = time.monotonic()
    media = cdrom(media) if isinstance(media, Path) else media
    command = QEMU[:3] + ["-cpu", cpu] + QEMU[5:]
    proc = subprocess.Popen(command + media, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if processes is not None:
        processes.append(proc)
    chunks: list[bytes] = []

    def read():
        with log.open("wb") as out:
            for chunk in iter(lambda: proc.stdout.read1(4096), b""):
                chunks.append(chunk)
                out.write(chunk)
                out.flush()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    result = Boot(log=log)
    try:
        while True:
            time.sleep(0.25)
            console = ANSI.sub("", b"".join(chunks).decode("utf-8", "replace"))
            result.failure = failure_in(console)
            if DONE in console or result.failure or (until and f"XENBOOK-STAGE {until}\n" in console):
                break
            if proc.poll() is not None:
                result.failure = f"QEMU exited ({proc.returncode}) before {DONE}"
                break
            if time.monotonic() - start > timeout:
                result.failure = f"timeout: no {DONE} after {timeout:.0f} s"
                break
        time.sleep(0.5)  # the lines right after a failure (a panic's reason) are worth keeping
    finally:
        stop(proc)
        reader.join(timeout=5)
    result.console = ANSI.sub("", b"".join(chunks).decode("utf-8", "replace"))
    result.stages = stages_in(result.console)
    result.seconds = time.monotonic() - start
    return result


def stop(proc: subprocess.Popen) -> None:
    """End PROC by its own process id: terminate, then kill if it lingers."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
