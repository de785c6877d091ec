"""Simulated programs of the sample host, printing what the real tools print (the same parsers read both).

PROGRAMS maps a program name to function(host, argv, stdin) -> Result; add a function to simulate more."""

from __future__ import annotations

import posixpath

from xenbook.core.commands import Command, Result
from xenbook_sample.blockdev import blkid, grub_probe, lsblk
from xenbook_sample.findmnt import findmnt
from xenbook_sample.grub import grub_mkconfig
from xenbook_sample.grubenv import grub_editenv, grub_reboot, grub_set_default
from xenbook_sample.options import Usage, options

NOT_SIMULATED = "(SIMULATED host: xenbook's sample host does not simulate this program)"


def run_program(host, command: Command) -> Result:
    name = posixpath.basename(command.argv[0])
    fn = PROGRAMS.get(name)
    if fn is None:
        return Result(127, "", f"{command.argv[0]}: command not found {NOT_SIMULATED}")
    try:
        return fn(host, list(command.argv), command.stdin)
    except Usage as e:
        return Result(e.args[1], "", e.args[0])


# uname

def uname(host, argv, stdin) -> Result:
    names = {"kernel-name": "s", "nodename": "n", "kernel-release": "r", "kernel-version": "v", "machine": "m",
             "processor": "p", "hardware-platform": "i", "operating-system": "o", "all": "a"}
    opts, args = options("uname", argv, "snrvmpioa", list(names))
    if args:
        raise Usage(f"uname: extra operand '{args[0]}'\nTry 'uname --help' for more information.\n", 1)
    wanted = {names.get(o[2:], o[1:]) for o, _ in opts} or {"s"}
    if "a" in wanted:
        wanted |= set("snrvmo")
    run = host.load_state()["running"]
    fields = [("s", "Linux"), ("n", run["hostname"]), ("r", run["kernel_release"]), ("v", run["kernel_version"]),
              ("m", run["machine"]), ("p", "unknown"), ("i", "unknown"), ("o", "GNU/Linux")]
    return Result(0, " ".join(v for k, v in fields if k in wanted) + "\n", "")


PROGRAMS = {
    "uname": uname,
    "findmnt": findmnt,
    "lsblk": lsblk,
    "blkid": blkid,
    "grub-probe": grub_probe,
    "grub-mkconfig": grub_mkconfig,
    "grub-editenv": grub_editenv,
    "grub-set-default": grub_set_default,
    "grub-reboot": grub_reboot,
}

from xenbook_sample import efi  # noqa: E402  (registers after PROGRAMS exists)

PROGRAMS.update(efi.PROGRAMS)

from xenbook_sample import system  # noqa: E402  (dmesg, df)

PROGRAMS.update(system.PROGRAMS)

from xenbook_sample import packages  # noqa: E402  (pacman, makepkg, git, runuser, useradd, ...)

PROGRAMS.update(packages.PROGRAMS)

from xenbook_sample import bootstrap, filetools, initcpio, lvm, mkfs, mounts, storage  # noqa: E402  (lvs, mkfs.ext4, mount, pacstrap, ...)

PROGRAMS.update(storage.PROGRAMS)
PROGRAMS.update(mkfs.PROGRAMS)
PROGRAMS.update(lvm.PROGRAMS)
PROGRAMS.update(mounts.PROGRAMS)
PROGRAMS.update(bootstrap.PROGRAMS)
PROGRAMS.update(initcpio.PROGRAMS)
PROGRAMS.update(filetools.PROGRAMS)

from xenbook_sample import netmanagers, network, services, xl  # noqa: E402  (systemctl; ip; netctl; xl, xentop)

PROGRAMS.update(services.PROGRAMS)
PROGRAMS.update(network.PROGRAMS)
PROGRAMS.update(netmanagers.PROGRAMS)
PROGRAMS.update(xl.PROGRAMS)

from xenbook_sample import debugfs, links  # noqa: E402

PROGRAMS.update(links.PROGRAMS)
PROGRAMS.update(debugfs.PROGRAMS)

from xenbook_sample import xlmanage  # noqa: E402  (xl uptime, rm -f)

PROGRAMS.update(xlmanage.PROGRAMS)

from xenbook_sample import resize, timeout  # noqa: E402  (lvextend, e2fsck, resize2fs; timeout)

PROGRAMS.update(resize.PROGRAMS)
PROGRAMS.update(timeout.PROGRAMS)

from xenbook_sample import journal  # noqa: E402  (journalctl)

PROGRAMS.update(journal.PROGRAMS)
