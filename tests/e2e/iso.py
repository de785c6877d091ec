"""A GRUB 2 rescue ISO (grub-mkrescue, BIOS) that boots the Xen menu entry exactly as xenbook wrote it.

The only rewrite: the entry's `search --no-floppy --fs-uuid --set=root UUID` names the host's /boot filesystem;
on the ISO it becomes `search --no-floppy --file --set=root /xenbook-e2e-root` (a file on the ISO), so GRUB finds
the ISO as root. Every `multiboot2` and `module2` line, with its paths and its Xen and dom0 arguments, stays
byte for byte: the files are placed on the ISO at the very paths the entry names (dom0's root= is left too; the
test initramfs ignores it).
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

BEGIN, END = "# BEGIN xenbook xen-entry", "# END xenbook xen-entry"
ROOT_FILE = "/xenbook-e2e-root"
SEARCH = re.compile(r"^(?P<indent>\s*)search\s.*--fs-uuid.*$", re.M)

# Before the entry: GRUB on the serial port (QEMU's -nographic console), no menu wait, the entry as default, and
# a first stage marker. Nothing here changes what the entry loads.
HEADER = """\
serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial
set timeout=0
set default=xenbook-xen
echo XENBOOK-STAGE grub
"""


def xen_entry(grub_d_custom: Path) -> str:
    """The block xenbook wrote into /etc/grub.d/40_custom, its marker lines included."""
    text = grub_d_custom.read_text()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    return text[start:end] + "\n"


def iso_entry(entry: str) -> str:
    """ENTRY with its root search pointed at the ISO (the one rewrite)."""
    rewritten, count = SEARCH.subn(
        lambda m: f"{m['indent']}search --no-floppy --file --set=root {ROOT_FILE}", entry)
    assert count == 1, f"expected one `search --fs-uuid` line in the entry:\n{entry}"
    return rewritten


def loaded_paths(entry: str) -> list[tuple[str, str]]:
    """(command, path) for each multiboot2 and module2 line, in order: Xen first, then dom0's kernel, its initrd
    and any further module."""
    found = []
    for line in entry.splitlines():
        words = shlex.split(line.strip()) if line.strip() else []
        if words and words[0] in ("multiboot2", "module2"):
            path = next(w for w in words[1:] if not w.startswith("--"))
            found.append((words[0], path))
    return found


def arguments(entry: str, command: str, index: int = 0) -> str:
    """What follows the path on the INDEX-th COMMAND line (Xen's or dom0's command line, 'placeholder' first)."""
    lines = [ln.strip() for ln in entry.splitlines() if ln.strip().startswith(command)]
    words = lines[index].split(None, 1)[1]
    if words.startswith("--nounzip"):
        words = words.split(None, 1)[1]
    return words.split(None, 1)[1] if " " in words else ""


def build(entry: str, files: dict[str, Path], dest: Path, work: Path) -> Path:
    """An ISO at DEST booting ENTRY (already rewritten), with FILES (path the entry names -> file) on it."""
    root = work / "iso-root"
    (root / "boot" / "grub").mkdir(parents=True)
    config = HEADER + entry
    (root / "boot" / "grub" / "grub.cfg").write_text(config)
    subprocess.run(["grub-script-check", str(root / "boot" / "grub" / "grub.cfg")], check=True)
    (root / ROOT_FILE.lstrip("/")).write_text("the e2e ISO's root, found by the entry's search line\n")
    for path, source in files.items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    proc = subprocess.run(["grub-mkrescue", "-o", str(dest), str(root)],
                          capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"grub-mkrescue failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return dest
