"""The install steps against the REAL pacman and makepkg, in a throwaway pacman root on this machine.

How the sandbox works: small packages (base-devel, git, seabios, yajl, and lib32-glibc in a separate multilib
repository) are built with the real makepkg as the unprivileged user nobody and put into local file repositories
with repo-add. An "AUR" of local git repositories holds a split xen PKGBUILD (xen, xen-docs) that needs lib32-glibc.
SandboxHost is this machine (LocalHost) with three redirections, so the steps' own argv run unchanged:

* every `pacman` command gets --root, --dbpath, --config, --cachedir and --logfile of the sandbox, and makepkg's
  own pacman calls (its dependency check) go through a wrapper with the same options (makepkg reads $PACMAN);
* host paths under /etc/pacman.conf, /var/lib/pacman and /var/lib/xenbook map into the sandbox, so the steps'
  reads (the lock, the sync databases) and the runner's writes (pacman.conf, backups) stay inside it;
* git fetches https://aur.archlinux.org/ from the local repositories (url.<base>.insteadOf, set in the environment).

Nothing outside the temporary folder changes. The tests need root (pacman -S and runuser do) and are skipped,
saying what is missing, without the tools: Debian's pacman-package-manager, makepkg and libarchive-tools, fakeroot,
git and util-linux's runuser."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.pacman_sandbox import BUILDER, StandIn, build_repos, make_root, needs_real_pacman, pacman_options, sh
from xenbook.connectors.rooted import LocalHost, run_local
from xenbook.core.commands import Command
from xenbook.engine.params import RunbookParams
from xenbook.engine.runner import Runner
from xenbook.sections.install.aur import AurPackageInstalled
from xenbook.sections.install.params import InstallParams
from xenbook.sections.install.steps import install_steps
from xenbook.steps.failures import explain

pytestmark = needs_real_pacman
REPOS = {"core": tuple(StandIn(n) for n in ("base-devel", "git", "seabios", "yajl")),
         "multilib": (StandIn("lib32-glibc"),)}
XEN = """pkgbase=xen
pkgname=(xen xen-docs)
pkgver=4.22.1pre
pkgrel=1
pkgdesc='Xen stand-in for xenbook tests'
arch=(any)
license=(GPL2)
makedepends=(git lib32-glibc)

package_xen() {
  depends=(yajl)
  install -Dm644 /dev/null "$pkgdir/boot/xen.gz"
  install -Dm755 /dev/null "$pkgdir/usr/bin/xl"
  install -Dm644 /dev/null "$pkgdir/usr/lib/systemd/system/xenstored.service"
}

package_xen-docs() {
  install -Dm644 /dev/null "$pkgdir/usr/share/doc/xen/README"
}
"""


@pytest.fixture(scope="module")
def world():
    """Local repositories and a local AUR, built once with the real makepkg and repo-add."""
    base = Path(tempfile.mkdtemp(prefix="xenbook-pacman-"))
    base.chmod(0o755)
    try:
        build_repos(base, REPOS)
        aur = base / "aur" / "xen.git"
        aur.mkdir(parents=True)
        (aur / "PKGBUILD").write_text(XEN)
        shutil.chown(aur, BUILDER)
        (aur / ".SRCINFO").write_text(sh("makepkg", "--printsrcinfo", user=BUILDER, cwd=str(aur)))
        shutil.chown(aur / ".SRCINFO", BUILDER)
        git = ("git", "-c", "user.name=xenbook", "-c", "user.email=tests@xenbook.invalid")
        sh("git", "init", "-q", "-b", "master", str(aur), user=BUILDER)
        sh(*git, "-C", str(aur), "add", "PKGBUILD", ".SRCINFO", user=BUILDER)
        sh(*git, "-C", str(aur), "commit", "-q", "-m", "xen stand-in", user=BUILDER)
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


class SandboxHost(LocalHost):
    """This machine, with pacman and its files redirected into root (see the module docstring)."""

    MAPPED = ("/etc/pacman.conf", "/var/lib/pacman", "/var/lib/xenbook")

    def __init__(self, world: Path, root: Path):
        super().__init__()
        self.sandbox = root
        self.options = pacman_options(root)
        wrapper = root / "pacman-sandbox"
        wrapper.write_text("#!/bin/sh\nexec pacman " + " ".join(self.options) + ' "$@"\n')
        wrapper.chmod(0o755)
        self.env = dict(os.environ, PACMAN=str(wrapper), GIT_CONFIG_COUNT="1",
                        GIT_CONFIG_KEY_0=f"url.file://{world}/aur/.insteadOf",
                        GIT_CONFIG_VALUE_0="https://aur.archlinux.org/")

    def real(self, path: str) -> str:
        if any(path == p or path.startswith(p + "/") for p in self.MAPPED):
            return f"{self.sandbox}{path}"
        return super().real(path)

    def run(self, command: Command, *, timeout=None, on_line=None):
        argv = command.argv
        if argv[0] == "pacman":
            argv = ("pacman",) + self.options + argv[1:]
        return run_local(argv, stdin=command.stdin, timeout=timeout, on_line=on_line, env=self.env)


@pytest.fixture
def sandbox(world):
    root = Path(tempfile.mkdtemp(prefix="root-", dir=world))
    make_root(root)
    (root / "etc/pacman.conf").write_text(
        "[options]\nArchitecture = auto\nSigLevel = Never\nLocalFileSigLevel = Never\n\n"
        f"[core]\nServer = file://{world}/repo/core\n")
    build = root / "build"
    build.mkdir()
    shutil.chown(build, BUILDER)
    yield SandboxHost(world, root)
    shutil.rmtree(root, ignore_errors=True)


def enable_multilib_by_hand(host: SandboxHost, world: Path) -> None:
    conf = host.sandbox / "etc/pacman.conf"
    conf.write_text(conf.read_text() + f"\n[multilib]\nServer = file://{world}/repo/multilib\n")


def params(host: SandboxHost, **more) -> InstallParams:
    return InstallParams(build_user=BUILDER, create_build_user=False, build_dir=str(host.sandbox / "build"),
                         aur_helper="none", xen_qemu=False, jobs=2, min_build_free_gib=1, **more)


def statuses(report) -> dict[str, str]:
    return {s.name: s.status for s in report.steps}


def test_install_builds_with_real_makepkg_and_skips_when_installed(sandbox, world):
    enable_multilib_by_hand(sandbox, world)
    steps = install_steps(RunbookParams(install=params(sandbox)))
    plan = Runner(sandbox, dry_run=True).run(steps)
    assert statuses(plan)["MultilibEnabled"] == "ok" and "by hand" in plan.steps[0].reason
    assert statuses(plan)["AurPackageInstalled(xen)"] == "would-change"
    assert statuses(plan)["XenInstalled"] in ("failed", "skipped")  # /boot is this machine's, not the sandbox's
    lines: list[str] = []
    report = Runner(sandbox, dry_run=False, on_line=lines.append).run(steps[:-1])
    assert not report.failed, "\n".join(f"{s.name}: {s.reason}" for s in report.failed)
    assert "==> Making package: xen 4.22.1pre-1" in "\n".join(lines), "the build output streams"
    versions = sh("pacman", *sandbox.options, "-Q")
    for line in ("base-devel 1.0-1", "git 1.0-1", "seabios 1.0-1", "lib32-glibc 1.0-1", "yajl 1.0-1",
                 "xen 4.22.1pre-1"):
        assert line + "\n" in versions
    assert "xen-docs" not in versions, "only the wanted split package is installed"
    assert "Install Reason  : Installed as a dependency" in sh("pacman", *sandbox.options, "-Qi", "lib32-glibc")
    assert (sandbox.sandbox / "boot/xen.gz").exists()
    assert list((sandbox.sandbox / "build/xen").glob("xen-4.22.1pre-1-*-package_xen.log"))
    again = Runner(sandbox, dry_run=True).run(steps[:-1])
    assert set(statuses(again).values()) == {"ok"}, statuses(again)
    assert next(s for s in again.steps if s.name == "AurPackageInstalled(xen)").reason == \
        "xen 4.22.1pre-1 is installed"


def test_multilib_missing_is_the_real_target_not_found(sandbox, world):
    sh("pacman", *sandbox.options, "-Sy")
    sh("pacman", *sandbox.options, "-S", "--noconfirm", "base-devel", "git")
    report = Runner(sandbox, dry_run=False).run([AurPackageInstalled("xen", params(sandbox))])
    step = report.failed[0]
    assert "error: target not found: lib32-glibc" in step.reason
    assert "enable the multilib repository" in step.remedy


def test_a_held_lock_fails_before_pacman_and_pacman_agrees(sandbox):
    lock = sandbox.sandbox / "var/lib/pacman/db.lck"
    lock.write_text("")
    steps = install_steps(RunbookParams(install=params(sandbox)))
    report = Runner(sandbox, dry_run=True).run(steps[2:3])  # BuildToolsInstalled
    assert report.failed and "/var/lib/pacman/db.lck" in report.failed[0].reason
    real = sandbox.run(Command.of("pacman", "-S", "--noconfirm", "git"))
    assert real.returncode == 1 and "could not lock database" in real.stderr
    assert "pgrep -a pacman" in explain(real.stderr)


def test_makepkg_as_root_is_refused_with_the_real_message(world):
    result = subprocess.run(["makepkg", "--noconfirm"], cwd=world / "aur" / "xen.git", capture_output=True,
                            text=True)
    assert result.returncode == 10 and "never as root" in explain(result.stderr)


@pytest.mark.skipif(shutil.which("gpg") is None, reason="gpg (GnuPG) is not installed")
def test_an_unknown_signing_key_fails_the_real_makepkg_as_the_sample_says():
    """Real makepkg and gpg print what the sample's simulations print, and the remedies match their output."""
    with tempfile.TemporaryDirectory(prefix="xenbook-pgp-") as folder:  # pytest's tmp_path is closed to nobody
        os.chmod(folder, 0o755)
        _check_signatures(Path(folder))


def _check_signatures(tmp_path: Path) -> None:
    signer, home, build = tmp_path / "signer", tmp_path / "home", tmp_path / "build"
    for folder in (signer, home, build):
        folder.mkdir(mode=0o700)
    env = {**os.environ, "GNUPGHOME": str(signer)}
    sh("gpg", "--batch", "--passphrase", "", "--quick-gen-key", "xenbook test <test@xenbook.invalid>", "default",
       "default", "never", env=env)
    fpr = next(line.split(":")[9] for line in sh("gpg", "--batch", "--with-colons", "--list-keys", env=env)
               .splitlines() if line.startswith("fpr:"))
    (build / "x").write_text("x\n")
    sh("tar", "cJf", str(build / "src.tar.xz"), "-C", str(build), "x")
    sh("gpg", "--batch", "--detach-sign", str(build / "src.tar.xz"), env=env)
    (build / "PKGBUILD").write_text(f"pkgname=signed\npkgver=1\npkgrel=1\narch=(any)\nsource=(src.tar.xz{{,.sig}})\n"
                                    f"sha256sums=(SKIP SKIP)\nvalidpgpkeys=('{fpr}')\npackage() {{ :; }}\n")
    builder = pwd.getpwnam(BUILDER)
    for path in (home, build, *build.iterdir()):
        os.chown(path, builder.pw_uid, builder.pw_gid)
    as_builder = ("runuser", "-u", BUILDER, "--", "env", f"HOME={home}")
    absent = run_local((*as_builder, "gpg", "--batch", "--list-keys", fpr))
    assert absent.returncode == 2 and absent.stderr.endswith("gpg: error reading key: No public key\n")
    made = run_local(("runuser", "-u", BUILDER, "--", "env", "-C", str(build), f"HOME={home}", "makepkg",
                      "--noconfirm"))
    assert made.returncode == 1 and "==> Verifying source file signatures with gpg...\n" in made.stdout
    assert made.stderr.endswith(f"    src.tar.xz ... FAILED (unknown public key {fpr[-16:]})\n"
                                "==> ERROR: One or more PGP signatures could not be verified!\n")
    assert "gpg --batch --recv-keys" in explain(made.stderr)
    refused = run_local((*as_builder, "gpg", "--batch", "--keyserver", "hkp://127.0.0.1:1", "--recv-keys", fpr))
    assert refused.returncode == 2 and "gpg: keyserver receive failed: " in refused.stderr
    assert "--import FILE" in explain(refused.stderr)
