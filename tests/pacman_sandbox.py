"""Shared helpers for the tests that run the REAL pacman, makepkg and repo-add in a throwaway pacman root.

Stand-in packages are built with the real makepkg as the unprivileged user nobody and put into local file
repositories with repo-add; pacman then runs with --root, --dbpath, --config, --cachedir and --logfile of a
temporary folder, so nothing outside it changes."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from xenbook.connectors.rooted import run_local

TOOLS = ("pacman", "pacman-conf", "makepkg", "repo-add", "bsdtar", "fakeroot", "git", "runuser")
MISSING = [t for t in TOOLS if shutil.which(t) is None]
BUILDER = "nobody"
needs_real_pacman = [
    pytest.mark.skipif(bool(MISSING), reason=f"the real package tools are not installed: {', '.join(MISSING)} "
                                             "(Debian: pacman-package-manager makepkg libarchive-tools fakeroot git)"),
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: pacman -S installs and runuser switches to nobody"),
]


def sh(*argv: str, user: str | None = None, cwd: str | None = None, env: dict | None = None) -> str:
    full = (("runuser", "-u", user, "--") if user else ()) + (("env", "-C", cwd) if cwd else ()) + argv
    result = run_local(full, env=env)
    assert result.ok, f"{' '.join(full)} exited {result.returncode}:\n{result.stdout}{result.stderr}"
    return result.stdout


@dataclass(frozen=True)
class StandIn:
    """A package to build: name, full version ([epoch:]pkgver-pkgrel), arch, what it provides."""

    name: str
    version: str = "1.0-1"
    arch: str = "any"
    provides: tuple[str, ...] = field(default=())

    def pkgbuild(self) -> str:
        epoch, _, rest = self.version.rpartition(":")
        pkgver, _, pkgrel = rest.rpartition("-")
        provides = f"provides=({' '.join(repr(p) for p in self.provides)})\n" if self.provides else ""
        return (f"pkgname={self.name}\n{f'epoch={epoch}' + chr(10) if epoch else ''}pkgver={pkgver}\n"
                f"pkgrel={pkgrel}\npkgdesc='stand-in for xenbook tests'\narch=({self.arch})\n{provides}"
                f"package() {{ install -Dm644 /dev/null \"$pkgdir/usr/share/xenbook-test/{self.name}\"; }}\n")


def build_repos(base: Path, repos: dict[str, tuple[StandIn, ...]]) -> None:
    """base/repo/NAME/NAME.db.tar.gz for each repository, holding its stand-ins (built in base/pkgs)."""
    for repo, packages in repos.items():
        (base / "repo" / repo).mkdir(parents=True)
        for pkg in packages:
            src = base / "pkgs" / pkg.name
            src.mkdir(parents=True)
            (src / "PKGBUILD").write_text(pkg.pkgbuild())
            shutil.chown(src, BUILDER)
            sh("makepkg", "--noconfirm", user=BUILDER, cwd=str(src))
            for built in src.glob(f"{pkg.name}-*.pkg.tar*"):
                shutil.copy(built, base / "repo" / repo)
        files = sorted(str(p) for p in (base / "repo" / repo).glob("*.pkg.tar*"))
        sh("repo-add", "-q", str(base / "repo" / repo / f"{repo}.db.tar.gz"), *files)


def pacman_options(root: Path) -> tuple[str, ...]:
    """The options that keep a real pacman inside root."""
    return ("--root", str(root), "--dbpath", f"{root}/var/lib/pacman", "--config", f"{root}/etc/pacman.conf",
            "--cachedir", f"{root}/var/cache/pacman/pkg", "--logfile", f"{root}/var/log/pacman.log")


def make_root(root: Path) -> None:
    """The folders a pacman root needs."""
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)
    for folder in ("etc", "var/lib/pacman", "var/cache/pacman/pkg", "var/log"):
        (root / folder).mkdir(parents=True, exist_ok=True)
