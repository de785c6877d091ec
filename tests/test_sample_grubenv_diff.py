"""Differential tests: the same grub-editenv, grub-set-default and grub-reboot argv through the sample host's
SIMULATED programs and through the REAL ones, on a copy of the sample's /boot/grub; outputs, exit codes and the
bytes of every file in the folder must agree.

Paths in the argv are the sample's; the real tools get the copy's (the folder's path is stripped from what they
print). grub-editenv's "-" is its built-in default file, so the real one gets the copy's grubenv instead."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from xenbook.connectors.rooted import run_local
from xenbook.core.commands import Command, Result
from xenbook_sample import init_sample

ENV = "/boot/grub/grubenv"
EDITENV = ("grub-editenv", ENV)
FULL = "x=" + "y" * 996  # the header and this line fill the 1024 bytes exactly


def block(*lines: str, size: int = 1024) -> bytes:
    return ("# GRUB Environment Block\n" + "".join(f"{line}\n" for line in lines)).encode().ljust(size, b"#")


EDITENV_CASES = {
    "list a new block": [(*EDITENV, "list")],
    "set, list through -": [(*EDITENV, "set", "saved_entry=xenbook-xen", "foo=a b"), ("grub-editenv", "-", "list")],
    "unset, and unset a missing name": [(*EDITENV, "set", "a=1", "b=2"), (*EDITENV, "unset", "a", "nosuch"),
                                        (*EDITENV, "list")],
    "set twice keeps one": [(*EDITENV, "set", "a=1", "b=2"), (*EDITENV, "set", "a=3"), (*EDITENV, "list")],
    "escapes newlines and backslashes": [(*EDITENV, "set", "a=x\ny", "b=c\\d", "c="), (*EDITENV, "list")],
    "exactly full": [(*EDITENV, "set", FULL), (*EDITENV, "list")],
    "one byte too many": [(*EDITENV, "set", FULL + "y")],
    "unknown command": [(*EDITENV, "frob")],
    "one argument is the command": [EDITENV],
    "no arguments": [("grub-editenv",)],
    "unknown option": [("grub-editenv", "--bogus", ENV, "list")],
    "set without =": [(*EDITENV, "set", "noequals")],
    "a missing file is created": [("grub-editenv", "/boot/grub/other", "list")],
    "a missing folder": [("grub-editenv", "/boot/grub/nodir/grubenv", "list")],
    "create over a block": [(*EDITENV, "set", "a=1"), (*EDITENV, "create"), (*EDITENV, "list")],
    "not a block": [("write", "/boot/grub/notenv", b"hello\n"), ("grub-editenv", "/boot/grub/notenv", "list"),
                    ("grub-editenv", "/boot/grub/notenv", "set", "a=b")],
    "a bigger block keeps its size": [("write", ENV, block("a=1", size=2048)), (*EDITENV, "set", "b=2"),
                                      (*EDITENV, "list")],
}
ENTRY_CASES = {
    "set the default": [("grub-set-default", "gnulinux-simple-x")],
    "set the default over a one-time entry": [("grub-reboot", "Arch Linux"), ("grub-set-default", "1")],
    "one-time entry": [("grub-reboot", "Arch Linux")],
    "one-time entry restores an older one's saved entry": [
        ("write", ENV, block("saved_entry=xen", "prev_saved_entry=arch")), ("grub-reboot", "1")],
    "set the default drops the older one's saved entry": [
        ("write", ENV, block("prev_saved_entry=arch", "next_entry=2")), ("grub-set-default", "xen")],
    "no entry": [("grub-set-default",), ("grub-reboot",)],
    # boot.first_boot once: the old default kept in saved_entry, the Xen entry booted once; then made the default
    "first boot once": [("grub-set-default", "0"), ("grub-reboot", "xenbook-xen"), ("grub-editenv", ENV, "list")],
    "first boot once, then the default": [("grub-set-default", "0"), ("grub-reboot", "xenbook-xen"),
                                          (*EDITENV, "unset", "next_entry"), ("grub-set-default", "xenbook-xen")],
    "armed twice": [("grub-reboot", "xenbook-xen"), ("grub-reboot", "xenbook-xen")],
    "two entries": [("grub-reboot", "a", "b")],
}
MISSING = {name: shutil.which(name) is None for name in ("grub-editenv", "grub-set-default", "grub-reboot")}


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def real_argv(argv: tuple[str, ...], base: Path) -> tuple[str, ...]:
    if argv[0] != "grub-editenv":  # the scripts find grubenv under --boot-directory, /boot by default
        return (argv[0], f"--boot-directory={base}/boot", *argv[1:])
    mapped = [f"{base}{ENV}" if a == "-" else f"{base}{a}" if a.startswith("/") else a for a in argv[1:]]
    return (argv[0], *mapped)


def differ(tmp_path: Path, steps) -> None:
    sample = init_sample(str(tmp_path / "sample"))
    base = tmp_path / "real"
    shutil.copytree(sample.real("/boot/grub"), base / "boot/grub")
    for step in steps:
        if step[0] == "write":
            sample.write_atomic(step[1], step[2])
            (base / step[1].lstrip("/")).write_bytes(step[2])
            continue
        ours = sample.run(Command.of(*step))
        got = run_local(real_argv(step, base), env={"PATH": os.environ["PATH"], "LC_ALL": "C"})
        # the scripts ask grub-probe whether grubenv lies on LVM or RAID; of a temporary folder it may complain
        noise = [line for line in got.stderr.splitlines(keepends=True) if "grub-probe: error:" not in line]
        real = Result(got.returncode, got.stdout.replace(str(base), ""), "".join(noise).replace(str(base), ""))
        assert (ours.returncode, ours.stdout, ours.stderr) == (real.returncode, real.stdout, real.stderr), step
        assert files(Path(sample.real("/boot/grub"))) == files(base / "boot/grub"), step


@pytest.mark.skipif(MISSING["grub-editenv"], reason="grub-editenv is not installed (Debian: grub-common)")
@pytest.mark.parametrize("case", EDITENV_CASES)
def test_the_simulated_grub_editenv_does_what_the_real_one_does(case, tmp_path):
    differ(tmp_path, EDITENV_CASES[case])


@pytest.mark.skipif(MISSING["grub-set-default"] or MISSING["grub-reboot"] or MISSING["grub-editenv"],
                    reason="grub-set-default and grub-reboot are not installed (Debian: grub2-common)")
@pytest.mark.parametrize("case", ENTRY_CASES)
def test_the_simulated_grub_set_default_and_reboot_do_what_the_real_ones_do(case, tmp_path):
    differ(tmp_path, ENTRY_CASES[case])


@pytest.mark.skipif(MISSING["grub-editenv"], reason="grub-editenv is not installed (Debian: grub-common)")
def test_a_new_sample_hosts_grubenv_is_what_grub_editenv_creates(tmp_path):
    """grub-install creates /boot/grub/grubenv the way grub-editenv's create does."""
    sample = init_sample(str(tmp_path / "sample"))
    made = run_local(("grub-editenv", str(tmp_path / "grubenv"), "create"))
    assert made.ok, made.stderr
    assert sample.read_bytes(ENV) == (tmp_path / "grubenv").read_bytes()
