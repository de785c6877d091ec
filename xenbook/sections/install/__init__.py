"""Install: Xen and its companions from the AUR, built by an unprivileged user, the Arch way."""

from xenbook.core.section import Section
from xenbook.sections.install.params import InstallParams
from xenbook.sections.install.steps import check_build_dir, install_steps

SECTION = Section("install", 10, "Install Xen from the AUR, the Arch way", "10-install.ipynb", install_steps, "install",
                  InstallParams, check=check_build_dir)
