"""The sample host's SIMULATED pacman, makepkg, git, runuser and useradd. What pacman prints and does is compared with
the real pacman in test_sample_pacman_diff; these tests cover what a stand-in repository cannot (the catalogue's
stand-in files, AUR builds, signatures)."""

import json
import time

import pytest

from xenbook.core.commands import Command
from xenbook.facts import packages as pkgfacts
from xenbook_sample import init_sample

BUILD = "/var/lib/xenbook/build"


@pytest.fixture
def host(tmp_path):
    return init_sample(str(tmp_path / "sample"))


def run(host, *argv):
    return host.run(Command.of(*argv))


def enable_multilib(host):
    conf = host.read_text("/etc/pacman.conf") + "\n[multilib]\nInclude = /etc/pacman.d/mirrorlist\n"
    host.write_atomic("/etc/pacman.conf", conf.encode())


def test_the_product_reads_the_simulated_query(host):
    assert pkgfacts.installed_versions(host, ["linux", "xen"]) == {"linux": "6.17.9.arch1-1", "xen": None}


def test_sync_install_writes_the_stand_in_files(host):
    assert run(host, "pacman", "-Sy").ok and host.exists("/var/lib/pacman/sync/extra.db")
    assert run(host, "pacman", "-S", "--needed", "--noconfirm", "git", "seabios").ok
    assert host.read_text("/usr/share/qemu/bios-256k.bin").startswith("SIMULATED")


def test_users_and_runuser(host):
    assert run(host, "getent", "passwd", "xenbook-build").returncode == 2
    made = run(host, "useradd", "--system", "--create-home", "--home-dir", BUILD, "--shell", "/usr/bin/nologin",
               "xenbook-build")
    assert made.ok and run(host, "useradd", "--system", "xenbook-build").stderr == \
        "useradd: user 'xenbook-build' already exists\n"
    entry = pkgfacts.account(host, "xenbook-build")
    assert (entry.uid, entry.home, entry.shell) == (999, BUILD, "/usr/bin/nologin")
    assert run(host, "runuser", "-u", "xenbook-build", "--", "test", "-w", BUILD).ok
    assert not run(host, "runuser", "-u", "xenbook-build", "--", "test", "-w", "/etc").ok
    gone = run(host, "runuser", "-u", "nosuch", "--", "true")
    assert gone.stderr.startswith("runuser: user nosuch does not exist")
    assert run(host, "nproc").stdout == "8\n"


def built(host):
    """base-devel and git installed, a build user, and the xen-edk2 AUR repository cloned; runuser argv."""
    run(host, "pacman", "-Sy")
    run(host, "pacman", "-S", "--noconfirm", "base-devel", "git")
    run(host, "useradd", "--system", "--create-home", "--home-dir", BUILD, "xenbook-build")
    user = ("runuser", "-u", "xenbook-build", "--")
    assert run(host, *user, "env", "-C", BUILD, "git", "clone", "https://aur.archlinux.org/xen-edk2.git",
               "xen-edk2").ok
    return user


def test_git_clone_writes_a_real_format_srcinfo(host):
    user = built(host)
    info = pkgfacts.parse_srcinfo(host.read_text(f"{BUILD}/xen-edk2/.SRCINFO"))
    assert info.pkgbase == "xen-edk2" and info.full_version == "202608-1"
    assert info.build_deps("xen-edk2") == ["git", "nasm", "python", "acpica"]
    assert host.read_text(f"{BUILD}/xen-edk2/PKGBUILD").startswith("# SIMULATED")
    printed = run(host, *user, "env", "-C", f"{BUILD}/xen-edk2", "makepkg", "--printsrcinfo")
    assert printed.stdout == host.read_text(f"{BUILD}/xen-edk2/.SRCINFO")
    empty = run(host, *user, "env", "-C", BUILD, "git", "clone", "https://aur.archlinux.org/nosuch.git", "nosuch")
    assert empty.ok and "You appear to have cloned an empty repository" in empty.stderr
    assert run(host, *user, "git", "-C", f"{BUILD}/xen-edk2", "pull", "--ff-only").stdout == "Already up to date.\n"


def test_makepkg_refuses_root_and_missing_dependencies_then_builds(host, monkeypatch):
    user = built(host)
    where = ("env", "-C", f"{BUILD}/xen-edk2")
    root = run(host, *where, "makepkg", "--noconfirm", "--log")
    assert root.returncode == 10 and "Running makepkg as root is not allowed" in root.stderr
    missing = run(host, *user, *where, "makepkg", "--noconfirm", "--log")
    assert missing.returncode == 8 and "[simulated] ==> Missing dependencies:" in missing.stdout
    assert "[simulated]   -> nasm" in missing.stdout and "Could not resolve all dependencies" in missing.stderr
    run(host, "pacman", "-S", "--noconfirm", "--asdeps", "nasm", "acpica")
    monkeypatch.setenv("XENBOOK_SAMPLE_BUILD_SECONDS", "0.3")
    started = time.monotonic()
    made = run(host, *user, *where, "MAKEFLAGS=-j4", "makepkg", "--noconfirm", "--log")
    assert made.ok and time.monotonic() - started >= 0.3
    assert all(line.startswith("[simulated] ") for line in made.stdout.splitlines())
    assert "[simulated] make -j4" in made.stdout
    package = f"{BUILD}/xen-edk2/xen-edk2-202608-1-x86_64.pkg.tar.zst"
    assert run(host, *user, *where, "makepkg", "--packagelist").stdout == package + "\n"
    assert json.loads(host.read_text(package))["simulated"] is True
    assert host.exists(f"{BUILD}/xen-edk2/xen-edk2-202608-1-x86_64-build.log")
    again = run(host, *user, *where, "makepkg", "--noconfirm", "--log")
    assert again.returncode == 13 and "A package has already been built" in again.stderr
    installed = run(host, "pacman", "-U", "--noconfirm", "--needed", package)
    assert installed.ok and host.exists("/usr/lib/xen/boot/ovmf.bin")
    assert "is up to date -- skipping" in run(host, "pacman", "-U", "--noconfirm", "--needed", package).stderr


def test_makepkg_has_the_build_log_open_while_build_runs(host, monkeypatch):
    """makepkg's run_function tees a function's output into its log from the function's start, so a run killed in
    build() leaves the build log of what had been printed (and a test can wait for it)."""
    from xenbook_sample import aur
    user = built(host)
    run(host, "pacman", "-S", "--noconfirm", "--asdeps", "nasm", "acpica")
    seen = []
    monkeypatch.setattr(aur, "_pause", lambda: seen.append(sorted(
        n for n in host.listdir(f"{BUILD}/xen-edk2") if n.endswith(".log"))))
    assert run(host, *user, "env", "-C", f"{BUILD}/xen-edk2", "makepkg", "--noconfirm", "--log").ok
    assert seen == [["xen-edk2-202608-1-x86_64-build.log", "xen-edk2-202608-1-x86_64-prepare.log"]]


QEMU_KEY = "CEACC9E15534EBABB82D3FA03353C9CEF108B584"  # saur xen-qemu/PKGBUILD validpgpkeys


def test_xen_qemu_is_signed_and_its_makepkg_needs_the_key_the_gpg_of_the_build_user_fetches(host, monkeypatch):
    monkeypatch.setenv("XENBOOK_SAMPLE_BUILD_SECONDS", "0")
    user = built(host)
    enable_multilib(host)
    run(host, "pacman", "-Sy")
    assert run(host, *user, "env", "-C", BUILD, "git", "clone", "https://aur.archlinux.org/xen-qemu.git",
               "xen-qemu").ok
    info = pkgfacts.parse_srcinfo(host.read_text(f"{BUILD}/xen-qemu/.SRCINFO"))
    assert info.base["validpgpkeys"] == [QEMU_KEY] and info.full_version == "11.1.0-1"
    assert "https://download.qemu.org/qemu-11.1.0.tar.xz.sig" in info.base["source"]
    host.makedirs("/var/lib/pacman/local/xen-4.21.2-1")  # as if the xen package were installed
    host.write_atomic("/var/lib/pacman/local/xen-4.21.2-1/desc", b"%NAME%\nxen\n\n%VERSION%\n4.21.2-1\n\n")
    assert run(host, "pacman", "-S", "--noconfirm", "--asdeps",
               *pkgfacts.unsatisfied(host, info.build_deps("xen-qemu"))).ok
    gpg = (*user, "gpg", "--batch")
    absent = run(host, *gpg, "--list-keys", QEMU_KEY)
    assert absent.returncode == 2 and absent.stderr.endswith("gpg: error reading key: No public key\n")
    assert absent.stderr == (f"gpg: directory '{BUILD}/.gnupg' created\ngpg: keybox '{BUILD}/.gnupg/pubring.kbx' "
                             f"created\ngpg: {BUILD}/.gnupg/trustdb.gpg: trustdb created\n"
                             "gpg: error reading key: No public key\n")  # what GnuPG 2.2 prints in a fresh home
    where = (*user, "env", "-C", f"{BUILD}/xen-qemu")
    unsigned = run(host, *where, "makepkg", "--noconfirm", "--log")
    assert unsigned.returncode == 1 and "[simulated] ==> Verifying source file signatures with gpg..." in unsigned.stdout
    assert unsigned.stderr == ("    qemu-11.1.0.tar.xz ... FAILED (unknown public key 3353C9CEF108B584)\n"
                               "==> ERROR: One or more PGP signatures could not be verified!\n")
    state = host.load_state()
    state["faults"] = {"offline": ["keyserver.ubuntu.com"]}
    host.save_state(state)
    cut = run(host, *gpg, "--recv-keys", QEMU_KEY)
    assert cut.returncode == 2 and cut.stderr.endswith("gpg: keyserver receive failed: No name\n")
    state["faults"] = {}
    host.save_state(state)
    got = run(host, *gpg, "--recv-keys", QEMU_KEY)
    assert got.ok and 'gpg: key 3353C9CEF108B584: public key "Michael Roth <flukshun@gmail.com>" imported\n' in got.stderr
    assert "unchanged: 1" in run(host, *gpg, "--recv-keys", QEMU_KEY).stderr
    listed = run(host, *gpg, "--list-keys", QEMU_KEY)
    assert listed.ok and f"      {QEMU_KEY}\nuid           [ unknown] Michael Roth" in listed.stdout
    assert run(host, "gpg", "--batch", "--list-keys", QEMU_KEY).returncode == 2  # root's keyring is another one
    made = run(host, *where, "makepkg", "--noconfirm", "--log")
    assert made.ok and made.stderr == "    qemu-11.1.0.tar.xz ... Passed\n"


def test_gpg_needs_a_home_its_user_can_write(host):
    run(host, "useradd", "--system", "--home-dir", "/var/lib", "builder")  # a home that root owns
    denied = run(host, "runuser", "-u", "builder", "--", "gpg", "--batch", "--list-keys", QEMU_KEY)
    assert denied.returncode == 2 and denied.stderr == ("gpg: Fatal: can't create directory '/var/lib/.gnupg': "
                                                        "Permission denied\n")  # as GnuPG 2.2 says it
    run(host, "useradd", "--system", "--home-dir", "/var/lib/nohome", "homeless")  # no --create-home
    missing = run(host, "runuser", "-u", "homeless", "--", "gpg", "--batch", "--list-keys", QEMU_KEY)
    assert missing.stderr == "gpg: Fatal: can't create directory '/var/lib/nohome/.gnupg': No such file or directory\n"
