"""The sample host reads what xenbook wrote with readers of its own (xenbook/sample never imports xenbook.facts or
xenbook.edits). Where the product reads the same format, both readers get the same tricky inputs and must agree; a
real tool decides, where one runs here rootless, which of them is right."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from xenbook.facts import packages as pkgfacts
from xenbook.sample import packages as sample_packages

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
