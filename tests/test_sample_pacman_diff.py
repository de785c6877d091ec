"""Differential tests: the same pacman argv through the sample host's SIMULATED pacman and through the REAL pacman,
in a throwaway root that holds a copy of the sample's pacman files; outputs, exit codes and effects must agree.

The real root gets the sample's local database, the files the -U cases name, pacman.conf and mirrorlist, translated only where a
sandbox needs it (see translate_conf). Its repositories hold stand-ins, built with the real makepkg, of the
catalogue packages the cases install, with the catalogue's names, versions, architectures and provides."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.pacman_sandbox import StandIn, build_repos, make_root, needs_real_pacman, pacman_options
from xenbook.connectors.rooted import run_local
from xenbook.core.commands import Command, Result
from xenbook_sample import init_sample
from xenbook_sample.repos import REPO

pytestmark = needs_real_pacman
USED = ("git", "seabios", "util-linux-libs", "lib32-glibc")
MIRROR = "https://geo.mirror.pkgbuild.com/$repo/os/$arch"
LOCK, UNLOCK, MULTILIB = "hold the lock", "release the lock", "enable multilib"
SY = ("pacman", "-Sy")

# differences that are the sandbox's, not the simulation's (asserted in test_the_translation_changes_only_these)
SANDBOX_ONLY = {
    "DownloadUser": "a pacman 7 option; Debian's pacman 6.0 warns that it does not know it",
    "SigLevel": "the stand-ins are not signed by Arch's keys",
    "Include": "the mirrorlist is the root's copy",
}


def translate_conf(conf: str, root: Path) -> str:
    conf = re.sub(r"(?m)^DownloadUser\b.*\n", "", conf)
    conf = re.sub(r"(?m)^(SigLevel|LocalFileSigLevel)\s*=.*$", r"\1 = Never", conf)
    return re.sub(r"(?m)^(Include\s*=\s*)/", rf"\g<1>{root}/", conf)


@pytest.fixture(scope="module")
def world():
    """Local repositories of stand-ins for the catalogue packages the cases install."""
    base = Path(tempfile.mkdtemp(prefix="xenbook-pacman-diff-"))
    base.chmod(0o755)
    repos: dict[str, list[StandIn]] = {}
    for name in USED:
        info = REPO[name]
        repos.setdefault(info["repo"], []).append(StandIn(name, info["version"], info["arch"],
                                                          tuple(info["provides"])))
    try:
        build_repos(base, {repo: tuple(pkgs) for repo, pkgs in repos.items()})
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


class Twin:
    """A new sample host and a real pacman root made from its files; step() does the same on both."""

    def __init__(self, base: Path, world: Path):
        self.sample = init_sample(str(base / "sample"))
        self.root = base / "root"
        make_root(self.root)
        shutil.copytree(self.sample.real("/var/lib/pacman"), self.root / "var/lib/pacman", dirs_exist_ok=True)
        for name in ("/etc/fstab", "/etc/arch-release"):  # the files the -U cases name
            shutil.copyfile(self.sample.real(name), self.root / name.lstrip("/"))
        (self.root / "etc/pacman.d").mkdir()
        mirrors = self.sample.read_text("/etc/pacman.d/mirrorlist")
        assert MIRROR in mirrors
        (self.root / "etc/pacman.d/mirrorlist").write_text(mirrors.replace(MIRROR, f"file://{world}/repo/$repo"))
        self.write_conf()

    def write_conf(self) -> None:
        (self.root / "etc/pacman.conf").write_text(translate_conf(self.sample.read_text("/etc/pacman.conf"),
                                                                  self.root))

    def real_argv(self, argv: tuple[str, ...]) -> tuple[str, ...]:
        at = argv.index("pacman") + 1
        upgrade = "-U" in argv
        targets = tuple(f"{self.root}{a}" if upgrade and a.startswith("/") else a for a in argv[at:])
        return argv[:at] + pacman_options(self.root) + targets

    def step(self, step) -> tuple[Result, Result] | None:
        if step in (LOCK, UNLOCK):
            lock = "/var/lib/pacman/db.lck"
            if step == LOCK:
                self.sample.write_atomic(lock, b"")
                (self.root / lock.lstrip("/")).write_text("")
            else:
                self.sample.remove(lock)
                (self.root / lock.lstrip("/")).unlink()
            return None
        if step == MULTILIB:
            conf = self.sample.read_text("/etc/pacman.conf") + "\n[multilib]\nInclude = /etc/pacman.d/mirrorlist\n"
            self.sample.write_atomic("/etc/pacman.conf", conf.encode())
            self.write_conf()
            return None
        sample = self.sample.run(Command.of(*step))
        real = run_local(self.real_argv(step), env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C",
                                                    "TZ": "UTC"})
        strip = str(self.root)
        return sample, Result(real.returncode, real.stdout.replace(strip, ""), real.stderr.replace(strip, ""))

    def effects(self, root: Path) -> dict:
        """The local database (name -> version, install reason), the synced databases and the lock."""
        local = {}
        for desc in sorted((root / "var/lib/pacman/local").glob("*/desc")):
            fields = dict(re.findall(r"%([A-Z]+)%\n([^\n]*)\n", desc.read_text()))
            local[fields["NAME"]] = (fields["VERSION"], fields.get("REASON", "0"))
        sync = sorted(p.name for p in (root / "var/lib/pacman/sync").glob("*.db"))
        return {"local": local, "sync": sync, "locked": (root / "var/lib/pacman/db.lck").exists()}


# the lines a real transaction prints about sizes and downloads: the sample has no package sizes and downloads
# nothing, so it leaves them out; it ends a transaction with a line saying it is simulated
DOWNLOADS = re.compile(r"^(?:Total (?:Download|Installed) Size: .*\n\n|Net Upgrade Size: .*\n\n"
                       r"|:: Retrieving packages\.\.\.\n| \S+-(?:x86_64|any) downloading\.\.\.\n)", re.M)
SIMULATED = "[simulated] xenbook's sample host wrote the local database entries and stand-in files\n"


def transaction_output(real: str) -> str:
    return DOWNLOADS.sub("", real)


CASES = {
    "query versions and a missing package": [("pacman", "-Q", "linux", "xen")],
    "query every package": [("pacman", "-Q")],
    "info of a dependency": [("pacman", "-Qi", "systemd")],
    "info of explicit packages and a missing one": [("pacman", "-Qi", "linux", "nosuch", "grub")],
    "deptest versions": [("pacman", "-T", "python>=3.12", "python<3", "nosuch", "systemd")],
    "deptest all met": [("pacman", "-T", "systemd", "linux=6.17.9.arch1-1")],
    "no operation": [("pacman",)],
    "install before the databases are synced": [("pacman", "-S", "git")],
    "a held lock": [LOCK, ("pacman", "-S", "--noconfirm", "git"), ("pacman", "-Q", "linux")],
    "a held lock on sync": [LOCK, ("pacman", "-Sy")],
    "a held lock on upgrade from a file": [LOCK, ("pacman", "-U", "--noconfirm", "/etc/fstab"), UNLOCK],
    "not root": [("runuser", "-u", "nobody", "--", "pacman", "-S", "git"),
                 ("runuser", "-u", "nobody", "--", "pacman", "-U", "/etc/fstab")],
    "not root may query": [("runuser", "-u", "nobody", "--", "pacman", "-Q", "linux")],
    "sync and upgrade": [("pacman", "-Syu", "--noconfirm")],
    "install, then --needed": [SY, ("pacman", "-S", "--needed", "--noconfirm", "git", "seabios"),
                               ("pacman", "-S", "--needed", "--noconfirm", "git")],
    "unknown targets": [SY, ("pacman", "-S", "--noconfirm", "--asdeps", "lib32-glibc", "nosuch")],
    "multilib enabled, not synced": [SY, MULTILIB, ("pacman", "-S", "--noconfirm", "lib32-glibc")],
    "multilib synced, as a dependency": [MULTILIB, SY, ("pacman", "-S", "--noconfirm", "--asdeps", "lib32-glibc")],
    "deptest by provides": [SY, ("pacman", "-S", "--noconfirm", "util-linux-libs"),
                            ("pacman", "-T", "libuuid.so", "libblkid.so=1-64", "libuuid.so>2", "python<3")],
    "upgrade from files that are not packages": [("pacman", "-U", "--noconfirm", "/etc/fstab"),
                                                 ("pacman", "-U", "--noconfirm", "/etc/arch-release")],
    "upgrade from a missing file": [("pacman", "-U", "--noconfirm", "/nosuch.pkg.tar.zst")],
}


@pytest.mark.parametrize("case", CASES)
def test_the_simulated_pacman_does_what_the_real_one_does(case, world):
    base = Path(tempfile.mkdtemp(prefix="twin-", dir=world))  # pytest's tmp_path is closed to nobody
    base.chmod(0o755)
    twin = Twin(base, world)
    assert twin.effects(Path(twin.sample.root)) == twin.effects(twin.root), "the twins start alike"
    for step in CASES[case]:
        pair = twin.step(step)
        if pair is None:
            continue
        sample, real = pair
        out = sample.stdout
        if out.endswith(SIMULATED):
            out, real_out = out[:-len(SIMULATED)], transaction_output(real.stdout)
        else:
            real_out = real.stdout
        assert (sample.returncode, out, sample.stderr) == (real.returncode, real_out, real.stderr), step
        assert twin.effects(Path(twin.sample.root)) == twin.effects(twin.root), step


def test_the_translation_changes_only_these(tmp_path):
    """The sandbox's pacman.conf differs from the sample's in the lines SANDBOX_ONLY names, and nowhere else."""
    sample = init_sample(str(tmp_path / "sample")).read_text("/etc/pacman.conf")
    translated = translate_conf(sample, tmp_path).splitlines()
    kept = [line for line in sample.splitlines() if not line.startswith("DownloadUser")]
    assert len(kept) == len(sample.splitlines()) - 1 == len(translated)
    changed = {a.split("=")[0].strip() for a, b in zip(kept, translated) if a != b}
    assert changed | {"DownloadUser"} == set(SANDBOX_ONLY) | {"LocalFileSigLevel"}
