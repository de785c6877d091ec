"""The sample host's SIMULATED AUR: git clone and pull of its package repositories, and makepkg.

Each repository gets an abbreviated PKGBUILD and a .SRCINFO in the real formats, with the real packages'
dependencies. makepkg spends a few seconds in build() (XENBOOK_SAMPLE_BUILD_SECONDS, default 2), whose
--log file exists by then, and writes its labelled output, its logs and a SIMULATED package file. The state's
"faults" map can make things fail on purpose: {"offline": true} (no network) or a list of unreachable servers,
{"build_fails": ["xen"]} (build() fails)."""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import time

from xenbook.core.commands import Result
from xenbook_sample.accounts import CONTEXT_PROGRAMS, Context, set_owner, writable
from xenbook_sample.guestagents import AGENT_BASES
from xenbook_sample.options import Usage
from xenbook_sample.xenfiles import package_files

AUR = "https://aur.archlinux.org"
_XEN_LIBS = ["zlib", "python", "ncurses", "openssl", "libx11", "libuuid.so", "yajl", "libaio", "glib2", "pkgconf"]
_XEN_COMMON = _XEN_LIBS[:] + ["iproute2", "inetutils", "acpica", "lib32-glibc", "gnutls", "vde2", "lzo", "pciutils",
                              "sdl2"]
# saur's xen-aur/PKGBUILD and xen-qemu/PKGBUILD (pkgver, _branch, sources, validpgpkeys as they have them)
BASES = {  # pkgbase -> .SRCINFO fields; "packages" maps each pkgname to its own overrides
    "xen": {"pkgdesc": "Open-source type-1 or baremetal hypervisor - stable branch", "pkgver": "4.21.2",
            "pkgrel": "1", "url": "https://xenproject.org/", "arch": ["x86_64"], "license": ["GPL2"],
            "makedepends": _XEN_COMMON[:10] + ["git"] + _XEN_COMMON[10:] + [
                "systemd-libs", "systemd", "wget", "pandoc", "valgrind", "git", "bison", "gettext", "flex", "pixman",
                "figlet", "fig2dev", "python-setuptools"],
            "options": ["!buildflags", "strip"],
            "make_flags": "BOOT_DIR=/boot EFI_DIR=/boot EFI_MOUNTPOINT=/boot XEN_VENDORVERSION=-1arch DEBUG=y",
            "source": ["git+https://xenbits.xen.org/git-http/xen.git#branch=stable-4.21", "efi-xen.cfg",
                       "xen.conf", "tmpfiles.conf", "xen-ucode-extract.sh", "xen-intel-ucode.hook",
                       "xen-amd-ucode.hook"],
            "packages": {"xen": {"pkgdesc": "Open-source type-1 or baremetal hypervisor", "install": "xen.install",
                                 "depends": _XEN_COMMON + ["pixman", "libseccomp", "libpng", "libjpeg-turbo"],
                                 "backup": ["etc/conf.d/xencommons", "etc/conf.d/xendomains", "etc/xen/efi-xen.cfg",
                                            "etc/xen/cpupool", "etc/xen/xl.conf"]},
                         "xen-docs": {"pkgdesc": "Xen hypervisor documentation and man pages", "arch": ["any"]}}},
    "xen-qemu": {"pkgdesc": "A xen-specific QEMU, built to qemu-builtin standards", "pkgver": "11.1.0",
                 "pkgrel": "1", "url": "https://www.qemu.org", "arch": ["x86_64"], "license": ["GPL2", "LGPL2.1"],
                 "makedepends": ["ninja", "meson", "python-packaging"],
                 "depends": ["curl", "xen", "numactl", "spice", "usbredir", "seabios", "qemu-common"],
                 "provides": ["qemu-xen", "xen-qemu", "xen-qemu-builtin"], "conflicts": ["xen-qemu-builtin"],
                 "replaces": ["xen-qemu-builtin"],
                 "source": ["https://download.qemu.org/qemu-11.1.0.tar.xz",
                            "https://download.qemu.org/qemu-11.1.0.tar.xz.sig", "qemu-create-xenfv-alias.patch"],
                 "validpgpkeys": ["CEACC9E15534EBABB82D3FA03353C9CEF108B584"],  # Michael Roth
                 "packages": {"xen-qemu": {}}},
    "xen-edk2": {"pkgdesc": "UEFI firmware for xen hypervisor from edk2", "pkgver": "202608", "pkgrel": "1",
                 "url": "https://github.com/tianocore/edk2", "arch": ["x86_64"], "license": ["Apache-2.0"],
                 "makedepends": ["git", "nasm", "python", "acpica"],
                 "source": ["Makefile", "git+https://github.com/tianocore/edk2#tag=edk2-stable202608"],
                 "packages": {"xen-edk2": {}}},
    "xen-grub": {"pkgdesc": "a version of GRUB2 for booting Xen PV and PVH domUs", "pkgver": "2.14.r18.gb07cc37",
                 "pkgrel": "1", "url": "https://www.gnu.org/software/grub/", "arch": ["x86_64"],
                 "license": ["GPL-3.0-or-later"],
                 "makedepends": ["git", "xz", "python", "texinfo", "gettext", "device-mapper", "less"],
                 "depends": ["xen"], "options": ["!buildflags", "!strip"],
                 "source": ["git+https://git.savannah.gnu.org/git/grub.git", "grub.cfg"],
                 "packages": {"xen-grub-pvh": {"pkgdesc": "GRUB bootloader for Xen PVH domUs"},
                              "xen-grub-pv32": {"pkgdesc": "GRUB bootloader for Xen 32bit PV domUs"},
                              "xen-grub-pv64": {"pkgdesc": "GRUB bootloader for Xen 64bit PV domUs"}}},
    **AGENT_BASES,  # the guest agents the pv-guest section builds (guestagents.py)
}
# the order makepkg --printsrcinfo writes the keys in (libmakepkg's srcinfo.sh)
_ORDER = ("pkgdesc", "pkgver", "pkgrel", "url", "install", "arch", "license", "makedepends", "depends", "provides",
          "conflicts", "replaces", "options", "backup", "source", "validpgpkeys")


def pkgnames(pkgbase: str, env: dict[str, str]) -> list[str]:
    """The split packages a build makes (xen-grub reads build_pvh, build_pv32, build_pv64 from the environment)."""
    names = list(BASES[pkgbase]["packages"])
    if pkgbase == "xen-grub":
        names = [n for n in names if env.get(f"build_{n.rsplit('-', 1)[1]}", "true") == "true"]
    return names


def srcinfo(pkgbase: str, env: dict[str, str]) -> str:
    base = BASES[pkgbase]
    lines = [f"pkgbase = {pkgbase}"]
    for key in _ORDER:
        values = base.get(key, [])
        lines += [f"\t{key} = {v}" for v in ([values] if isinstance(values, str) else values)]
    lines += ["\tsha512sums = SKIP"] * len(base.get("source", []))  # one per source; the sample checks none
    for name in pkgnames(pkgbase, env):
        lines += ["", f"pkgname = {name}"]
        for key in _ORDER:
            values = base["packages"][name].get(key, [])
            lines += [f"\t{key} = {v}" for v in ([values] if isinstance(values, str) else values)]
    return "\n".join(lines) + "\n\n"


def pkgbuild(pkgbase: str) -> str:
    base = BASES[pkgbase]

    def array(key: str, values: list[str]) -> str:
        return f"{key}=({' '.join(repr(v) for v in values)})\n" if values else ""

    names = list(base["packages"])
    text = ("# SIMULATED: an abbreviated stand-in for the AUR's PKGBUILD, written by xenbook's sample host.\n"
            f"pkgbase={pkgbase}\npkgname=({' '.join(names)})\npkgver={base['pkgver']}\npkgrel={base['pkgrel']}\n"
            f"pkgdesc={base['pkgdesc']!r}\nurl={base['url']!r}\n")
    for key in ("arch", "license", "makedepends", "depends", "provides", "conflicts", "replaces", "options", "source",
                "validpgpkeys"):
        text += array(key, base.get(key, []))
    text += "\nbuild() {\n\techo 'SIMULATED build'\n}\n"
    for name, own in base["packages"].items():
        text += f"\npackage_{name}() {{\n" + "".join(f"\t{k}={v!r}\n" if isinstance(v, str) else
                                                    f"\t{array(k, v)}" for k, v in own.items()) + "}\n"
    return text


def _server(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0]


def offline(host, url: str) -> bool:
    """True when the state's faults make url's server unreachable ("offline": true or a list of servers)."""
    cut = host.load_state().get("faults", {}).get("offline")
    return cut is True or _server(url) in (cut or ())


def _unreachable(url: str) -> str:
    return f"fatal: unable to access '{url}/': Could not resolve host: {_server(url)}\n"


# git

BRANCH = ".git/refs/heads/master"  # the clone's branch: written last, so a clone killed part way has no commit


def _commit(pkgbase: str) -> str:
    """The commit a clone of pkgbase checks out (a stand-in hash, the same for every clone)."""
    return hashlib.sha1(f"SIMULATED {pkgbase} {BASES[pkgbase]['pkgver']}".encode()).hexdigest() + "\n"


def git(host, argv, stdin, ctx: Context) -> Result:
    args = argv[1:]
    if len(args) >= 2 and args[0] == "-C":
        ctx, args = Context(ctx.user, ctx.path(args[1]), ctx.env), args[2:]
    if args[:1] == ["clone"] and len(args) == 3:
        return clone(host, args[1], ctx.path(args[2]), ctx)
    if args[:1] == ["pull"]:
        if not host.exists(f"{ctx.cwd}/.git"):
            return Result(128, "", "fatal: not a git repository (or any of the parent directories): .git\n")
        url = (host.read_text(f"{ctx.cwd}/.git/config") or "").split("url = ", 1)[-1].split("\n", 1)[0]
        if offline(host, url):
            return Result(1, "", _unreachable(url.removesuffix("/")))
        return Result(0, "Already up to date.\n", "")
    raise Usage("git: the SIMULATED sample host only simulates git clone URL DIR and git -C DIR pull\n", 129)


def clone(host, url: str, dest: str, ctx: Context) -> Result:
    name = posixpath.basename(dest)
    if host.exists(dest) and host.listdir(dest):
        return Result(128, "", f"fatal: destination path '{name}' already exists and is not an empty directory.\n")
    if not writable(host, posixpath.dirname(dest), ctx.user):
        return Result(128, "", f"fatal: could not create work tree dir '{name}': Permission denied\n")
    if offline(host, url):
        return Result(128, "", f"Cloning into '{name}'...\n" + _unreachable(url.removesuffix("/")))
    pkgbase = url.removeprefix(f"{AUR}/").removesuffix(".git")
    host.makedirs(f"{dest}/.git/refs/heads")
    set_owner(host, dest, ctx.user)
    host.write_atomic(f"{dest}/.git/HEAD", b"ref: refs/heads/master\n")
    host.write_atomic(f"{dest}/.git/config", f'[remote "origin"]\n\turl = {url}\n'.encode())
    err = f"Cloning into '{name}'...\n"
    if not url.startswith(AUR) or pkgbase not in BASES:
        return Result(0, "", err + "warning: You appear to have cloned an empty repository.\n")
    host.write_atomic(f"{dest}/PKGBUILD", pkgbuild(pkgbase).encode())
    host.write_atomic(f"{dest}/.SRCINFO", srcinfo(pkgbase, {}).encode())
    host.write_atomic(f"{dest}/{BRANCH}", _commit(pkgbase).encode())  # last: a clone killed before it has no commit
    return Result(0, f"[simulated] xenbook's sample host wrote an abbreviated PKGBUILD and the .SRCINFO of "
                     f"{pkgbase}\n", err)


# makepkg

def _source_pkgbase(host, ctx: Context) -> str | None:
    for line in (host.read_text(f"{ctx.cwd}/PKGBUILD") or "").splitlines():
        if line.startswith("pkgbase="):
            return line.split("=", 1)[1] if line.split("=", 1)[1] in BASES else None
    return None


def _package_path(ctx: Context, pkgbase: str, name: str) -> str:
    base = BASES[pkgbase]
    arch = base["packages"][name].get("arch", base["arch"])[0]
    return f"{ctx.cwd}/{name}-{base['pkgver']}-{base['pkgrel']}-{arch}.pkg.tar.zst"


def makepkg(host, argv, stdin, ctx: Context) -> Result:
    from xenbook_sample.packages import installed, satisfied
    flags = set(argv[1:])
    if not writable(host, ctx.cwd, ctx.user):
        return Result(11, "", f"==> ERROR: You do not have write permission for the directory $BUILDDIR "
                              f"({ctx.cwd}).\n    Aborting...\n")
    if ctx.user == "root":
        return Result(10, "", "==> ERROR: Running makepkg as root is not allowed as it can cause permanent,\n"
                              "catastrophic damage to your system.\n")
    if not host.exists(f"{ctx.cwd}/PKGBUILD"):
        return Result(12, "", "==> ERROR: PKGBUILD does not exist.\n")
    pkgbase = _source_pkgbase(host, ctx)
    if pkgbase is None:
        return Result(12, "", "==> ERROR: [simulated] xenbook's sample host cannot build this PKGBUILD.\n")
    base, names = BASES[pkgbase], pkgnames(pkgbase, ctx.env)
    if "--printsrcinfo" in flags:
        return Result(0, srcinfo(pkgbase, ctx.env), "")
    if "--packagelist" in flags:
        return Result(0, "".join(_package_path(ctx, pkgbase, n) + "\n" for n in names), "")
    version = f"{base['pkgver']}-{base['pkgrel']}"
    if all(host.exists(_package_path(ctx, pkgbase, n)) for n in names):
        group = "The package group has" if len(names) > 1 else "A package has"
        return Result(13, "", f"==> ERROR: {group} already been built. (use -f to overwrite)\n")
    if "base-devel" not in installed(host):
        return Result(15, "", "==> ERROR: Cannot find the fakeroot binary.\n")
    now = time.strftime("%a %b %e %H:%M:%S %Y")
    out = [f"==> Making package: {pkgbase} {version} ({now})", "==> Checking runtime dependencies...",
           "==> Checking buildtime dependencies..."]
    missing = [d for d in base.get("depends", []) + base.get("makedepends", []) if not satisfied(host, d)]
    if missing:
        out += ["==> Missing dependencies:"] + [f"  -> {d}" for d in dict.fromkeys(missing)]
        return Result(8, _label(out), "==> ERROR: Could not resolve all dependencies.\n")
    out += ["==> Retrieving sources..."]
    source = base["source"][0]
    url = source.removeprefix("git+").split("#", 1)[0]
    if offline(host, url) and source.startswith("git+"):
        out.append(f"  -> Cloning {pkgbase} git repo...")
        return Result(1, _label(out), _unreachable(url) + f"==> ERROR: Failure while downloading {pkgbase} git "
                                                           "repo\n    Aborting...\n")
    extra = f" {base['make_flags']}" if base.get("make_flags") else ""  # xen: a DEBUG=y build
    build = [f"make -j{ctx.env.get('MAKEFLAGS', '-j1').removeprefix('-j')}{extra} (SIMULATED: nothing is compiled)",
             f"  CC      {pkgbase}/simulated.o", f"  LD      {pkgbase}/simulated"]
    stages = {"prepare": ["==> Starting prepare()..."], "build": ["==> Starting build()..."] + build}
    out += ["==> Validating source files with sha512sums..."]
    verified = _verify_signatures(host, ctx, base)
    if verified is not None and verified.returncode:
        return Result(verified.returncode, _label(out + verified.stdout.splitlines()), verified.stderr)
    signatures = verified.stderr if verified is not None else ""
    out += (verified.stdout.splitlines() if verified is not None else []) + ["==> Extracting sources..."]
    fails = pkgbase in host.load_state().get("faults", {}).get("build_fails", [])
    if fails:
        stages["build"] += ["make: *** [Makefile:46: dist-tools] Error 2"]
    else:
        out.append("==> Entering fakeroot environment...")
        split = len(BASES[pkgbase]["packages"]) > 1  # split packages log each package_NAME() on its own
        for n in names:
            func = f"package_{n}" if split else "package"
            stages[func] = [f"==> Starting {func}()...", "==> Tidying install...", f'==> Creating package "{n}"...',
                            "  -> Compressing package..."]
    for stage, lines in stages.items():
        out += lines
        if "--log" in flags:  # makepkg tees each function's output into its log from the function's start
            log = f"{ctx.cwd}/{pkgbase}-{version}-x86_64-{stage}.log"
            host.write_atomic(log, _label(lines[1:]).encode())
        if stage == "build":
            _pause()  # build() takes the time, with its log already there
    if fails:
        return Result(4, _label(out), "==> ERROR: A failure occurred in build().\n    Aborting...\n")
    uefi = host.load_state()["machine"]["boot_mode"] == "uefi"
    for name in names:
        own = base["packages"][name]
        data = {"simulated": True, "notice": "SIMULATED package file made by xenbook's sample host; not a real one.",
                "name": name, "version": version, "arch": own.get("arch", base["arch"])[0],
                "desc": own.get("pkgdesc", base["pkgdesc"]), "depends": own.get("depends", base.get("depends", [])),
                "install": own.get("install", ""),
                "files": {p: [mode, text] for p, (mode, text) in package_files(name, uefi).items()}}
        host.write_atomic(_package_path(ctx, pkgbase, name), (json.dumps(data, indent=1) + "\n").encode())
    out += ["==> Leaving fakeroot environment.", f"==> Finished making: {pkgbase} {version} ({now})"]
    return Result(0, _label(out), signatures)


def _verify_signatures(host, ctx: Context, base: dict) -> Result | None:
    """What libmakepkg's check_pgpsigs prints (None when no source is signed): each signed source against the
    build user's keyring, failing when it lacks the key (the signer is the first of validpgpkeys)."""
    from xenbook_sample.gpg import keyring
    signed = [posixpath.basename(s)[:-4] for s in base.get("source", []) if s.endswith((".sig", ".asc"))]
    if not signed:
        return None
    keys, have = base.get("validpgpkeys", []), keyring(host, ctx)
    err, failed = "", False
    for name in signed:
        if keys and keys[0].upper() in have:
            err += f"    {name} ... Passed\n"
        else:
            err += f"    {name} ... FAILED (unknown public key {(keys or ['0' * 16])[0][-16:].upper()})\n"
            failed = True
    if failed:
        err += "==> ERROR: One or more PGP signatures could not be verified!\n"
    return Result(1 if failed else 0, "==> Verifying source file signatures with gpg...\n", err)


def _label(lines: list[str]) -> str:
    return "".join(f"[simulated] {line}\n" for line in lines)


def _pause() -> None:
    """Spend XENBOOK_SAMPLE_BUILD_SECONDS (default 2) on a build, as if it were printing its lines."""
    try:
        seconds = float(os.environ.get("XENBOOK_SAMPLE_BUILD_SECONDS", "2"))
    except ValueError:
        seconds = 2.0
    if seconds > 0:
        time.sleep(min(seconds, 60.0))


CONTEXT_PROGRAMS.update({"git": git, "makepkg": makepkg})
