"""The install section on the sample host: plan, apply, converge, and each failure users hit with its remedy."""

import os

import pytest

from xenbook.connectors.fake import FakeHost
from xenbook.core.actions import Plan, RunCommand
from xenbook.core.commands import Command, Result
from xenbook.core.errors import HostError, PreconditionFailed
from xenbook.core.step import Step
from xenbook.engine.params import RunbookParams
from xenbook.engine.registry import run_sections
from xenbook.engine.runner import Runner
from xenbook.facts import packages as pkgfacts
from xenbook.facts import xen as xenfacts
from xenbook.sections.install.aur import AurPackageInstalled, _Build
from xenbook.sections.install.params import InstallParams
from xenbook.sections.install.steps import BuildToolsInstalled, RepoPackagesInstalled, install_steps
from xenbook.steps.failures import explain
from xenbook_sample import init_sample

BUILD = "/var/lib/xenbook/build"
QEMU_KEY = "CEACC9E15534EBABB82D3FA03353C9CEF108B584"  # saur xen-qemu/PKGBUILD validpgpkeys (Michael Roth)
XEN_FILES = ["/boot/xen.gz", "/usr/bin/xl", "/usr/bin/xenstored", "/etc/xen/xl.conf", "/etc/conf.d/xencommons",
             "/etc/conf.d/xendomains", "/usr/lib/modules-load.d/xen.conf", "/etc/xen/scripts/vif-bridge"] + [
    f"/usr/lib/systemd/system/{u}" for u in ("xenstored.service", "xenconsoled.service", "xen-init-dom0.service",
                                             "xen-qemu-dom0-disk-backend.service", "xendomains.service",
                                             "xen-watchdog.service", "proc-xen.mount")]


# the failure table, fed the messages the real tools print

@pytest.mark.parametrize("output, remedy", [
    ("error: target not found: lib32-glibc\n", "enable the multilib repository"),
    ("==> ERROR: Running makepkg as root is not allowed as it can cause permanent,\ncatastrophic damage to your "
     "system.\n", "never as root"),
    ("Cloning into 'xen'...\nfatal: unable to access 'https://aur.archlinux.org/xen.git/': Could not resolve host: "
     "aur.archlinux.org\n", "could not reach"),
    ("fatal: unable to access 'https://xenbits.xen.org/git-http/xen.git/': Failed to connect to xenbits.xen.org "
     "port 443 after 2 ms: Couldn't connect to server\n", "could not reach"),
    ("==> ERROR: A failure occurred in build().\n    Aborting...\n", "the full log is"),
    ("error: failed to init transaction (unable to lock database)\nerror: could not lock database: File exists\n",
     "pgrep -a pacman"),
    ("error: target not found: libfoo\n", "no enabled repository"),
    ("cc1: fatal error: error writing to /tmp/ccX.s: No space left on device\n", "the disk filled up"),
    ("==> Verifying source file signatures with gpg...\n    qemu-11.1.0.tar.xz ... FAILED (unknown public key "
     "3353C9CEF108B584)\n==> ERROR: One or more PGP signatures could not be verified!\n", "gpg --batch --recv-keys"),
    ("gpg: keyserver receive failed: No name\n", "--keyserver hkps://keyserver.ubuntu.com"),
    ("gpg: keyserver receive failed: Server indicated a failure\n", "--import FILE"),
    ("gpg: Fatal: can't create directory '/var/lib/xenbook/build/.gnupg': Permission denied\n", "make the home"),
])
def test_known_failures_have_remedies(output, remedy):
    assert remedy in explain(output)


def test_an_unknown_failure_has_no_remedy():
    assert explain("error: something nobody has seen\n") == ""


# no pacman at all: every package reader fails the step, naming pacman, instead of guessing "(not) installed"

@pytest.mark.parametrize("answer", [Result(127, "", "bash: line 1: pacman: command not found\n"), Result(127)])
def test_a_missing_pacman_is_an_error_for_every_reader(answer):
    host = FakeHost(commands={"pacman": answer})
    for read in (lambda: pkgfacts.installed_versions(host, ["xen"]), lambda: pkgfacts.unsatisfied(host, ["git"]),
                 lambda: xenfacts.xen_package_version(host)):
        with pytest.raises(HostError, match="pacman is missing"):
            read()


def test_a_missing_pacman_fails_the_install_steps_with_what_to_do():
    for step in (BuildToolsInstalled(), RepoPackagesInstalled(InstallParams())):
        result = Runner(FakeHost(absent=["pacman"]), dry_run=True).run([step]).steps[0]
        assert result.status == "failed" and "pacman is missing" in result.reason, result.reason
        assert "not an Arch Linux host" in result.remedy


def test_deptest_still_lists_what_is_missing():
    host = FakeHost(commands={"pacman -T git yajl": Result(127, "yajl\n")})
    assert pkgfacts.unsatisfied(host, ["git", "yajl"]) == ["yajl"]


# dry runs: a check that misses only what an earlier step would install is skipped, not failed

class Provider(Step):
    section, name, provides = "a", "Provider", ("/opt/x",)

    def plan(self, host):
        return Plan.change("install /opt/x", RunCommand(Command.of("true")))


class Needs(Step):
    section, name = "b", "Needs"

    def __init__(self, path):
        self.path = path

    def plan(self, host):
        return Plan.ok("there") if host.exists(self.path) else Plan.fail(f"{self.path} missing", missing=(self.path,))


def test_a_dry_run_skips_what_an_earlier_step_would_install():
    host = FakeHost(commands={"true": Result(0)})
    report = Runner(host, dry_run=True).run([Provider(), Needs("/opt/x")])
    assert report.steps[1].status == "skipped" and report.steps[1].reason == "would be installed by Provider: /opt/x"
    assert Runner(host, dry_run=True).run([Needs("/opt/x")]).steps[0].status == "failed"  # nothing provides it
    assert Runner(host, dry_run=True).run([Provider(), Needs("/opt/y")]).steps[1].status == "failed"
    applied = Runner(host, dry_run=False).run([Provider(), Needs("/opt/x")])  # it ran, and /opt/x is not there
    assert applied.steps[1].status == "failed"


# the sample host

@pytest.fixture
def host(tmp_path):
    return init_sample(str(tmp_path / "sample"))


def tree(root):
    return {os.path.join(d, n): os.lstat(os.path.join(d, n)).st_mtime_ns for d, _, ns in os.walk(root) for n in ns}


def apply(host, **params):
    return run_sections(host, RunbookParams(install=params), ["install"], dry_run=False)


def statuses(report):
    return {s.name: s.status for s in report.steps}


def test_fresh_sample_dry_run_plans_everything_and_writes_nothing(host):
    before = tree(host.root)
    report = run_sections(host, RunbookParams(), ["install", "boot"], dry_run=True)
    got = statuses(report)
    assert got["MultilibEnabled"] == got["AurPackageInstalled(xen)"] == "would-change"
    assert got["XenInstalled"] == got["XenImagePresent"] == "skipped" and not report.failed
    assert "pacman -Syu --noconfirm" in next(s for s in report.steps if s.name == "PackageDatabasesSynced").commands
    assert tree(host.root) == before


def test_apply_installs_xen_streams_the_build_and_converges(host):
    lines = []
    steps = install_steps(RunbookParams(install=InstallParams(xen_grub_pvh=True)))
    report = Runner(host, dry_run=False, on_line=lines.append).run(steps)
    assert not report.failed, report.summary()
    assert "[simulated] ==> Making package: xen 4.21.2-1" in "\n".join(lines)
    for path in XEN_FILES + ["/usr/lib/xen/bin/qemu-system-i386", "/usr/share/qemu/bios-256k.bin",
                             "/usr/lib/xen/boot/pvhgrub", f"{BUILD}/xen/xen-4.21.2-1-x86_64-build.log"]:
        assert host.exists(path), path
    assert not host.exists("/boot/xen.efi") and not host.exists("/usr/lib/xen/boot/pvgrub64")
    assert host.read_text("/boot/xen.gz").startswith("SIMULATED") and "vif.default.bridge" in host.read_text(
        "/etc/xen/xl.conf")
    assert "%REASON%\n1\n" in host.read_text("/var/lib/pacman/local/lib32-glibc-2.42+r17+gd7274d718e6f-1/desc")
    again = apply(host, xen_grub_pvh=True)
    assert set(statuses(again).values()) == {"ok"}
    assert next(s for s in again.steps if s.name == "AurPackageInstalled(xen)").reason == \
        "xen 4.21.2-1 is installed"


def test_uefi_hosts_get_and_need_xen_efi(tmp_path):
    host = init_sample(str(tmp_path / "uefi"), profile="uefi-systemd-boot")
    assert not apply(host, xen_qemu=False, hvm_guests=False).failed
    assert host.exists("/boot/xen.efi")
    host.remove("/boot/xen.efi")
    report = apply(host, xen_qemu=False, hvm_guests=False)
    assert [s.name for s in report.failed] == ["XenInstalled"] and "/boot/xen.efi" in report.failed[0].reason


def test_installing_xen_extracts_the_microcode_for_xen_efi_as_its_post_install_does(tmp_path):
    amd = init_sample(str(tmp_path / "amd"), profile="uefi-systemd-boot")  # amd-ucode installed
    lines = []
    steps = install_steps(RunbookParams(install=InstallParams(xen_qemu=False)))
    report = Runner(amd, dry_run=False, on_line=lines.append).run(steps)
    assert not report.failed, report.summary()
    assert "SIMULATED microcode: kernel/x86/microcode/AuthenticAMD.bin extracted from /boot/amd-ucode.img" in \
        amd.read_text("/boot/xen-efi-amd-ucode.bin")
    assert not amd.exists("/boot/xen-efi-intel-ucode.bin")
    assert "If booting via efi, copy the example /etc/xen/efi-xen.cfg to /boot/xen.cfg" in "\n".join(lines)
    for path in ("/usr/share/libalpm/scripts/xen-ucode-extract.sh", "/usr/share/libalpm/hooks/xen-amd-ucode.hook",
                 "/usr/share/libalpm/hooks/xen-intel-ucode.hook"):
        assert amd.exists(path), path
    intel = init_sample(str(tmp_path / "intel"))  # bios-grub2: intel-ucode installed
    assert not apply(intel, xen_qemu=False).failed
    assert intel.exists("/boot/xen-efi-intel-ucode.bin") and not intel.exists("/boot/xen-efi-amd-ucode.bin")


def test_the_sample_builds_a_debug_xen_from_the_real_branch(host):
    lines = []
    steps = install_steps(RunbookParams(install=InstallParams()))
    assert not Runner(host, dry_run=False, on_line=lines.append).run(steps).failed
    assert "DEBUG=y (SIMULATED: nothing is compiled)" in "\n".join(lines)
    srcinfo = host.read_text(f"{BUILD}/xen/.SRCINFO")
    assert "\tpkgver = 4.21.2\n" in srcinfo and "#branch=stable-4.21\n" in srcinfo
    assert "\tsource = xen-ucode-extract.sh\n" in srcinfo and "\tinstall = xen.install\n" in srcinfo
    assert "\tpkgver = 11.1.0\n" in host.read_text(f"{BUILD}/xen-qemu/.SRCINFO")


def ready(host):
    """Everything before the AUR builds is done (multilib, tools, build user, seabios)."""
    steps = install_steps(RunbookParams(install=InstallParams()))
    assert not Runner(host, dry_run=False).run(steps[:5]).failed
    return steps


def fault(host, **faults):
    state = host.load_state()
    state["faults"] = faults
    host.save_state(state)


def failed_step(report):
    assert len(report.failed) == 1, report.summary()
    return report.failed[0]


def test_multilib_missing_says_so(host):
    steps = ready(host)
    conf = host.read_text("/etc/pacman.conf").replace("[multilib]\nInclude", "#[multilib]\n#Include")
    host.write_atomic("/etc/pacman.conf", conf.encode())
    step = failed_step(Runner(host, dry_run=False).run(steps[5:6]))
    assert "error: target not found: lib32-glibc" in step.reason and "enable the multilib repository" in step.remedy


def test_no_network_to_the_aur_says_so(host):
    steps = ready(host)
    fault(host, offline=True)
    step = failed_step(Runner(host, dry_run=False).run(steps[5:6]))
    assert "Could not resolve host: aur.archlinux.org" in step.reason
    assert "could not reach https://aur.archlinux.org" in step.remedy


def test_no_network_to_the_sources_says_so(host):
    steps = ready(host)
    fault(host, offline=["xenbits.xen.org"])  # the AUR answers, Xen's git server does not
    step = failed_step(Runner(host, dry_run=False).run(steps[5:6]))
    assert "Could not resolve host: xenbits.xen.org" in step.reason
    assert "could not reach the source hosts in the PKGBUILD" in step.remedy


def test_a_failed_build_shows_the_log_tail_and_where_the_log_is(host):
    steps = ready(host)
    fault(host, build_fails=["xen"])
    step = failed_step(Runner(host, dry_run=False).run(steps[5:6]))
    log = f"{BUILD}/xen/xen-4.21.2-1-x86_64-build.log"
    assert "make: *** [Makefile:46: dist-tools] Error 2" in step.reason and "A failure occurred in build()" in step.reason
    assert f"the full log is {log}" in step.remedy and "Error 2" in host.read_text(log)
    assert not host.exists("/boot/xen.gz")


def test_the_build_user_gets_xen_qemus_signing_key_before_makepkg(host):
    steps = ready(host)
    assert not Runner(host, dry_run=False).run(steps[5:6]).failed  # xen: its sources are not signed
    report = Runner(host, dry_run=False).run(steps[6:7])  # xen-qemu: qemu-11.1.0.tar.xz{,.sig}, validpgpkeys
    assert not report.failed, report.summary()
    # the simulated makepkg verified qemu-11.1.0.tar.xz.sig against the key in the build user's keyring
    assert QEMU_KEY in host.read_text(f"{BUILD}/.gnupg/pubring.kbx") and host.exists("/usr/lib/xen/bin/qemu-system-i386")


def test_a_keyserver_failure_says_how_to_import_the_key_by_hand(host):
    steps = ready(host)
    assert not Runner(host, dry_run=False).run(steps[5:6]).failed
    fault(host, offline=["keyserver.ubuntu.com"])
    step = failed_step(Runner(host, dry_run=False).run(steps[6:7]))
    assert f"gpg --batch --recv-keys {QEMU_KEY} exited 2" in step.reason
    assert "gpg: keyserver receive failed: No name" in step.reason
    assert f"runuser -u xenbook-build -- gpg --batch --keyserver hkps://keyserver.ubuntu.com --recv-keys {QEMU_KEY}" \
        in step.remedy and "--import FILE" in step.remedy
    assert not host.exists("/usr/lib/xen/bin/qemu-system-i386")


def test_makepkg_without_the_key_fails_with_its_own_message_and_a_remedy(host):
    steps = ready(host)
    assert not Runner(host, dry_run=False).run(steps[5:6]).failed
    step = AurPackageInstalled("xen-qemu", InstallParams())
    step.signing_keys = lambda h, build: []  # as xenbook did before it imported validpgpkeys
    failed = failed_step(Runner(host, dry_run=False).run([step]))
    assert "qemu-11.1.0.tar.xz ... FAILED (unknown public key 3353C9CEF108B584)" in failed.reason
    assert "One or more PGP signatures could not be verified!" in failed.reason
    assert f"runuser -u xenbook-build -- gpg --batch --recv-keys {QEMU_KEY}" in failed.remedy


def test_validpgpkeys_must_be_full_fingerprints():
    info = pkgfacts.parse_srcinfo("pkgbase = x\n\tvalidpgpkeys = 3353C9CEF108B584\n\tvalidpgpkeys = --import\n"
                                  "\npkgname = x\n")
    with pytest.raises(PreconditionFailed, match="not full fingerprints .40 hex digits."):
        AurPackageInstalled("x", InstallParams()).signing_keys(FakeHost(), _Build(info))


def test_too_little_space_fails_before_building(host):
    ready(host)
    step = failed_step(Runner(host, dry_run=False).run(
        [AurPackageInstalled("xen", InstallParams(min_build_free_gib=100_000))]))
    assert "GiB free in /var/lib/xenbook/build; building xen needs 100000 GiB" in step.reason
    assert "build_dir" in step.remedy and not host.exists(f"{BUILD}/xen")


def test_a_held_pacman_lock_fails_before_pacman_runs(host):
    host.write_atomic("/var/lib/pacman/db.lck", b"")
    report = apply(host)
    step = failed_step(report)
    assert step.name == "PackageDatabasesSynced"  # the first step that would run pacman
    assert "/var/lib/pacman/db.lck" in step.reason and "pgrep -a pacman" in step.remedy
    assert not host.exists("/var/lib/pacman/sync/core.db")


def test_a_pin_the_aur_does_not_build_fails_with_what_to_do(host):
    ready(host)
    step = failed_step(apply(host, versions=["xen:4.21.1-1"]))
    assert "builds xen 4.21.2-1, not the pinned 4.21.1-1" in step.reason and "git -C" in step.remedy


def test_a_name_the_aur_does_not_have(host):
    ready(host)
    step = failed_step(Runner(host, dry_run=False).run([AurPackageInstalled("xen-nosuch", InstallParams())]))
    assert "the AUR has no package base xen-nosuch" in step.reason
