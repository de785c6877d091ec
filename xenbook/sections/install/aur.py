"""AUR packages built the Arch way: an AUR helper when one may be used, else git, makepkg and pacman -U."""

from __future__ import annotations

import re
from dataclasses import dataclass

from xenbook.core.actions import Action, Deferred, Plan, RunCommand
from xenbook.core.commands import Command, output_tail
from xenbook.core.errors import HostError, PreconditionFailed
from xenbook.core.host import Host
from xenbook.core.step import Step
from xenbook.facts import packages as pkgfacts
from xenbook.sections.install.params import InstallParams
from xenbook.steps.failures import explain, pacman_locked, remedies

SECTION = "install"
AUR = "https://aur.archlinux.org"
BIN_DIRS = ("/usr/local/bin", "/usr/bin")
CARCH = "x86_64"
# Files each package installs that later sections rely on (XenInstalled checks them; dry runs skip on them).
PACKAGE_FILES: dict[str, tuple[str, ...]] = {
    "xen": ("/boot/xen.gz", "/boot/xen.efi", "/usr/bin/xl", "/usr/lib/systemd/system/xenstored.service"),
    "xen-qemu": ("/usr/lib/xen/bin/qemu-system-i386",),
    "xen-edk2": ("/usr/lib/xen/boot/ovmf.bin",),
    "xen-grub-pvh": ("/usr/lib/xen/boot/pvhgrub",),
    "seabios": ("/usr/share/qemu/bios-256k.bin",),
}
# More of what installing a package provides, for later sections' dry runs (XenInstalled checks PACKAGE_FILES).
ALSO_PROVIDED: dict[str, tuple[str, ...]] = {"xen": ("/etc/xen/xl.conf", "/etc/conf.d/xendomains", *(
    f"/usr/lib/systemd/system/{u}" for u in ("xenconsoled.service", "xen-init-dom0.service",
                                             "xen-qemu-dom0-disk-backend.service", "xendomains.service")))}
PKGBASE = {"xen-grub-pvh": "xen-grub"}  # split packages live in their pkgbase's AUR repository
# PKGBUILD switches read from the environment: build only the GRUB image that is wanted
PKGBUILD_ENV = {"xen-grub": ("build_pvh=true", "build_pv32=false", "build_pv64=false")}
HELPER_ARGS = {"paru": ("-S", "--needed", "--noconfirm", "--skipreview"),
               "yay": ("-S", "--needed", "--noconfirm", "--answerdiff", "None", "--answerclean", "None")}
GIB = 1024 ** 3
FINGERPRINT = re.compile(r"[0-9A-Fa-f]{40}")  # makepkg accepts only full fingerprints in validpgpkeys


@dataclass
class _Build:
    """What the deferred parts of one build learn as they run."""

    srcinfo: pkgfacts.SrcInfo | None = None


class AurPackageInstalled(Step):
    """The AUR package is installed (at the pinned version when versions pins one), built as the build user."""

    section = SECTION

    def __init__(self, package: str, params: InstallParams):
        self.package, self.params = package, params
        self.name = self.named(package)
        self.provides = PACKAGE_FILES.get(package, ()) + ALSO_PROVIDED.get(package, ())
        self.pkgbase = PKGBASE.get(package, package)
        self.dir = f"{params.build_dir}/{self.pkgbase}"
        self.user = params.build_user

    # commands
    def as_user(self, *argv: str, cwd: str | None = None, env: tuple[str, ...] = ()) -> Command:
        """argv run as the build user (runuser), in cwd (env -C) with environment variables env."""
        return Command.of("runuser", "-u", self.user, "--", "env", "-C", cwd or self.dir, *env, *argv)

    def build_env(self, host: Host) -> tuple[str, ...]:
        jobs = self.params.jobs or host.fact(pkgfacts.cpu_count)
        return (f"MAKEFLAGS=-j{jobs}",) + PKGBUILD_ENV.get(self.pkgbase, ())

    def log_path(self, info: pkgfacts.SrcInfo | None) -> str:
        version = info.full_version if info else "VERSION"
        return f"{self.dir}/{self.pkgbase}-{version}-{CARCH}-build.log"

    def fixes(self, info: pkgfacts.SrcInfo | None = None, source: str = "") -> tuple[tuple[str, str], ...]:
        keys = " ".join(info.base.get("validpgpkeys", [])) if info else ""
        return remedies(source=source or "the source hosts in the PKGBUILD", dir=self.dir,
                        log=self.log_path(info), user=self.user, keys=keys or "FINGERPRINT")

    # plan
    def plan(self, host: Host) -> Plan:
        have = pkgfacts.installed_versions(host, [self.package])[self.package]
        wanted = pkgfacts.pins(self.params.versions).get(self.package)
        if have and (wanted is None or pkgfacts.version_matches(have, wanted)):
            return Plan.ok(f"{self.package} {have} is installed")
        why = f"{self.package} {have} is installed, {wanted} is pinned" if have else f"{self.package} is not installed"
        locked = pacman_locked(host)
        if locked:
            return locked
        where, avail = pkgfacts.free_bytes(host, self.params.build_dir)
        if avail < self.params.min_build_free_gib * GIB:
            return Plan.fail(
                f"only {avail / GIB:.1f} GiB free in {where}; building {self.package} needs "
                f"{self.params.min_build_free_gib} GiB (min_build_free_gib)",
                f"free space on the filesystem holding {where}, or set build_dir to a folder on a larger one")
        helper, note, refused = self.helper(host)
        if refused is not None:
            return refused
        if helper:
            command = self.as_user(helper, *HELPER_ARGS[helper], self.package, cwd=self.params.build_dir,
                                   env=self.build_env(host))
            return Plan.change(f"{why}: {helper} builds and installs it as {self.user}",
                               RunCommand(command, why, remedies=self.fixes(), tail=25))
        if host.exists(self.dir) and not host.exists(f"{self.dir}/.git"):
            return Plan.fail(f"{self.dir} exists but is not a git clone of {AUR}/{self.pkgbase}.git",
                             f"move {self.dir} away (xenbook clones it again), then run again")
        return Plan.change(f"{why}: build it from {AUR}/{self.pkgbase}.git in {self.dir} as {self.user}; "
                           f"makepkg --log keeps the build log there{note}", *self.makepkg_actions(host, wanted))

    def helper(self, host: Host) -> tuple[str | None, str, Plan | None]:
        """(the AUR helper to use or None, a note on why not, a failed plan when the choice cannot work)."""
        choice = self.params.aur_helper
        if choice == "none":
            return None, "", None
        names = ("paru", "yay") if choice == "auto" else (choice,)
        found = next((n for n in names if any(host.exists(f"{d}/{n}") for d in BIN_DIRS)), None)
        if found is None:
            return None, "", (None if choice == "auto" else Plan.fail(
                f"aur_helper is {choice}, but {choice} is not installed", f"install {choice}, or set aur_helper "
                "to auto (xenbook then builds with git and makepkg) or none"))
        if host.run(Command.of("runuser", "-u", self.user, "--", "sudo", "-n", "-l", "pacman")).ok:
            return found, "", None
        why = f"{found} is installed, but {self.user} may not run pacman through sudo without a password"
        if choice == "auto":
            return None, f" ({why})", None
        return None, "", Plan.fail(why, f"allow it (e.g. a file in /etc/sudoers.d with '{self.user} ALL=(root) "
                                        "NOPASSWD: /usr/bin/pacman'), or set aur_helper to none")

    def has_commit(self, host: Host) -> bool:
        """True when the clone in self.dir checked out a commit: its HEAD names one, or names a branch that git
        wrote (as a file under .git/refs, in .git/packed-refs, or in a reftable). A clone killed part way has
        .git but no commit yet (so has a clone of an empty repository)."""
        git = f"{self.dir}/.git"
        head = (host.read_text(f"{git}/HEAD") or "").strip()
        if not head.startswith("ref: "):
            return bool(re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", head))
        ref = head[5:].strip()
        packed = (host.read_text(f"{git}/packed-refs") or "").split()
        return bool((host.read_text(f"{git}/{ref}") or "").strip()) or ref in packed or host.exists(f"{git}/reftable")

    def makepkg_actions(self, host: Host, wanted: str | None) -> list[Action]:
        build = _Build()
        clone = Command.of("runuser", "-u", self.user, "--", "env", "-C", self.params.build_dir,
                           "git", "clone", f"{AUR}/{self.pkgbase}.git", self.pkgbase)
        again: list[Action] = []
        if not host.exists(f"{self.dir}/.git"):  # cloned from build_dir: git returns to the folder it started in
            fetch = clone
        elif not self.has_commit(host):  # a clone stopped part way (killed, or the network went): start it over
            fetch = clone
            again = [RunCommand(Command.of("runuser", "-u", self.user, "--", "rm", "-r", "-f", "--", self.dir),
                                f"{self.dir}/.git has no commit: a clone stopped part way; remove it to clone again")]
        elif (host.read_text(f"{self.dir}/.git/HEAD") or "").startswith("ref: "):
            fetch = Command.of("runuser", "-u", self.user, "--", "git", "-C", self.dir, "pull", "--ff-only")
        else:  # a detached HEAD: someone checked out a commit (e.g. for a pinned version); build it as it is
            fetch = None
        make = self.as_user("makepkg", "--noconfirm", "--log", env=self.build_env(host))
        actions: list[Action] = again + ([] if fetch is None else [
            RunCommand(fetch, f"fetch the PKGBUILD of {self.pkgbase}", remedies=self.fixes(source=AUR))])
        return actions + [
            Deferred(f"pacman -S --needed --noconfirm --asdeps <what {self.dir}/PKGBUILD depends on and is "
                     "missing: makepkg --printsrcinfo, then pacman -T>",
                     lambda h: self.dependencies(h, build, wanted)),
            Deferred(f"runuser -u {self.user} -- gpg --batch --recv-keys <the validpgpkeys of "
                     f"makepkg --printsrcinfo that gpg --list-keys does not find in {self.user}'s keyring>",
                     lambda h: self.signing_keys(h, build)),
            Deferred(make.display(), lambda h: [RunCommand(make, f"build {self.pkgbase}", ok_codes=(0, 13),
                                                           remedies=self.fixes(build.srcinfo), tail=25)]),
            Deferred(f"pacman -U --noconfirm --needed <the {self.package} package file makepkg --packagelist names>",
                     lambda h: self.installation(h, build)),
        ]

    # deferred parts: they run after the clone (and the build) exist
    def read(self, host: Host, *argv: str) -> str:
        command = self.as_user(*argv, env=PKGBUILD_ENV.get(self.pkgbase, ()))
        result = host.run(command)
        if not result.ok:
            output = result.stdout + result.stderr
            fix = explain(output, dir=self.dir, user=self.user) or f"fix {self.dir}/PKGBUILD, then run again"
            raise HostError(f"{command} exited {result.returncode}{output_tail(output)}", remedy=fix)
        return result.stdout

    def dependencies(self, host: Host, build: _Build, wanted: str | None) -> list[Action]:
        if not host.exists(f"{self.dir}/PKGBUILD"):
            raise PreconditionFailed(f"{AUR}/{self.pkgbase}.git has no PKGBUILD: the AUR has no package base "
                                     f"{self.pkgbase}", f"check the name on {AUR}/packages/{self.package}")
        try:
            info = build.srcinfo = pkgfacts.parse_srcinfo(self.read(host, "makepkg", "--printsrcinfo"))
        except ValueError as e:
            raise PreconditionFailed(f"makepkg --printsrcinfo in {self.dir}: {e}", "fix the PKGBUILD") from None
        if self.package not in info.packages:
            raise PreconditionFailed(f"{self.dir}/PKGBUILD builds {', '.join(info.packages)}, not {self.package}",
                                     f"check the package name and its pkgbase on {AUR}")
        if wanted and not pkgfacts.version_matches(info.full_version, wanted):
            raise PreconditionFailed(
                f"{self.dir}/PKGBUILD builds {self.package} {info.full_version}, not the pinned {wanted}",
                f"check out the AUR commit that builds {wanted} (git -C {self.dir} log --oneline -- PKGBUILD, "
                f"then git -C {self.dir} checkout COMMIT as {self.user}), or change versions")
        missing = pkgfacts.unsatisfied(host, info.build_deps(self.package))
        if not missing:
            return []
        return [RunCommand(Command.of("pacman", "-S", "--needed", "--noconfirm", "--asdeps", *missing),
                           f"what {self.pkgbase} needs to build", remedies=self.fixes(info, "the package mirrors"))]

    def gpg(self, *argv: str) -> Command:
        """gpg as the build user: makepkg checks signed sources against that user's keyring."""
        return Command.of("runuser", "-u", self.user, "--", "gpg", "--batch", *argv)

    def lacks_key(self, host: Host, fingerprint: str) -> bool:
        """True when gpg --list-keys does not find fingerprint in the build user's keyring."""
        command = self.gpg("--list-keys", fingerprint)
        result = host.run(command)
        if result.ok:
            return False
        if result.returncode == 2:  # gpg: error reading key: No public key
            return True
        raise HostError(f"{command} exited {result.returncode}: {(result.stderr or result.stdout).strip()}"
                        + ("; gpg (package gnupg) is missing" if result.returncode == 127 else ""))

    def signing_keys(self, host: Host, build: _Build) -> list[Action]:
        """gpg --recv-keys of the PKGBUILD's validpgpkeys (from makepkg --printsrcinfo) the build user lacks."""
        info = build.srcinfo
        keys = info.base.get("validpgpkeys", []) if info else []
        odd = [k for k in keys if not FINGERPRINT.fullmatch(k)]
        if odd:
            raise PreconditionFailed(f"{self.dir}/PKGBUILD's validpgpkeys holds {', '.join(odd)}, not full "
                                     "fingerprints (40 hex digits), which makepkg requires",
                                     f"fix the PKGBUILD or ask its maintainer on {AUR}/packages/{self.package}")
        missing = [k for k in keys if self.lacks_key(host, k)]
        if not missing:
            return []
        return [RunCommand(self.gpg("--recv-keys", *missing),
                           f"makepkg verifies {self.pkgbase}'s signed sources with {', '.join(missing)}",
                           remedies=remedies(dir=self.dir, user=self.user, keys=" ".join(missing)))]

    def installation(self, host: Host, build: _Build) -> list[Action]:
        files = pkgfacts.package_files(self.read(host, "makepkg", "--packagelist"), self.package)
        files = [f for f in files if host.exists(f)]
        if not files:
            raise PreconditionFailed(f"makepkg left no {self.package} package file in {self.dir}",
                                     f"read the build log {self.log_path(build.srcinfo)}")
        return [RunCommand(Command.of("pacman", "-U", "--noconfirm", "--needed", *files), f"install {self.package}",
                           remedies=self.fixes(build.srcinfo, "the package mirrors"))]


def aur_packages(params: InstallParams) -> list[str]:
    """The AUR packages params ask for, in build order (xen first: the others depend on it)."""
    wanted = {"xen": True, "xen-qemu": params.xen_qemu, "xen-edk2": params.xen_edk2,
              "xen-grub-pvh": params.xen_grub_pvh}
    return [name for name, on in wanted.items() if on]
