"""The two initramfs images of the e2e boot: dom0's (the Xen toolstack and the guest's files) and the guest's."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.e2e import debian
from tests.e2e.cpio import Tree, library, tool

HERE = Path(__file__).parent
# dom0's modules, in load order (each after what it depends on); the rest of Xen's dom0 drivers are built in.
DOM0_MODULES = {
    "xen-evtchn": "drivers/xen", "xen-gntdev": "drivers/xen", "xen-gntalloc": "drivers/xen",
    "xen-privcmd": "drivers/xen", "xenfs": "drivers/xen/xenfs", "loop": "drivers/block",
    "xen-blkback": "drivers/block/xen-blkback", "llc": "net/llc", "stp": "net/802", "bridge": "net/bridge",
    "xen-netback": "drivers/net/xen-netback",
}
GUEST_MODULES = {"xen-netfront": "drivers/net"}  # the guest's network device (its disk is not mounted)
XEN_PROGRAMS = ["xl", "xenstored", "xenconsoled", "xen-init-dom0", "xentop"]
XENSTORE_TOOLS = ["xenstore-read", "xenstore-write", "xenstore-exists", "xenstore-rm", "xenstore-list",
                  "xenstore-ls", "xenstore-chmod", "xenstore-watch"]


def _busybox(tree: Tree) -> None:
    """The static busybox at /bin/busybox with a link for each applet, where no real program is."""
    busybox = tool("busybox")
    tree.file("bin/busybox", busybox, 0o755)
    applets = subprocess.run([str(busybox), "--list-full"], capture_output=True, text=True, check=True).stdout
    for applet in applets.split():
        tree.link(applet, "/bin/busybox")


def _base(tree: Tree, init: str) -> None:
    for d in ("proc", "sys", "dev", "run", "tmp", "var", "etc"):
        tree.dir(d)
    tree.link("var/run", "/run")
    tree.link("var/lock", "/run/lock")
    tree.chardev("dev/console", 5, 1)  # the kernel opens it for /init's output before devtmpfs is mounted
    tree.file("init", HERE / init, 0o755)


def guest(dest: Path, modules: Path) -> Path:
    """The guest's initramfs: a static busybox, xen-netfront, and an /init that pings dom0 over the bridge, prints a
    marker on hvc0 and powers off."""
    tree = Tree()
    _base(tree, "guest-init.sh")
    tree.file("bin/busybox", tool("busybox"), 0o755)
    for name, folder in GUEST_MODULES.items():
        tree.file(f"lib/modules/{name}.ko", modules / "kernel" / folder / f"{name}.ko")
    return tree.write(dest)


def dom0(dest: Path, modules: Path, files: dict[str, Path]) -> Path:
    """dom0's initramfs: busybox; Debian's xl, xenstored, xenconsoled, xenstore tools and hotplug scripts with
    every library they load (libgcc_s too); bash and flock for those scripts; Debian's modules for Xen's devices,
    loop devices and the bridge; and FILES (path in dom0 -> file), here the guest's configuration, kernel,
    ramdisk and xl.conf as xenbook wrote them."""
    tree = Tree()
    _base(tree, "dom0-init.sh")
    for program in XEN_PROGRAMS:
        tree.binary(debian.XEN_BIN / program)
    for program in XENSTORE_TOOLS:
        tree.binary(tool(program), f"usr/bin/{program}")
    for program in ("bash", "flock"):
        tree.binary(tool(program), f"usr/bin/{program}")
    tree.file(str(library("libgcc_s.so.1")), library("libgcc_s.so.1"))
    tree.tree("etc/xen/scripts", debian.XEN_SCRIPTS)
    for name, folder in DOM0_MODULES.items():
        tree.file(f"lib/modules/{name}.ko", modules / "kernel" / folder / f"{name}.ko")
    for path, source in files.items():
        tree.file(path, source)
    _busybox(tree)  # last: its applet links never replace the real programs above
    return tree.write(dest)
