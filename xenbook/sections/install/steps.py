"""The install section: [multilib], build tools, a build user, Xen and its companions from the AUR, checked."""

from __future__ import annotations

from typing import TYPE_CHECKING

from xenbook.core.actions import Plan, RunCommand
from xenbook.core.commands import Command
from xenbook.core.errors import ParameterError, PreconditionFailed
from xenbook.core.host import Host
from xenbook.core.step import FileStep, Regeneration, Step
from xenbook.edits import blocks
from xenbook.facts import boot as bootfacts
from xenbook.facts import packages as pkgfacts
from xenbook.sections.install.aur import PACKAGE_FILES, SECTION, AurPackageInstalled, aur_packages
from xenbook.sections.install.params import InstallParams
from xenbook.steps.failures import pacman_locked, remedies

if TYPE_CHECKING:  # the whole parameter set is assembled above the sections, from each one's model
    from xenbook.engine.params import RunbookParams

PACMAN_CONF = "/etc/pacman.conf"
MULTILIB = "[multilib]\nInclude = /etc/pacman.d/mirrorlist\n"
BUILD_TOOLS = ("base-devel", "git")


def _pacman(*args: str, why: str) -> RunCommand:
    return RunCommand(Command.of("pacman", *args), why, remedies=remedies(source="the package mirrors"))


def _install(host: Host, packages: list[str], missing: list[str]) -> Plan:
    """`pacman -S --needed` of packages because missing are not installed, unless pacman's database is locked."""
    locked = pacman_locked(host)
    if locked:
        return locked
    why = f"{', '.join(missing)} not installed"
    return Plan.change(why, _pacman("-S", "--needed", "--noconfirm", *packages, why=why))


class MultilibEnabled(FileStep):
    """/etc/pacman.conf enables multilib (xen's makedepends include lib32-glibc), in a xenbook block or by hand."""

    section, path, validator = SECTION, PACMAN_CONF, "pacman-conf"
    triggers = ("PackageDatabasesSynced",)
    by_hand = False

    def render(self, host: Host, old: str | None) -> str:
        if old is None:
            raise PreconditionFailed(f"{PACMAN_CONF} is missing: pacman is not installed or this is not Arch Linux",
                                     "run the runbook on an Arch Linux host (pacman -Q pacman must work)")
        outside = blocks.remove_block(old, "multilib")
        self.by_hand = "multilib" in pkgfacts.active_sections(outside)
        if self.by_hand:
            return outside  # a second [multilib] section would register the repository twice
        body = "# Managed by xenbook: the Xen build needs lib32-glibc from [multilib].\n" + MULTILIB
        return blocks.ensure_block(old, "multilib", body)

    def ok_reason(self) -> str:
        if self.by_hand:
            return f"the multilib repository is enabled by hand in {PACMAN_CONF}"
        return f"the multilib repository is enabled in {PACMAN_CONF} (xenbook block)"


class PackageDatabasesSynced(Regeneration):
    """Every enabled repository has its package database (a newly enabled multilib has none yet)."""

    section = SECTION
    # Arch supports no partial upgrades: refreshing the databases means upgrading the system with them.
    command = Command.of("pacman", "-Syu", "--noconfirm")

    def stale(self, host: Host) -> str | None:
        repos = [r for r in pkgfacts.active_sections(host.read_text(PACMAN_CONF) or "") if r != "options"]
        missing = [r for r in repos if not host.exists(f"{pkgfacts.PACMAN_SYNC}/{r}.db")]
        return f"no package database yet for {', '.join(missing)}" if missing else None

    def plan(self, host: Host) -> Plan:
        plan = super().plan(host)
        if not plan.actions:
            return Plan.ok("the package databases of every enabled repository are present")
        locked = pacman_locked(host)
        if locked:
            return locked
        why = plan.reason + " (pacman -Syu: Arch supports no partial upgrades, so refreshing also upgrades)"
        return Plan.change(why, _pacman("-Syu", "--noconfirm", why=why))


class BuildToolsInstalled(Step):
    """base-devel and git are installed: makepkg needs the first, cloning from the AUR the second."""

    section = SECTION

    def plan(self, host: Host) -> Plan:
        missing = pkgfacts.unsatisfied(host, BUILD_TOOLS)
        if not missing:
            return Plan.ok(f"{' and '.join(BUILD_TOOLS)} are installed")
        return _install(host, list(BUILD_TOOLS), missing)


class BuildUserExists(Step):
    """An unprivileged user (makepkg refuses root) exists and can write the build folder."""

    section = SECTION

    def __init__(self, params: InstallParams):
        self.user, self.home, self.create = params.build_user, params.build_dir, params.create_build_user

    def own(self) -> RunCommand:
        """The build folder as useradd --create-home makes it (mode 0700: Arch's login.defs sets UMASK 077), so
        that a run killed between useradd and this command ends where an uninterrupted one does."""
        return RunCommand(Command.of("install", "-d", "-o", self.user, "-m", "0700", self.home),
                          f"{self.user} builds in {self.home}")

    def plan(self, host: Host) -> Plan:
        user, home = self.user, self.home
        found = pkgfacts.account(host, user)
        if found is None:
            useradd = ("useradd", "--system", "--create-home", "--home-dir", home, "--shell", "/usr/bin/nologin", user)
            if not self.create:
                return Plan.fail(f"the build user {user} does not exist",
                                 f"create it ({' '.join(useradd)}) or set create_build_user")
            actions = [RunCommand(Command.of(*useradd), f"makepkg builds as {user}, never as root")]
            if host.exists(home):  # useradd leaves an existing home to its owner
                actions.append(self.own())
            return Plan.change(f"create the system user {user} with the build folder {home} as its home", *actions)
        if found.uid == 0:
            return Plan.fail(f"the build user {user} has uid 0: makepkg refuses to build as root",
                             "set build_user to an unprivileged user (or let xenbook create xenbook-build)")
        if host.exists(home) and host.run(Command.of("runuser", "-u", user, "--", "test", "-w", home)).ok:
            return Plan.ok(f"{user} (uid {found.uid}) exists and can write {home}")
        why = f"{home} does not exist" if not host.exists(home) else f"{user} cannot write {home}"
        return Plan.change(why, self.own())


def check_build_dir(params: RunbookParams, host: Host) -> None:
    """ParameterError when the build folder exists and is not already the build user's (or, before the user
    exists, an empty folder): the build user is given it (useradd's home, install -d -o), so an existing folder of
    the system's or another user's is never taken."""
    p = params.install
    found = host.stat(p.build_dir)
    if found is None:
        return
    user = pkgfacts.account(host, p.build_user) if found.kind == "dir" else None
    if user is None and found.kind == "dir" and not host.listdir(p.build_dir):
        return  # empty: nothing in it is handed over (a useradd killed after making the home leaves one)
    if user is not None and user.uid != 0 and host.run(
            Command.of("runuser", "-u", p.build_user, "--", "test", "-O", p.build_dir)).ok:
        return
    if found.kind != "dir":
        why = "exists on the host and is not a folder"
    elif user is None:
        why = f"exists on the host and the build user {p.build_user} does not exist yet"
    else:
        why = f"exists on the host and is not {p.build_user}'s (test -O fails as {p.build_user})"
    raise ParameterError([("install.build_dir", p.build_dir, (
        f"{why}; the build user is given its build folder, so it must be new or "
        "already the build user's: name a folder that does not exist yet, e.g. /var/lib/xenbook/build"))])


class RepoPackagesInstalled(Step):
    """The packages wanted from Arch's official repositories (seabios for HVM guests) are installed."""

    section = SECTION

    def __init__(self, params: InstallParams):
        self.names = ["seabios"] if params.hvm_guests else []
        self.pins = pkgfacts.pins(params.versions)
        self.provides = tuple(p for n in self.names for p in PACKAGE_FILES.get(n, ()))

    def plan(self, host: Host) -> Plan:
        if not self.names:
            return Plan.ok("no packages wanted from the official repositories (hvm_guests is off)")
        have = pkgfacts.installed_versions(host, self.names)
        for name in self.names:
            wanted = self.pins.get(name)
            if have[name] and wanted and not pkgfacts.version_matches(have[name], wanted):
                return Plan.fail(f"{name} {have[name]} is installed, {wanted} is pinned",
                                 "pacman -S installs only the repositories' current version: install the pinned "
                                 f"one by hand (pacman -U with {name}'s package file from /var/cache/pacman/pkg "
                                 "or the Arch Linux Archive), or change versions")
        missing = [n for n in self.names if not have[n]]
        if not missing:
            return Plan.ok(", ".join(f"{n} {have[n]}" for n in self.names) + " installed")
        return _install(host, missing, missing)


class XenInstalled(Step):
    """The files later sections need are on disk: the hypervisor, xl, xenstored's unit, the wanted companions."""

    section = SECTION

    def __init__(self, params: InstallParams):
        self.packages = aur_packages(params) + (["seabios"] if params.hvm_guests else [])

    def wanted(self, host: Host) -> list[str]:
        uefi = bootfacts.boot_mode(host) == "uefi"
        return [p for name in self.packages for p in PACKAGE_FILES.get(name, ())
                if uefi or p != "/boot/xen.efi"]

    def plan(self, host: Host) -> Plan:
        wanted = self.wanted(host)
        missing = tuple(p for p in wanted if not host.exists(p))
        if missing:
            return Plan.fail(f"missing after the install: {', '.join(missing)}",
                             "read the output of the AurPackageInstalled steps above; reinstall the package "
                             "that owns the file (pacman -Qo shows the owner of a file that exists)",
                             missing=missing)
        version = pkgfacts.installed_versions(host, ["xen"])["xen"]
        return Plan.ok(f"xen {version} is installed: {', '.join(wanted)}")


def install_steps(params: RunbookParams, host: Host | None = None) -> list[Step]:
    """The install section's steps for params.install, in order."""
    p = params.install
    return ([MultilibEnabled(), PackageDatabasesSynced(), BuildToolsInstalled(), BuildUserExists(p),
             RepoPackagesInstalled(p)]
            + [AurPackageInstalled(name, p) for name in aur_packages(p)]
            + [XenInstalled(p)])
