"""The sample host: a SIMULATED Arch Linux machine in a directory, with simulated programs."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import stat
from importlib import resources

import pytest

from tests.test_boot_paths import run as run_cli
from xenbook.connectors.targets import open_host
from xenbook.core.commands import Command
from xenbook.core.errors import ParameterError, TargetError
from xenbook.facts import boot
from xenbook_sample import PROFILES, SampleHost, init_sample
from xenbook_sample.programs import PROGRAMS

ROOT_UUID = "56c87129-9ea7-46fb-a724-039e34e14b29"
BOOT_UUID = "0f87edb0-6e3e-4dae-8609-5376e17d0957"
GRUB_SCRIPT_CHECK = shutil.which("grub-script-check")


@pytest.fixture
def host(tmp_path):
    return init_sample(str(tmp_path / "sample"))


def run(host, *argv, stdin=None):
    return host.run(Command.of(*argv, stdin=stdin))


def snapshot(root):
    """Every entry under root: kind, mode, mtime and content (or link target)."""
    out = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                body = os.readlink(path)
            elif stat.S_ISDIR(st.st_mode):
                body = None
            else:
                with open(path, "rb") as f:
                    body = f.read()
            out[os.path.relpath(path, root)] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_mtime, body)
    return out


def grub_cfg(host):
    return host.read_text("/boot/grub/grub.cfg")


def mkconfig(host):
    result = run(host, "grub-mkconfig", "-o", "/boot/grub/grub.cfg")
    assert result.ok, result.stderr
    return grub_cfg(host)


def install_xen(host):
    """Xen as the install section leaves it (a new sample host starts without it)."""
    from xenbook.engine.params import RunbookParams
    from xenbook.engine.registry import run_sections
    params = RunbookParams(install={"xen_qemu": False, "hvm_guests": False})
    report = run_sections(host, params, ["install"], dry_run=False)
    assert not report.failed, report.summary()


def check_script(host, path="/boot/grub/grub.cfg"):
    if GRUB_SCRIPT_CHECK is None:
        return
    result = host.exec_validator((GRUB_SCRIPT_CHECK, "{path}"), path)
    assert result.ok, result.stderr + result.stdout


# creating and opening

def test_init_is_deterministic_but_for_the_machine_id(tmp_path):
    """Two sample hosts are the same but for /etc/machine-id: a new random one each, as systemd-machine-id-setup
    makes it, so guests of one name on two sample hosts get MACs and UUIDs of their own."""
    a, b = init_sample(str(tmp_path / "a")), init_sample(str(tmp_path / "b"))
    first, second = snapshot(a.root), snapshot(b.root)
    ids = first.pop("etc/machine-id"), second.pop("etc/machine-id")
    assert first == second
    assert ids[0] != ids[1]
    assert "boot/grub/grub.cfg" in first and "proc/config.gz" in first


def test_open_creates_a_missing_or_empty_directory_and_reopens(tmp_path):
    new = SampleHost.open(str(tmp_path / "new"))
    assert new.simulated and new.target == "sample:" + str(tmp_path / "new")
    assert "SIMULATED" in new.label
    (tmp_path / "empty").mkdir()
    assert SampleHost.open(str(tmp_path / "empty")).exists("/etc/default/grub")
    new.write_atomic("/etc/hostname", b"changed\n")
    assert SampleHost.open(str(tmp_path / "new")).read_text("/etc/hostname") == "changed\n"


def test_open_and_init_refuse_a_directory_that_is_not_a_sample(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    (tmp_path / "file").write_text("x")
    for path in (tmp_path / "mine", tmp_path / "file"):
        with pytest.raises(TargetError):
            SampleHost.open(str(path))
        with pytest.raises(TargetError):
            init_sample(str(path), force=True)
    assert os.listdir(tmp_path / "mine") == ["notes.txt"]
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_init_replaces_a_sample_only_with_force(tmp_path):
    host = init_sample(str(tmp_path / "s"))
    host.write_atomic("/etc/hostname", b"changed\n")
    with pytest.raises(TargetError):
        init_sample(host.root)
    init_sample(host.root, force=True)
    assert host.read_text("/etc/hostname") == "sample-arch\n"
    with pytest.raises(ParameterError):
        init_sample(str(tmp_path / "other"), profile="no-such-profile")


def _age(root, made) -> None:
    """Make root's sample host look as if another xenbook version made it (sample format made)."""
    path = os.path.join(root, ".xenbook-sample", "state.json")
    with open(path, encoding="utf-8") as f:
        state = json.load(f)
    state["format"] = made
    with open(path, "w", encoding="utf-8") as f:
        json.dump(state, f)


@pytest.mark.parametrize("made", [1, 99])
def test_a_sample_made_by_another_version_is_refused_with_the_command_that_recreates_it(tmp_path, made):
    host = init_sample(str(tmp_path / "s"), profile="arch-guest")
    host.write_atomic("/etc/hostname", b"mine\n")
    _age(host.root, made)
    with pytest.raises(TargetError, match=rf"sample format {made}; .*xenbook sample init {host.root} --force "
                                          r"--profile arch-guest"):
        open_host(f"sample:{host.root}")
    assert host.read_text("/etc/hostname") == "mine\n", "nothing was changed"
    code, _, err = run_cli("reboot", "--target", f"sample:{host.root}")
    assert code != 0 and "--force" in err


def test_the_default_sample_made_by_another_version_is_recreated(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    host = open_host("sample")
    host.write_atomic("/etc/hostname", b"old\n")
    _age(host.root, 1)
    again = open_host("sample")
    assert again.root == host.root and again.read_text("/etc/hostname") == "sample-arch\n"
    assert "recreating the default sample host" in capsys.readouterr().err
    assert open_host("sample").read_text("/etc/hostname") == "sample-arch\n"


def test_readme_and_state_say_simulated(host):
    readme = host.read_text("/.xenbook-sample/README.txt")
    assert "SIMULATED Arch Linux host made by xenbook" in readme and "Nothing in it is a real machine" in readme
    raw = host.read_text("/.xenbook-sample/state.json")
    state = json.loads(raw)
    assert state["simulated"] is True and "SIMULATED" in state["notice"]
    assert raw == json.dumps(state, indent=2, sort_keys=True) + "\n"
    assert state["profile"] == "bios-grub2" and "bios-grub2" in PROFILES


def test_tree_holds_a_fresh_arch_install(host):
    assert "ID=arch" in host.read_text("/etc/os-release")
    assert host.read_bytes("/etc/arch-release") == b""
    assert f"UUID={ROOT_UUID}\t/ " in host.read_text("/etc/fstab")
    grub_default = host.read_text("/etc/default/grub")
    assert 'GRUB_CMDLINE_LINUX_DEFAULT="loglevel=3 quiet"' in grub_default and "GRUB_DEFAULT=0\n" in grub_default
    assert "\n#[multilib]\n#Include = /etc/pacman.d/mirrorlist\n" in host.read_text("/etc/pacman.conf")
    assert "\nHOOKS=(base udev autodetect microcode" in host.read_text("/etc/mkinitcpio.conf")
    assert host.read_text("/etc/grub.d/40_custom").startswith("#!/bin/sh\nexec tail -n +3 $0\n")
    for name in ("00_header", "10_linux", "20_linux_xen", "30_os-prober", "40_custom", "41_custom"):
        assert host.stat(f"/etc/grub.d/{name}").mode == 0o755
    assert host.stat("/boot/grub/grubenv").mode == 0o644
    for name in ("vmlinuz-linux", "initramfs-linux.img", "initramfs-linux-fallback.img", "intel-ucode.img"):
        assert host.read_text(f"/boot/{name}").startswith("SIMULATED")
    assert not host.exists("/boot/xen.gz"), "a new sample host starts without Xen: the install section builds it"
    assert not host.exists("/sys/firmware/efi")
    assert host.read_text("/usr/lib/modules/6.17.9-arch1-1/pkgbase") == "linux\n"
    desc = host.read_text("/var/lib/pacman/local/linux-6.17.9.arch1-1/desc")
    assert desc.startswith("%NAME%\nlinux\n\n%VERSION%\n6.17.9.arch1-1\n") and "%ARCH%\nx86_64\n" in desc
    assert not [n for n in host.listdir("/var/lib/pacman/local") if n.startswith("xen")]


def test_proc_files_read_like_a_real_kernel(host):
    cpuinfo = host.read_text("/proc/cpuinfo")
    assert cpuinfo.count("processor\t: ") == 8 and "model name\t: Intel(R) Xeon(R) E-2288G" in cpuinfo
    flags = next(line for line in cpuinfo.splitlines() if line.startswith("flags\t\t: ")).split()
    assert "vmx" in flags and "ept" in flags
    mem = dict(line.split(":", 1) for line in host.read_text("/proc/meminfo").splitlines())
    assert 15 * 1024 ** 2 < int(mem["MemTotal"].split()[0]) <= 16 * 1024 ** 2
    assert f"root=UUID={ROOT_UUID} rw" in host.read_text("/proc/cmdline")
    shipped = resources.files("xenbook_sample").joinpath("files", "kernel-config").read_bytes()
    assert gzip.decompress(host.read_bytes("/proc/config.gz")) == shipped  # the kernel's config, gzipped as Linux does
    config = boot.kernel_config(host)
    for key, value in (("CONFIG_XEN", "y"), ("CONFIG_XEN_DOM0", "y"), ("CONFIG_XEN_PVH", "y"),
                       ("CONFIG_XEN_BLKDEV_BACKEND", "m"), ("CONFIG_XEN_NETDEV_BACKEND", "m"),
                       ("CONFIG_KERNEL_ZSTD", "y"), ("CONFIG_IKCONFIG_PROC", "y")):
        assert config[key] == value
    assert boot.dom0_capable(config) is True


# simulated programs

def test_uname(host):
    assert run(host, "uname", "-r").stdout == "6.17.9-arch1-1\n"
    assert run(host, "/usr/bin/uname", "-m").stdout == "x86_64\n"
    assert run(host, "uname", "-n").stdout == "sample-arch\n"
    assert run(host, "uname").stdout == "Linux\n"
    everything = run(host, "uname", "-a").stdout.split()
    assert everything[:3] == ["Linux", "sample-arch", "6.17.9-arch1-1"] and everything[-2:] == ["x86_64", "GNU/Linux"]
    assert run(host, "uname", "-rm").stdout == "6.17.9-arch1-1 x86_64\n"
    bad = run(host, "uname", "-Z")
    assert bad.returncode == 1 and "invalid option -- 'Z'" in bad.stderr


def test_findmnt_json_list(host):
    result = run(host, "findmnt", "-J", "-l", "-o", "TARGET,SOURCE,FSTYPE,UUID,OPTIONS")
    rows = {r["target"]: r for r in json.loads(result.stdout)["filesystems"]}
    assert rows["/"] == {"target": "/", "source": "/dev/sda3", "fstype": "ext4", "uuid": ROOT_UUID,
                         "options": "rw,relatime"}
    assert rows["/boot"]["source"] == "/dev/sda2" and rows["/boot"]["uuid"] == BOOT_UUID
    assert rows["/proc"]["uuid"] is None
    subset = json.loads(run(host, "findmnt", "-J", "-l", "-o", "UUID,TARGET").stdout)["filesystems"]
    assert list(subset[0]) == ["uuid", "target"]
    tree = json.loads(run(host, "findmnt", "-J").stdout)["filesystems"]
    assert tree[0]["target"] == "/" and "/boot" in [c["target"] for c in tree[0]["children"]]


def test_findmnt_columns_and_targets(host):
    assert run(host, "findmnt", "-n", "-o", "SOURCE", "/").stdout == "/dev/sda3\n"
    assert run(host, "findmnt", "-n", "-o", "SOURCE,FSTYPE", "/boot").stdout.split() == ["/dev/sda2", "ext4"]
    assert run(host, "findmnt", "-no", "UUID", "--target", "/boot/grub").stdout == BOOT_UUID + "\n"
    missing = run(host, "findmnt", "-n", "-o", "SOURCE", "/usr")
    assert (missing.returncode, missing.stdout) == (1, "")
    table = run(host, "findmnt", "-o", "TARGET,SOURCE", "/boot").stdout.splitlines()
    assert table[0].split() == ["TARGET", "SOURCE"] and table[1].split() == ["/boot", "/dev/sda2"]
    assert run(host, "findmnt", "-o", "NOPE").returncode == 1


def test_facts_read_the_sample_like_a_real_host(host):
    layout = boot.boot_layout(host)
    assert layout.boot.uuid == BOOT_UUID and layout.prefix == ""
    assert layout.root_arg == f"root=UUID={ROOT_UUID}"
    assert boot.microcode_images(host) == ["intel-ucode.img"]


def test_lsblk_json_tree_and_list(host):
    result = run(host, "lsblk", "-J", "-b", "-o", "NAME,PATH,TYPE,SIZE,FSTYPE,UUID,PTTYPE,MOUNTPOINTS,PKNAME")
    disk = json.loads(result.stdout)["blockdevices"][0]
    assert (disk["name"], disk["type"], disk["size"], disk["pttype"]) == ("sda", "disk", 256 * 1024 ** 3, "gpt")
    assert disk["mountpoints"] == [None] and disk["pkname"] is None
    parts = {p["name"]: p for p in disk["children"]}
    assert parts["sda1"]["size"] == 1024 ** 2 and parts["sda1"]["fstype"] is None
    assert parts["sda2"]["size"] == 1024 ** 3 and parts["sda2"]["mountpoints"] == ["/boot"]
    assert parts["sda3"]["uuid"] == ROOT_UUID and parts["sda3"]["pkname"] == "sda"
    assert sum(p["size"] for p in parts.values()) < disk["size"]
    flat = json.loads(run(host, "lsblk", "-J", "-l", "-b", "-o", "SIZE,NAME").stdout)["blockdevices"]
    assert [d["name"] for d in flat] == ["sda", "sda1", "sda2", "sda3", "sdb", "vg0-data"]  # sdb: LVM, see storage
    assert "children" not in flat[0]
    assert list(flat[0]) == ["size", "name"] and isinstance(flat[0]["size"], int)
    human = json.loads(run(host, "lsblk", "-J", "-o", "NAME,SIZE", "/dev/sda2").stdout)["blockdevices"]
    assert human == [{"name": "sda2", "size": "1G"}]
    table = run(host, "lsblk").stdout.splitlines()
    assert table[0].split() == ["NAME", "MAJ:MIN", "RM", "SIZE", "RO", "TYPE", "MOUNTPOINTS"]
    assert table[3].split()[-1] == "/boot" and table[3].startswith("├─sda2")
    assert run(host, "lsblk", "/dev/sdz").returncode == 32


def test_blkid(host):
    export = run(host, "blkid", "-o", "export", "/dev/sda2")
    assert export.stdout.splitlines() == ["DEVNAME=/dev/sda2", f"UUID={BOOT_UUID}", "BLOCK_SIZE=4096", "TYPE=ext4",
                                          "PARTUUID=fde82298-71c7-4fd4-9255-2f4d7692f58d"]
    assert run(host, "blkid", "-s", "UUID", "-o", "value", "/dev/sda3").stdout == ROOT_UUID + "\n"
    assert run(host, "blkid", "-s", "UUID", "-o", "value", "/dev/sda1").returncode == 2
    unknown = run(host, "blkid", "-o", "export", "/dev/sdz")
    assert (unknown.returncode, unknown.stdout) == (2, "")
    assert run(host, "blkid", "/dev/sda3").stdout.startswith(f'/dev/sda3: UUID="{ROOT_UUID}" BLOCK_SIZE="4096"')
    assert run(host, "blkid", "-U", BOOT_UUID).stdout == "/dev/sda2\n"


def test_grub_probe(host):
    assert run(host, "grub-probe", "--target=fs_uuid", "/boot").stdout == BOOT_UUID + "\n"
    assert run(host, "grub-probe", "-t", "fs", "/").stdout == "ext2\n"
    assert run(host, "grub-probe", "--target=drive", "/boot/grub").stdout == "(hd0,gpt2)\n"
    assert run(host, "grub-probe", "--target=device", "/etc").stdout == "/dev/sda3\n"
    assert run(host, "grub-probe", "-t", "fs_uuid", "/no/such/path").returncode == 1


def test_grub_set_default_writes_the_block_grub_editenv_lists(host):
    """The simulated grub-set-default and grub-editenv share one block (the bytes are compared with the real
    grub-editenv in test_sample_grubenv_diff)."""
    assert run(host, "grub-set-default", "gnulinux-simple-x").ok
    assert run(host, "grub-editenv", "/boot/grub/grubenv", "list").stdout == "saved_entry=gnulinux-simple-x\n"


def test_unknown_program_is_not_simulated(host):
    result = run(host, "virsh", "list")
    assert result.returncode == 127
    assert result.stderr.startswith("virsh: command not found (SIMULATED host: xenbook's sample host does not "
                                    "simulate this program)")
    assert "uname" in PROGRAMS and "grub-mkconfig" in PROGRAMS


def test_on_line_receives_output_lines(host):
    lines = []
    result = host.run(Command.of("grub-mkconfig", "-o", "/boot/grub/grub.cfg"), on_line=lines.append)
    assert result.ok and lines[0] == "[simulated] Generating grub configuration file ..."
    assert "Found linux image: /boot/vmlinuz-linux" in lines and lines[-1] == "[simulated] done"


# the simulated grub-mkconfig (its messages, exit codes and entries are compared with the real one's in
# test_sample_grub_mkconfig_diff)

def test_grub_cfg_is_what_arch_grub_mkconfig_writes(host):
    # what Arch's patches and the sample's simulated disks add; the rest of grub-mkconfig's work is compared with the
    # real tool in test_sample_grub_mkconfig_diff, which has no Arch GRUB to check these lines against
    cfg = grub_cfg(host)
    assert cfg.startswith("#\n# DO NOT EDIT THIS FILE\n#\n") and "SIMULATED" in cfg.split("###")[0]
    assert f"menuentry 'Arch Linux' --class arch --class gnu-linux --class gnu --class os $menuentry_id_option " \
           f"'gnulinux-simple-{ROOT_UUID}' {{" in cfg
    assert f"\tsearch --no-floppy --fs-uuid --set=root {BOOT_UUID}\n" in cfg.replace("\t  search", "\tsearch")
    assert f"\tlinux\t/vmlinuz-linux root=UUID={ROOT_UUID} rw  loglevel=3 quiet\n" in cfg
    assert "\tinitrd\t/intel-ucode.img /initramfs-linux.img\n" in cfg
    assert "submenu 'Advanced options for Arch Linux'" in cfg
    assert "(fallback initramfs)" in cfg and "\t\tinitrd\t/intel-ucode.img /initramfs-linux-fallback.img\n" in cfg
    assert host.stat("/boot/grub/grub.cfg").mode == 0o600
    check_script(host)


@pytest.mark.skipif(GRUB_SCRIPT_CHECK is None, reason="grub-script-check is not installed")
def test_grub_mkconfig_output_passes_grub_script_check(host):
    install_xen(host)
    host.write_atomic("/boot/config-linux", gzip.decompress(host.read_bytes("/proc/config.gz")))
    cfg = mkconfig(host)
    assert "multiboot2" in cfg
    check_script(host)


def test_reports_say_how_many_commands_real_tools_answered(tmp_path):
    """A sample host's report counts the commands real tools answered (validators, GRUB's checkers) and the
    simulated ones; on a machine with GRUB's tools the real count is above zero."""
    import shutil
    from xenbook.engine.params import RunbookParams
    from xenbook.engine.registry import run_sections
    host = init_sample(str(tmp_path / "s"))
    report = run_sections(host, RunbookParams(), ["install", "boot"], dry_run=False)
    assert report.answered["simulated"] > 0
    if shutil.which("grub-script-check"):
        assert report.answered["real"] > 0
    assert f"{report.answered['real']} answered by real tools, {report.answered['simulated']} simulated" in \
        report.tools_line()
    assert report.to_dict()["answered"] == report.answered
