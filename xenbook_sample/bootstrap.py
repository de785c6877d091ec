"""The sample host's SIMULATED guest bootstrap: pacstrap, arch-chroot, genfstab and chpasswd (mkinitcpio is in
initcpio.py; rsync, mkdir, cp and install -D in filetools.py). Programs run in `arch-chroot DIR` see a ChrootView:
DIR as "/", the machine's state shared."""

from __future__ import annotations

import getopt
import os
import posixpath
import time

from xenbook.core.commands import Command, Result
from xenbook.core.errors import HostError
from xenbook.core.host import check_path
from xenbook_sample.accounts import DEFAULT_PASSWD
from xenbook_sample.host import SampleHost, find_device
from xenbook_sample.initcpio import PRESET, initcpio
from xenbook_sample.options import Usage, options
from xenbook_sample.profiles import PACKAGES
from xenbook_sample.repos import REPO
from xenbook_sample.storage import VOLUMES, _abs, stand_in
from xenbook_sample.tree import _data


class ChrootView(SampleHost):
    """The sample host as `arch-chroot DIR` sees it: files under DIR (mounts below it followed), state shared."""

    def __init__(self, outer: SampleHost, folder: str):
        self.outer, self.chroot, self.root = outer, folder, outer.real(folder)
        self.target = f"{outer.target} (chroot {folder})"

    def answered_by(self, kind: str, *, command: bool = False) -> None:
        self.outer.answered_by(kind)  # counted for the machine; arch-chroot itself counts as simulated

    def load_state(self) -> dict:
        return self.outer.load_state()

    def save_state(self, state: dict) -> None:
        self.outer.save_state(state)

    def real(self, path: str) -> str:
        """Like RootedHost.real, clamped at DIR: absolute links start again at DIR, '..' stops at DIR; only the link
        of a mount point below DIR enters its filesystem's folder (and '..' stops at that folder's top)."""
        parts, base, resolved, hops = [p for p in check_path(path).split("/") if p], self.root, [], 0
        while parts:
            part = parts.pop(0)
            candidate = os.path.join(base, *resolved, part)
            if os.path.islink(candidate):
                hops += 1
                if hops > 40:
                    raise HostError(f"too many symbolic links under {path}")
                link = os.readlink(candidate)
                folder = self._mounted(candidate, link)
                if folder is not None:
                    base, resolved = folder, []
                    continue
                if link.startswith("/"):
                    base, resolved = self.root, []
                parts = [p for p in link.split("/") if p] + parts
            elif part == "..":
                resolved = resolved[:-1]
            elif part != ".":
                resolved.append(part)
        return os.path.join(base, *resolved)

    def _mounted(self, candidate: str, link: str) -> str | None:
        """The filesystem folder (.xenbook-sample/volumes/<id>) that the link at candidate enters when candidate is
        a mount point the sample's mount made; None for every other link, which resolves inside DIR."""
        volumes = os.path.join(self.outer.root, VOLUMES.lstrip("/"))
        folder = os.path.normpath(os.path.join(os.path.dirname(candidate), link))
        if link.startswith("/") or os.path.dirname(folder) != volumes:
            return None
        if any(os.path.islink(p) for p in (os.path.dirname(volumes), volumes, folder)) or not os.path.isdir(folder):
            return None
        points = {os.path.join(self.outer.real(posixpath.dirname(m["target"])), posixpath.basename(m["target"]))
                  for m in self.outer.load_state()["mounts"] if "covered" in m}
        return folder if candidate in points else None


def _outer(host) -> SampleHost:
    return getattr(host, "outer", host)


def _is_mount(host, path: str) -> bool:
    return any(m["target"] == path for m in host.load_state()["mounts"])


def arch_chroot(host, argv, stdin) -> Result:
    args = argv[1:]
    if not args or args[0].startswith("-"):
        return Result(1, "usage: arch-chroot [options] chroot-dir [command] [arguments...]\n"
                         "[simulated] xenbook's sample host simulates arch-chroot DIR COMMAND...\n", "")
    folder, info = _abs(args[0]), host.stat(_abs(args[0]))
    if info is None or info.kind != "dir":
        return Result(1, "", f"==> ERROR: Can't create chroot on non-directory {args[0]}\n")
    warn = "" if _is_mount(host, folder) else \
        f"==> WARNING: {args[0]} is not a mountpoint. This may have undesirable side effects.\n"
    if len(args) == 1:
        return Result(1, "", warn + "[simulated] xenbook's sample host has no interactive shell: name a command\n")
    from xenbook_sample.programs import run_program  # at run time: programs registers this module's programs
    result = run_program(ChrootView(_outer(host), folder), Command(tuple(args[1:]), stdin))
    return Result(result.returncode, result.stdout, warn + result.stderr)


# pacstrap: a minimal Arch tree (stand-ins), its pacman database, and the linux preset's initramfs images

def _unit(description: str, start: str, install: str) -> str:
    return ("#  SIMULATED unit of xenbook's sample host; [Install] as in the real one.\n\n"
            f"[Unit]\nDescription={description}\n\n[Service]\nExecStart={start}\n\n[Install]\n{install}\n")


UNITS = "/usr/lib/systemd/system"
VERSIONS = {p[0]: p[1] for p in PACKAGES} | {n: i["version"] for n, i in REPO.items()} | {
    "filesystem": "2025.10.12-1", "glibc": "2.42+r17+gd7274d718e6f-1", "bash": "5.3.3-2", "coreutils": "9.8-2",
    "util-linux": "2.41.2-1", "kmod": "34.2-1", "archlinux-keyring": "20251116-1"}
DEPENDS = {"base": ["filesystem", "glibc", "bash", "coreutils", "util-linux", "systemd", "pacman",
                    "archlinux-keyring"], "linux": ["mkinitcpio", "kmod"]}


def _package_files(name: str, kver: str) -> dict[str, tuple[int, str]]:
    shadow = "".join(f"{u.split(':')[0]}:{'*' if u.startswith('root:') else '!*'}:14871::::::\n"
                     for u in DEFAULT_PASSWD.splitlines())
    files = {
        "filesystem": {"/etc/arch-release": (0o644, ""), "/usr/lib/os-release": (0o644, _data("os-release").decode()),
                       "/etc/passwd": (0o644, DEFAULT_PASSWD), "/etc/shadow": (0o600, shadow),
                       "/etc/fstab": (0o644, "# Static information about the filesystems.\n# See fstab(5) for "
                                             "details.\n\n# <file system> <dir> <type> <options> <dump> <pass>\n")},
        "linux": {f"/usr/lib/modules/{kver}/pkgbase": (0o644, "linux\n"),
                  f"/usr/lib/modules/{kver}/vmlinuz": (0o644, stand_in(f"Linux {kver} kernel image").decode())},
        "mkinitcpio": {"/etc/mkinitcpio.conf": (0o644, _data("mkinitcpio.conf").decode())},
        "pacman": {"/etc/pacman.conf": (0o644, _data("pacman.conf").decode())},
        "systemd": {f"{UNITS}/serial-getty@.service": (0o644, _unit(
                        "Serial Getty on %I", "-/sbin/agetty -o '-- \\\\u' --noreset --noclear --keep-baud "
                        "115200,57600,38400,9600 - ${TERM}", "WantedBy=getty.target")),
                    f"{UNITS}/systemd-networkd.service": (0o644, _unit(
                        "Network Configuration", "!!/usr/lib/systemd/systemd-networkd",
                        "WantedBy=multi-user.target\nAlso=systemd-networkd.socket\nAlias=dbus-org.freedesktop."
                        "network1.service\nAlso=systemd-networkd-wait-online.service")),
                    f"{UNITS}/systemd-networkd.socket": (0o644, "[Unit]\nDescription=Network Service Netlink "
                                                                "Socket\n\n[Install]\nWantedBy=sockets.target\n"),
                    f"{UNITS}/systemd-networkd-wait-online.service": (0o644, _unit(
                        "Wait for Network to be Configured", "/usr/lib/systemd/systemd-networkd-wait-online",
                        "WantedBy=network-online.target")),
                    **{f"{UNITS}/{t}.target": (0o644, f"[Unit]\nDescription={t}\n") for t in (
                        "multi-user", "getty", "sockets", "sysinit", "network-online")},
                    f"{UNITS}/systemd-resolved.service": (0o644, _unit(
                        "Network Name Resolution", "!!/usr/lib/systemd/systemd-resolved",
                        "WantedBy=sysinit.target\nAlias=dbus-org.freedesktop.resolve1.service"))},
        "openssh": {f"{UNITS}/sshd.service": (0o644, _unit("OpenSSH Daemon", "/usr/bin/sshd -D",
                                                           "WantedBy=multi-user.target")),
                    "/etc/ssh/sshd_config": (0o644, "Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractive"
                                                    "Authentication no\nUsePAM yes\nSubsystem\tsftp\t/usr/lib/ssh/"
                                                    "sftp-server\n")}}
    return files.get(name, {})


def pacstrap(host, argv, stdin) -> Result:
    from xenbook_sample.aur import _pause
    from xenbook_sample.packages import _sync, unpack_and_record
    try:
        opts, args = getopt.getopt(argv[1:], "C:cDGiKMNPU")
    except getopt.GetoptError as e:
        return Result(1, "", f"==> ERROR: pacstrap: invalid option -- '{e.opt}'\n")
    if not args:
        return Result(1, "", "==> ERROR: No root directory specified\n")
    folder, targets = args[0], list(dict.fromkeys(args[1:] or ["base"]))
    info = host.stat(_abs(folder))
    if info is None or info.kind != "dir":
        return Result(1, "", f"==> ERROR: {folder}: not a directory\n")
    view, flags = ChrootView(_outer(host), _abs(folder)), {o for o, _ in opts}
    for path, mode in (("/var/lib/pacman", 0o755), ("/var/cache/pacman/pkg", 0o755), ("/var/log", 0o755),
                       ("/dev", 0o755), ("/run", 0o755), ("/etc/pacman.d", 0o755), ("/tmp", 0o1777),
                       ("/sys", 0o555), ("/proc", 0o555), ("/root", 0o700), ("/boot", 0o755),
                       ("/etc/mkinitcpio.conf.d", 0o755), ("/etc/mkinitcpio.d", 0o755), ("/etc/systemd/system", 0o755),
                       ("/etc/systemd/network", 0o755)):
        view.makedirs(path)
        os.chmod(view.real(path), mode)
    out = f"==> Creating install root at {folder}\n"
    if "-K" in flags and not view.exists("/etc/pacman.d/gnupg"):
        view.makedirs("/etc/pacman.d/gnupg")
        out += "==> Generating pacman master key. This may take some time.\n==> Updating trust database...\n"
    view.write_atomic("/etc/pacman.conf", host.read_bytes("/etc/pacman.conf") or _data("pacman.conf"))
    synced, err, rc = _sync(view)  # pacman --root DIR -Sy: the host's repositories, DIR's database
    out += f"==> Installing packages to {folder}\n" + synced
    if rc:
        return Result(1, out, err + "==> ERROR: Failed to install packages to new root\n")
    _pause()
    deps = [d for t in targets for d in DEPENDS.get(t, []) if d not in targets]
    wanted = list(dict.fromkeys(deps)) + targets
    kver = host.load_state()["running"]["kernel_release"]
    out += ("resolving dependencies...\nlooking for conflicting packages...\n\nPackages "
            f"({len(wanted)}) {'  '.join(n + '-' + VERSIONS.get(n, '1.0-1') for n in wanted)}\n\n"
            ":: Proceed with installation? [Y/n] \n:: Processing package changes...\n")
    for n in wanted:
        unpack_and_record(view, {"name": n, "version": VERSIONS.get(n, "1.0-1"), "arch": "x86_64",
                                 "desc": f"{n} (SIMULATED repository package)", "files": _package_files(n, kver)}, n in deps)
        out += f"installing {n}...\n"
    if not view.exists("/etc/os-release") and view.exists("/usr/lib/os-release"):
        os.symlink("../usr/lib/os-release", view.real("/etc/os-release"))
    if host.exists("/etc/pacman.d/mirrorlist") and "-M" not in flags:
        view.write_atomic("/etc/pacman.d/mirrorlist", host.read_bytes("/etc/pacman.d/mirrorlist"))
    out += ":: Running post-transaction hooks...\n"
    if "linux" in wanted:
        view.write_atomic("/boot/vmlinuz-linux", stand_in(f"Linux {kver} kernel image"), mode=0o644)
        view.write_atomic("/etc/mkinitcpio.d/linux.preset", PRESET.encode(), mode=0o644)
        built, _ = initcpio(view)
        out += "(1/1) Updating linux initcpios...\n" + built
    return Result(0, out + "[simulated] xenbook's sample host wrote a minimal Arch tree of stand-in files and "
                           "the packages' database entries\n", err)


# genfstab, chpasswd

FSCK = {"ext2", "ext3", "ext4", "vfat", "xfs", "exfat", "f2fs", "jfs", "cramfs", "erofs", "minix", "msdos"}


def genfstab(host, argv, stdin) -> Result:
    try:
        opts, args = getopt.getopt(argv[1:], "Lpt:U")
    except getopt.GetoptError as e:
        return Result(1, "", f"==> ERROR: genfstab: invalid option -- '{e.opt}'\n")
    tag = {"-L": "LABEL", "-U": "UUID"}
    bytag = next((tag.get(o) or v.upper() for o, v in reversed(opts) if o in ("-L", "-U", "-t")), "")
    if not args:
        return Result(1, "", "==> ERROR: No root directory specified\n")
    root, state, out = _abs(args[0]), host.load_state(), ""
    if not _is_mount(host, root):
        return Result(1, "", f"==> ERROR: {args[0]} is not a mountpoint\n")
    for m in state["mounts"]:
        if not (m["target"] == root or m["target"].startswith(root.rstrip("/") + "/")):
            continue
        dev = find_device(state, m["source"]) or {}
        uuid, label, src = dev.get("uuid"), dev.get("label"), m["source"]
        spec = f"{bytag}={dev.get(bytag.lower())}" if bytag and dev.get(bytag.lower()) else src.replace(" ", "\\040")
        if bytag == "UUID":
            comment = [src] + [f"LABEL={label}"] * bool(label)
        elif bytag == "LABEL":
            comment = [src, f"UUID={uuid}"] * bool(uuid)
        else:
            comment = ([src] * bool(bytag) + [f"UUID={uuid}"]) * bool(uuid) + [f"LABEL={label}"] * bool(label)
        out += f"# {' '.join(comment)}\n" * bool(comment) + f"{spec:<20}"
        out += "".join(f"\t{x:<10}" for x in ("/" + m["target"][len(root):].lstrip("/"), m["fstype"], m["options"]))
        out += f"\t0 {(1 if m['target'] == root else 2) if m['fstype'] in FSCK else 0}\n\n"
    return Result(0, out, "")


def chpasswd(host, argv, stdin) -> Result:
    opts, args = options("chpasswd", argv, "ec:mR:s:", ["encrypted", "crypt-method=", "md5", "root=", "sha-rounds="])
    given = {o: v for o, v in opts}
    if "-e" not in given and "--encrypted" not in given:
        raise Usage("chpasswd: [simulated] xenbook's sample host simulates only chpasswd -e (hashes on stdin)\n", 1)
    root = given.get("-R", given.get("--root", "/"))
    if host.stat(_abs(root)) is None:
        return Result(3, "", f"chpasswd: cannot chroot in {root}: No such file or directory\n")
    target = ChrootView(_outer(host), _abs(root)) if _abs(root) != "/" else host
    users = {line.split(":")[0] for line in (target.read_text("/etc/passwd") or "").splitlines()}
    shadow = [line.split(":") for line in (target.read_text("/etc/shadow") or "").splitlines() if line]
    errors = ""
    for n, line in enumerate((stdin or b"").decode().splitlines(), 1):
        user, _, secret = line.partition(":")
        if user not in users:
            errors += f"chpasswd: line {n}: user '{user}' does not exist\n"
            continue
        entry = next((e for e in shadow if e[0] == user), None) or [user, "", "", "", "", "", "", "", ""]
        entry[1:3] = [secret, str(int(time.time() // 86400))]
        shadow = [e for e in shadow if e[0] != user] + [entry] if entry not in shadow else shadow
    if errors:
        return Result(1, "", errors + "chpasswd: error detected, changes ignored\n")
    target.write_atomic("/etc/shadow", "".join(":".join(e) + "\n" for e in shadow).encode(), mode=0o600)
    return Result(0, "", "")


PROGRAMS = {"arch-chroot": arch_chroot, "pacstrap": pacstrap, "genfstab": genfstab, "chpasswd": chpasswd}
