"""The sample host reads what xenbook wrote with readers of its own (xenbook_sample never imports xenbook.facts or
xenbook.edits). Where the product reads the same format, both readers get the same tricky inputs and must agree; a
real tool decides, where one runs here rootless, which of them is right."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from xenbook.edits import grubentry, shellvars, xencfg, xlcfg
from xenbook.facts import packages as pkgfacts
from xenbook.facts import services as servicefacts
from xenbook_sample import grubscript, shellfiles, unitfiles, xenefi, xlconfig
from xenbook_sample import packages as sample_packages

PACMAN_CONF = {
    "plain": "[options]\nArchitecture = auto\n\n[core]\nServer = file:///x\n",
    "commented": "[options]\n#[multilib]\n#Include = /etc/pacman.d/mirrorlist\n[extra]\nServer = file:///x\n",
    "indented": "[options]\n  [core]  \nServer = file:///x\n\t[extra]\nServer = file:///y\n",
    "inline comment": "[options]\n[multilib] # on\nServer = file:///x\n[core]\nServer = file:///y\n",
    "spaces inside": "[options]\n[ spaced ]\nServer = file:///x\n",
    "duplicate": "[options]\n[core]\nServer = file:///x\n[core]\nServer = file:///y\n",
    "empty name": "[options]\n[]\nServer = file:///x\n[core]\nServer = file:///y\n",
}


@pytest.mark.parametrize("case", PACMAN_CONF)
def test_pacman_conf_sections_agree(case):
    text = PACMAN_CONF[case]
    product = [s for s in pkgfacts.active_sections(text) if s != "options"]
    assert product == [s for s in sample_packages.sections(text) if s != "options"]


@pytest.mark.skipif(shutil.which("pacman-conf") is None, reason="pacman-conf is not installed on this machine")
@pytest.mark.parametrize("case", PACMAN_CONF)
def test_pacman_conf_sections_are_the_repositories_pacman_conf_lists(case, tmp_path):
    (tmp_path / "pacman.conf").write_text(PACMAN_CONF[case])
    real = subprocess.run(["pacman-conf", "--config", str(tmp_path / "pacman.conf"), "--repo-list"],
                          capture_output=True, text=True, timeout=60)
    assert real.returncode == 0, real.stderr
    assert [s for s in sample_packages.sections(PACMAN_CONF[case]) if s != "options"] == real.stdout.splitlines()


# shell variable files, as sh reads them when grub-mkconfig or xendomains sources them


SHELL_VARS = {
    "plain": "GRUB_DEFAULT=0\nGRUB_TIMEOUT=5\n",
    "double quotes": 'GRUB_CMDLINE_LINUX_DEFAULT="loglevel=3 quiet"\n',
    "single quotes keep $": "A='$HOME \"x\"'\n",
    "comments": 'A="x" # note\n# B=1\n  # C=2\nD=e#f\n',
    "duplicate keys": "A=1\nA=2\n",
    "export": 'export A="x y"\n',
    "two on a line": "A=1 B=2\n",
    "semicolon": 'A=1; B="two words"\n',
    "continuation": 'A="one \\\ntwo"\nB=three\\\nfour\n',
    "quote spans lines": 'A="one\ntwo"\nB=3\n',
    "expansion": 'A=base\nA="$A extra"\nB=${A}-x\nC=\'$A\'\n',
    "runs a program": "A=1\nA=x true\n",
    "escapes": 'A=a\\ b\\"c\nB="d\\"e\\\\f\\g"\n',
    "empty": 'A=\nB=""\n',
    "leading blanks": "   A=1\n\tB=2\n",
}
SH = shutil.which("sh")


def sh_values(tmp_path, text: str) -> dict[str, str]:
    """What sh holds after sourcing text, for every name the text assigns somewhere."""
    names = sorted(set(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", text)) - {"loglevel"})
    (tmp_path / "vars").write_text(text)
    script = '. ./vars; for n in "$@"; do eval "s=\\${$n+set}"; eval "v=\\${$n}"; ' \
             '[ "$s" = set ] && printf "%s=%s\\000" "$n" "$v"; done'
    out = subprocess.run(["env", "-i", SH, "-c", script, "sh", *names], cwd=tmp_path, capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return dict(item.split("=", 1) for item in out.stdout.split("\0") if item)


@pytest.mark.skipif(SH is None, reason="no sh on this machine")
@pytest.mark.parametrize("case", SHELL_VARS)
def test_shell_variable_readers_agree_with_sh(case, tmp_path):
    text = SHELL_VARS[case]
    real = sh_values(tmp_path, text)
    assert shellfiles.read_vars(text) == real
    assert shellvars.get_vars(text) == real


def test_a_name_the_file_never_sets_expands_empty_in_the_sample_and_stays_literal_in_the_product():
    """sh expands it from its environment: the sample runs grub-mkconfig with none of its own, the product cannot
    know the admin's, so it keeps the reference and its steps refuse to copy it (GuestGrubCmdline/unsafe-value)."""
    text = 'A="quiet ${EXTRA} $EXTRA"\n'
    assert shellfiles.read_vars(text) == {"A": "quiet  "}
    assert shellvars.get_vars(text) == {"A": "quiet ${EXTRA} $EXTRA"}


def test_sample_never_runs_what_a_shell_file_would_run():
    assert shellfiles.read_vars("A=$(reboot)\nB=`reboot`\nC=ok\nD=${C:-x}\nE=1 | cat\nF=\"`x`\"\n") == {"C": "ok"}


def test_product_never_runs_what_a_shell_file_would_run():
    assert shellvars.get_vars("A=$(reboot)\nB=`reboot`\nC=ok\nD=${C:-x}\nE=1 | cat\nF=\"`x`\"\n") == {"C": "ok"}


# systemd unit files' [Install] section, as systemctl enable reads it


HEAD = "[Unit]\nDescription=t\n\n[Service]\nExecStart=/bin/true\n\n"
UNIT_INSTALL = {
    "plain": "[Install]\nWantedBy=multi-user.target\n",
    "continuation": "[Install]\nWantedBy=multi-user.target \\\n  graphical.target\n",
    "comment inside a continuation": "[Install]\nWantedBy=a.target \\\n# not a word\n b.target\n",
    "empty assignment resets": "[Install]\nWantedBy=foo.target\nWantedBy=\nWantedBy=multi-user.target\n",
    "duplicate keys add": "[Install]\nWantedBy=a.target\nWantedBy=b.target\nRequiredBy=c.target\n",
    "quotes and comments": "[Install]\n# WantedBy=x.target\n; WantedBy=y.target\n"
                           "WantedBy = \"multi-user.target\" b.target\n",
    "section names are case-sensitive": "[install]\nWantedBy=multi-user.target\n[Install]\nAlias=t-alias.service\n",
    "keys after another section": "[Install]\nWantedBy=a.target\n[X-Other]\nWantedBy=b.target\n",
}
SYSTEMCTL = shutil.which("systemctl")


def links_from(install: dict[str, list[str]], unit: str) -> set[str]:
    kinds = {"WantedBy": "wants", "RequiredBy": "requires", "UpheldBy": "upholds"}
    return {f"/etc/systemd/system/{t}.{kinds[k]}/{unit}" for k in kinds for t in install.get(k, [])} | {
        f"/etc/systemd/system/{a}" for a in install.get("Alias", [])}


@pytest.mark.parametrize("case", UNIT_INSTALL)
def test_install_section_readers_agree(case):
    text = HEAD + UNIT_INSTALL[case]
    assert servicefacts.install_section(text) == unitfiles.install_section(text)


@pytest.mark.skipif(SYSTEMCTL is None, reason="systemctl is not installed on this machine")
@pytest.mark.parametrize("case", UNIT_INSTALL)
def test_install_section_makes_the_links_systemctl_enable_makes(case, tmp_path):
    folder = tmp_path / "usr/lib/systemd/system"
    folder.mkdir(parents=True)
    (tmp_path / "etc/systemd/system").mkdir(parents=True)
    (folder / "t.service").write_text(HEAD + UNIT_INSTALL[case])
    subprocess.run([SYSTEMCTL, f"--root={tmp_path}", "enable", "t.service"], capture_output=True, text=True,
                   timeout=60)
    real = {"/" + os.path.relpath(os.path.join(d, f), tmp_path) for d, dirs, files in os.walk(tmp_path / "etc")
            for f in files + dirs if os.path.islink(os.path.join(d, f))}
    assert links_from(unitfiles.install_section(HEAD + UNIT_INSTALL[case]), "t.service") == real


# grub.cfg's default entry, as GRUB runs 00_header's lines


HEADER = ('if [ -s $prefix/grubenv ]; then\n  load_env\nfi\nif [ "${next_entry}" ] ; then\n'
          '   set default="${next_entry}"\n   set next_entry=\n   save_env next_entry\n   set boot_once=true\n'
          'else\n   set default="%s"\nfi\n')
GRUB_DEFAULTS = {
    "stock": HEADER % "0",
    "an id": HEADER % "xenbook-xen",
    "single quotes": "set default='2'\n",
    "unquoted, with a comment": "set default=1 # the second entry\n",
    "inside an entry": HEADER % "0" + "menuentry 'x' --id x {\n  set default=\"3\"\n}\n",
    "inside a function": "function f {\n  set default=4\n}\nset default=\"5\"\n",
    "last one wins": "set default=\"1\"\nset default=\"Arch Linux>Advanced\"\n",
    "commented out": "set default=\"1\"\n# set default=\"2\"\n",
}


@pytest.mark.parametrize("case", GRUB_DEFAULTS)
def test_grub_default_readers_agree(case):
    text = GRUB_DEFAULTS[case]
    ran, saved = grubscript.run_header(text, {}, {})
    assert grubentry.default_setting(text) == ran.get("default") and saved == []


def test_grub_runs_the_one_time_default_and_saves_it_away():
    ran, saved = grubscript.run_header(HEADER % "${saved_entry}", {"next_entry": "Arch", "saved_entry": "2"},
                                       {"/boot/grub/grubenv": True})
    assert (ran["default"], ran["next_entry"], saved) == ("Arch", "", ["next_entry"])
    assert grubscript.run_header(HEADER % "${saved_entry}", {"saved_entry": "2"},
                                 {"/boot/grub/grubenv": True})[0]["default"] == "2"
    assert grubscript.run_header(HEADER % "${saved_entry}", {"next_entry": "Arch"}, {})[0]["default"] == ""


# xen.cfg, as xen.efi reads it (xen/common/efi/boot.c pre_parse and get_value)


@pytest.mark.parametrize("entry", [
    xencfg.XenEfiEntry("dom0_mem=2048M,max:2048M loglvl=all", "vmlinuz-linux", "root=UUID=8d2f rw quiet",
                       "initramfs-linux.img", "intel-ucode.img"),
    xencfg.XenEfiEntry("", "vmlinuz-linux", "", "initramfs-linux.img"),
    xencfg.XenEfiEntry("console=com1 com1=115200,8n1;x", "vmlinuz-linux", "a=b;c  d", "initramfs-linux.img"),
])
def test_xen_efi_reads_back_what_xenbook_writes(entry):
    lines, warning = xenefi.pre_parse(xencfg.render_config(entry).encode())
    section = xenefi.get_value(lines, "global", "default")
    assert (warning, section) == ("", xencfg.SECTION_NAME)
    kernel = (xenefi.get_value(lines, section, "kernel") + " ").split(" ", 1)
    assert (xenefi.get_value(lines, section, "options"), kernel[0], kernel[1].strip()) == (
        entry.options, entry.kernel, entry.kernel_args)
    assert xenefi.get_value(lines, section, "ramdisk") == entry.ramdisk
    assert xenefi.get_value(lines, section, "ucode") == entry.ucode


def test_xen_efi_reads_xen_cfg_as_boot_c_does():
    text = (b"[global]\ndefault=b\n[a]\nkernel=a.efi\n[b]\n  options=one # comment\noptions=two\n"
            b"ramdisk = ignored\n;kernel=commented\nkernel=vmlinuz\troot=/dev/sda\n[b]\nxsm=second-section\n"
            b"ucode=last-line")
    lines, warning = xenefi.pre_parse(text)
    assert warning == xenefi.NO_NEWLINE and "ucode=last-line" not in lines
    assert xenefi.get_value(lines, "b", "options") == "one "  # the first one; '#' ends the line anywhere
    assert xenefi.get_value(lines, "b", "ramdisk") is None  # "ramdisk =" is no ramdisk= setting
    assert xenefi.get_value(lines, "b", "kernel") == "vmlinuz"  # a tab is a control character: a line end
    assert xenefi.get_value(lines, "b", "xsm") is None  # only the first [b] counts
    assert xenefi.get_value(lines, None, "kernel") == "a.efi"  # no default: the first kernel= anywhere
    assert xenefi.get_value(xenefi.pre_parse("[x]\nkernel=k opt=\u00e9\n".encode())[0], "x", "kernel") == \
        "k opt=\u00e9"  # bytes past ASCII pass through


# xl.cfg: what xenbook writes (edits/xlcfg.py) is what the sample's xl reads (sample/xlconfig.py)

def test_sample_xl_reads_back_the_domain_config_xenbook_writes():
    config = xlcfg.DomainConfig(
        name="dom01", type="pvh", memory=1024, maxmem=2048, vcpus=2, cpus="2-3,^2",
        disks=(xlcfg.disk_spec("/var/lib/xen/images/a,b.img"), xlcfg.disk_spec("/dev/vg0/x", "xvdb", "raw", "ro")),
        vifs=(xlcfg.vif_spec(xlcfg.derived_mac("dom01"), "xenbr0"),
              xlcfg.vif_spec("00:16:3e:00:00:02", "br1", "e1000")),
        kernel="/var/lib/xen/boot/dom01/vmlinuz-linux", cmdline="root=/dev/xvda rw console=hvc0",
        extra=(("vif.default.script", '"vif-bridge"'),))
    cfg = xlconfig.parse_xl_cfg(xlcfg.render_domain(config, "# written by xenbook\n"), "dom01.cfg")
    assert (cfg["name"], cfg["type"], cfg["memory"], cfg["maxmem"], cfg["vcpus"], cfg["cpus"]) == (
        "dom01", "pvh", 1024, 2048, 2, "2-3,^2")
    assert (cfg["kernel"], cfg["cmdline"], cfg["vif.default.script"]) == (config.kernel, config.cmdline, "vif-bridge")
    disks = [xlconfig.disk_spec(d) for d in cfg["disk"]]
    assert [(d["target"], d["vdev"], d["access"], d["format"]) for d in disks] == [
        ("/var/lib/xen/images/a,b.img", "xvda", "rw", "raw"), ("/dev/vg0/x", "xvdb", "ro", "raw")]
    nics = [xlconfig.vif_spec(v, "dom01", n) for n, v in enumerate(cfg["vif"])]
    assert [(v["mac"], v["bridge"]) for v in nics] == [(xlcfg.derived_mac("dom01"), "xenbr0"),
                                                       ("00:16:3e:00:00:02", "br1")]
