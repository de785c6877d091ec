"""The install section's parameters: which Xen packages to build and install, and how."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from xenbook.core.model import Model, abs_path
from xenbook.core.paths import STATE_DIR

_USER_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
# The build user is given its build folder: never one of the system's, nor one inside the trees the system owns.
SYSTEM_TREES = ("/bin", "/boot", "/dev", "/efi", "/etc", "/lib", "/lib32", "/lib64", "/proc", "/root", "/run",
                "/sbin", "/sys", "/usr", "/var/lib/xen", "/var/lib/pacman", STATE_DIR + "/pending",
                STATE_DIR + "/backups")
SYSTEM_DIRS = frozenset({"/", "/home", "/lost+found", "/media", "/mnt", "/opt", "/srv", "/tmp", "/var", STATE_DIR}
                        | {f"/var/{d}" for d in ("cache", "db", "empty", "games", "lib", "local", "lock", "log",
                                                 "mail", "opt", "run", "spool", "tmp")})
_PIN = re.compile(r"^[a-z0-9@_+][a-z0-9@._+-]*:([0-9]+:)?[A-Za-z0-9._+~]+(-[0-9][0-9.]*)?$")


class InstallParams(Model):
    """Which Xen packages to build and install, and how."""

    xen_qemu: bool = Field(True, description="build xen-qemu (device model for HVM guests, qdisk backend)")
    xen_edk2: bool = Field(False, description="build xen-edk2 (OVMF UEFI firmware for HVM guests)")
    xen_grub_pvh: bool = Field(False, description="build xen-grub-pvh (GRUB image that boots PVH guests)")
    hvm_guests: bool = Field(True, description="install seabios (BIOS firmware for HVM guests)")
    build_user: str = Field("xenbook-build", description="unprivileged user that runs makepkg")
    create_build_user: bool = Field(True, description="create the build user when it does not exist")
    aur_helper: Literal["auto", "paru", "yay", "none"] = Field(
        "auto", description="AUR helper: auto uses paru or yay when installed, none uses git and makepkg")
    build_dir: str = Field("/var/lib/xenbook/build", description="where AUR sources are cloned and built")
    jobs: int | None = Field(None, ge=1, le=1024, description="parallel make jobs; empty for the CPU count")
    min_build_free_gib: int = Field(8, ge=1, le=100_000, description="free space the build needs (GiB)")
    versions: list[str] = Field(default_factory=list, description="pinned versions as NAME:VERSION, e.g. "
                                "xen:4.21.2-1 (or xen:4.21.2); unpinned packages take the current one")

    @field_validator("versions")
    @classmethod
    def _versions(cls, v: list[str]) -> list[str]:
        names = [item.partition(":")[0] for item in v]
        for item in v:
            if not _PIN.fullmatch(item):
                raise ValueError(f"{item!r} is not NAME:VERSION, e.g. xen:4.21.2-1")
        if len(set(names)) != len(names):
            raise ValueError("pins a package twice")
        return v

    @field_validator("build_user")
    @classmethod
    def _build_user(cls, v: str) -> str:
        if not _USER_NAME.fullmatch(v):
            raise ValueError("must be a user name: lower-case letters, digits, '_' or '-', at most 32")
        if v == "root":
            raise ValueError("makepkg refuses to run as root; name an unprivileged user")
        return v

    @field_validator("build_dir")
    @classmethod
    def _build_dir(cls, v: str) -> str:
        path = abs_path(v)
        inside = [t for t in SYSTEM_TREES if path == t or path.startswith(t + "/")]
        if path in SYSTEM_DIRS or inside:
            where = f"is the system's {path}" if path in SYSTEM_DIRS or path == inside[0] else f"is inside {inside[0]}"
            raise ValueError(f"{where}, and the build user is given its build folder: name a new folder of its "
                             "own, e.g. /var/lib/xenbook/build or /srv/aur")
        return path


# The form's layout (xenbook.ui reads it): groups of fields, labels for people, and when a field applies.
FORM = {
    "groups": {"Packages": ["xen_qemu", "xen_edk2", "xen_grub_pvh", "hvm_guests", "versions"],
               "Build": ["aur_helper", "build_user", "create_build_user", "build_dir", "jobs", "min_build_free_gib"]},
    "labels": {"xen_qemu": "xen-qemu", "xen_edk2": "xen-edk2", "xen_grub_pvh": "xen-grub-pvh",
               "hvm_guests": "seabios (HVM guests)", "versions": "pinned versions", "aur_helper": "AUR helper",
               "build_user": "build user", "create_build_user": "create the build user", "build_dir": "build folder",
               "jobs": "make jobs", "min_build_free_gib": "free space (GiB)"},
}
