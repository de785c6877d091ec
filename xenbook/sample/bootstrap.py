"""The sample host's SIMULATED guest bootstrap: pacstrap, arch-chroot, mkinitcpio, genfstab, chpasswd, rsync, and
the file tools the domU steps call (mkdir, cp, install -D). Programs run in `arch-chroot DIR` see a ChrootView:
DIR as "/", the machine's state shared."""

from __future__ import annotations

import getopt
import os
import posixpath
import re
import shutil
import time

from ..commands import Command, Result
from ..errors import HostError
from ..hosts.base import check_path
from .accounts import DEFAULT_PASSWD
from .accounts import install as install_dirs
from .host import SampleHost, find_device
from .options import Usage, options
from .profiles import PACKAGES
from .repos import REPO
from .storage import _abs, _point, stand_in
from .tree import STATE_DIR, _data


class ChrootView(SampleHost):
    """The sample host as `arch-chroot DIR` sees it: files under DIR (mounts below it followed), state shared."""

    def __init__(self, outer: SampleHost, folder: str):
        self.outer, self.chroot, self.root = outer, folder, outer.real(folder)
        self.target = f"{outer.target} (chroot {folder})"

    def load_state(self) -> dict:
        return self.outer.load_state()

    def save_state(self, state: dict) -> None:
        self.outer.save_state(state)

    def real(self, path: str) -> str:
        """Like RootedHost.real, with absolute links inside DIR and a mount below DIR entering its filesystem."""
        parts, base, resolved, hops = [p for p in check_path(path).split("/") if p], self.root, [], 0
        while parts:
            part = parts.pop(0)
            candidate = os.path.join(base, *resolved, part)
            if os.path.islink(candidate):
                hops += 1
                if hops > 40:
                    raise HostError(f"too many symbolic links under {path}")
                link = os.readlink(candidate)
                if f"{STATE_DIR}/volumes/" in link:
                    base, resolved = os.path.normpath(os.path.join(os.path.dirname(candidate), link)), []
                    continue
                if link.startswith("/"):
                    base, resolved = self.root, []
                parts = [p for p in link.split("/") if p] + parts
            elif part == "..":
                resolved = resolved[:-1]
            elif part != ".":
                resolved.append(part)
        return os.path.join(base, *resolved)


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
    from .programs import run_program  # at run time: programs registers this module's programs
    result = run_program(ChrootView(_outer(host), folder), Command(tuple(args[1:]), stdin))
    return Result(result.returncode, result.stdout, warn + result.stderr)


# mkinitcpio

MODULE_DIRS = {"xen-blkfront": "drivers/block", "xen-netfront": "drivers/net", "xen-fbfront": "drivers/video/fbdev",
               "xen-kbdfront": "drivers/input/misc", "xen-pcifront": "drivers/pci", "xen-scsifront": "drivers/scsi",
               "xen-blkback": "drivers/block/xen-blkback", "xen-netback": "drivers/net/xen-netback",
               "xen-gntdev": "drivers/xen", "xen-gntalloc": "drivers/xen", "xen-evtchn": "drivers/xen",
               "xen-privcmd": "drivers/xen", "xenfs": "drivers/xen/xenfs", "xen-pciback": "drivers/xen/xen-pciback",
               "ext4": "fs/ext4", "btrfs": "fs/btrfs", "xfs": "fs/xfs", "vfat": "fs/fat", "dm-mod": "drivers/md",
               "nvme": "drivers/nvme/host", "ahci": "drivers/ata", "virtio-blk": "drivers/block"}
PRESET = """\
# mkinitcpio preset file for the 'linux' package

#ALL_config="/etc/mkinitcpio.conf"
ALL_kver="/boot/vmlinuz-linux"

PRESETS=('default' 'fallback')

#default_config="/etc/mkinitcpio.conf"
default_image="/boot/initramfs-linux.img"
#default_uki="/efi/EFI/Linux/arch-linux.efi"
#default_options="--splash /usr/share/systemd/bootctl/splash-arch.bmp"

#fallback_config="/etc/mkinitcpio.conf"
fallback_image="/boot/initramfs-linux-fallback.img"
#fallback_uki="/efi/EFI/Linux/arch-linux-fallback.efi"
fallback_options="-S autodetect"
"""


def bash_vars(text: str) -> dict:
    """NAME=value, NAME=(a b) and NAME+=(c) assignments of a bash config file such as mkinitcpio.conf."""
    out: dict = {}
    for m in re.finditer(r"(?m)^[ \t]*([A-Za-z_]\w*)(\+?=)(?:\(([^)]*)\)|\"([^\"]*)\"|'([^']*)'|(\S*))", text):
        if m.group(3) is not None:
            words = [w.strip("'\"") for w in re.sub(r"#[^\n]*", "", m.group(3)).split()]
            out[m.group(1)] = (out.get(m.group(1), []) if m.group(2) == "+=" else []) + words
        else:
            out[m.group(1)] = next(g for g in m.group(4, 5, 6) if g is not None)
    return out


def _build(host, preset: str, name: str, kernel: str, image: str, skip: list[str]) -> tuple[list[str], bool]:
    lines = [f"==> Building image from preset: {preset}: '{name}'",
             "==> Using default configuration file: '/etc/mkinitcpio.conf'",
             f"  -> -k {kernel} -g {image}" + "".join(f" -S {s}" for s in skip)]
    config = host.read_text("/etc/mkinitcpio.conf") or ""
    for drop in sorted(n for n in host.listdir("/etc/mkinitcpio.conf.d") or [] if n.endswith(".conf")):
        lines.append(f"==> Using drop-in configuration file: '{drop}'")
        config += "\n" + (host.read_text(f"/etc/mkinitcpio.conf.d/{drop}") or "")
    found = re.search(r"Linux (\S+) kernel image", host.read_text(kernel) or "")
    if found is None:
        return lines + [f"==> ERROR: specified kernel image does not exist: '{kernel}'"], False
    kver, conf = found.group(1), bash_vars(config)
    hooks = [h for h in conf.get("HOOKS", []) if h not in skip]
    lines += [f"==> Starting build: '{kver}'"] + [f"  -> Running build hook: [{h}]" for h in hooks]
    modules, files = [m.replace("_", "-") for m in conf.get("MODULES", []) if m.rstrip("?")], []
    for m in modules:
        if m.rstrip("?") in MODULE_DIRS:
            files.append(f"usr/lib/modules/{kver}/kernel/{MODULE_DIRS[m.rstrip('?')]}/{m.rstrip('?')}.ko.zst")
        elif not m.endswith("?"):
            lines.append(f"==> ERROR: module not found: '{m}'")
    lines += ["==> Generating module dependencies", f"==> Creating zstd-compressed initcpio image: '{image}'"]
    body = (stand_in("initramfs image").decode() + f"kernel: {kver}\nhooks: {' '.join(hooks)}\n"
            f"modules: {' '.join(m.rstrip('?') for m in modules)}\nfiles:\nbuildconfig\nconfig\ninit\n"
            + "".join(f + "\n" for f in files) + f"usr/lib/modules/{kver}/modules.dep\n")
    host.write_atomic(image, body.encode(), mode=0o600)
    ok = not any(line.startswith("==> ERROR") for line in lines)
    return lines + ["==> Initcpio image generation successful" if ok else
                    "==> WARNING: errors were encountered during the build. The image may not be complete."], ok


def initcpio(host, presets: list[str] | None = None) -> tuple[str, int]:
    """Build every preset (or the named ones) as mkinitcpio -P does: (output, exit code)."""
    names = presets or sorted(n[:-7] for n in host.listdir("/etc/mkinitcpio.d") or [] if n.endswith(".preset"))
    if not names:
        return "==> ERROR: No presets found in /etc/mkinitcpio.d\n", 1
    lines, rc = [], 0
    for name in names:
        path = f"/etc/mkinitcpio.d/{name}.preset"
        conf = bash_vars(host.read_text(path) or "")
        if not conf:
            return f"==> ERROR: Failed to load preset: '{path}'\n", 1
        for p in conf.get("PRESETS", []):
            options_ = (conf.get(f"{p}_options") or "").split()
            skip = [options_[i + 1] for i, o in enumerate(options_[:-1]) if o == "-S"]
            more, ok = _build(host, path, p, conf.get(f"{p}_kver", conf.get("ALL_kver", "")), conf[f"{p}_image"],
                              skip)
            lines, rc = lines + more, rc or (0 if ok else 1)
    return "".join(line + "\n" for line in lines), rc


def mkinitcpio(host, argv, stdin) -> Result:
    opts, args = options("mkinitcpio", argv, "Pp:", ["allpresets", "preset="])
    if not opts:
        raise Usage("[simulated] xenbook's sample host simulates mkinitcpio -P and -p PRESET\n", 1)
    out, rc = initcpio(host, [v for o, v in opts if o in ("-p", "--preset")] or None)
    lines = out.splitlines(keepends=True)
    return Result(rc, "".join(x for x in lines if not x.startswith("==> ERROR")),
                  "".join(x for x in lines if x.startswith("==> ERROR")))


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
    from .aur import _pause
    from .packages import _record, _sync
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
        _record(view, {"name": n, "version": VERSIONS.get(n, "1.0-1"), "arch": "x86_64",
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


# rsync: copy a tree of the sample (mounts followed, the simulator's own folder never), honouring --exclude

def _glob(pattern: str) -> str:
    return "".join(".*" if t == "**" else "[^/]*" if t == "*" else "[^/]" if t == "?" else re.escape(t)
                   for t in re.findall(r"\*\*|\*|\?|[^*?]+", pattern))


def _excluded(patterns: list[str], rel: str, is_dir: bool) -> bool:
    for p in patterns:
        if p.endswith("/") and not is_dir:
            continue
        body = _glob(p.rstrip("/").lstrip("/"))
        if re.fullmatch(body if p.startswith("/") else f"(?:.*/)?{body}", rel.lstrip("/")):
            return True
    return False


def rsync(host, argv, stdin) -> Result:
    try:
        opts, args = getopt.gnu_getopt(argv[1:], "aAXHvxrlptgoD", ["numeric-ids", "exclude=", "one-file-system",
                                                                  "archive", "acls", "xattrs", "hard-links"])
    except getopt.GetoptError as e:
        return Result(1, "", f"rsync: {e.msg}\nrsync error: syntax or usage error (code 1) at main.c(1795) "
                             "[client=3.4.1]\n")
    excludes, one_fs = [v for o, v in opts if o == "--exclude"], any(o in ("-x", "--one-file-system")
                                                                       for o, _ in opts)
    if len(args) != 2:
        raise Usage("rsync: [simulated] xenbook's sample host simulates rsync [-aAXHx] [--exclude=P]... SRC DST\n", 1)
    src, dst = _abs(args[0]), _abs(args[1])
    if host.stat(src) is None:
        return Result(23, "", f'rsync: [sender] change_dir "{src}" failed: No such file or directory (2)\nrsync '
                              "error: some files/attrs were not transferred (see previous errors) (code 23) at "
                              "main.c(1338) [sender=3.4.1]\n")
    base = src if args[0].endswith("/") or host.stat(src).kind != "dir" else posixpath.dirname(src)
    mounts = {m["target"] for m in host.load_state()["mounts"]}

    def copy(path: str, rel: str, to: str) -> None:
        point = _point(host, path) if path != "/" else host.real("/")
        mounted = path in mounts  # a mount point (a link here): rsync descends unless -x
        if os.path.islink(point) and not mounted:
            if os.path.lexists(to):
                os.unlink(to)
            os.symlink(os.readlink(point), to)
        elif os.path.isdir(point):
            os.makedirs(to, exist_ok=True)
            shutil.copystat(host.real(path), to)
            if path == dst or (one_fs and mounted and path != base):
                return
            for name in sorted(os.listdir(host.real(path))):
                child, sub = posixpath.join(path, name), posixpath.join(rel, name)
                if child != f"/{STATE_DIR}" and not _excluded(excludes, sub, os.path.isdir(host.real(child))):
                    copy(child, sub, os.path.join(to, name))
        else:
            shutil.copy2(point, to)

    target = dst if args[0].endswith("/") else posixpath.join(dst, posixpath.basename(src))
    host.makedirs(posixpath.dirname(target) if target != "/" else "/")
    copy(src, "/" + posixpath.relpath(src, base) if src != base else "/", host.real(target))
    return Result(0, "", "")


# mkdir, cp, install, truncate, qemu-img

def mkdir(host, argv, stdin) -> Result:
    opts, args = options("mkdir", argv, "pm:v", ["parents", "mode=", "verbose"])
    given, err = {o: v for o, v in opts}, ""
    mode = given.get("-m", given.get("--mode"))
    if mode is not None and not re.fullmatch(r"[0-7]{1,4}", mode):
        raise Usage(f"mkdir: invalid mode '{mode}'\n[simulated] only octal modes\n", 1)
    parents = "-p" in given or "--parents" in given
    for arg in args:
        path, info = _abs(arg), host.stat(_abs(arg))
        parent = host.stat(posixpath.dirname(path))
        if info is not None and (info.kind != "dir" or not parents):
            err += f"mkdir: cannot create directory '{arg}': File exists\n"
        elif info is None and not parents and (parent is None or parent.kind != "dir"):
            err += f"mkdir: cannot create directory '{arg}': No such file or directory\n"
        elif info is None:
            host.makedirs(path)
            os.chmod(host.real(path), int(mode or "755", 8))
    return Result(1 if err else 0, "", err)


def _copy(host, prog: str, src: str, dst: str, preserve: bool, mode: int | None = None) -> str:
    info = host.stat(_abs(src))
    if info is None:
        return f"{prog}: cannot stat '{src}': No such file or directory\n"
    if info.kind == "dir":
        return f"{prog}: -r not specified; omitting directory '{src}'\n"
    into = host.stat(_abs(dst)) is not None and host.stat(_abs(dst)).kind == "dir"
    target = posixpath.join(_abs(dst), posixpath.basename(src)) if into else _abs(dst)
    parent = host.stat(posixpath.dirname(target))
    if parent is None or parent.kind != "dir" or (dst.endswith("/") and not into):
        why = "Not a directory" if dst.endswith("/") else "No such file or directory"
        return f"{prog}: cannot create regular file '{dst}': {why}\n"
    (shutil.copy2 if preserve else shutil.copyfile)(host.real(_abs(src)), host.real(target))
    os.chmod(host.real(target), info.mode if mode is None else mode)
    return ""


def cp(host, argv, stdin) -> Result:
    opts, args = options("cp", argv, "pafT", ["preserve=", "archive", "force", "no-target-directory"])
    if len(args) < 2:
        raise Usage(f"cp: missing destination file operand after '{args[0] if args else ''}'\n"
                    "Try 'cp --help' for more information.\n", 1)
    keep = any(o in ("-p", "-a", "--archive", "--preserve") for o, _ in opts)
    err = "".join(_copy(host, "cp", s, args[-1], keep) for s in args[:-1])
    return Result(1 if err else 0, "", err)


def install(host, argv, stdin) -> Result:
    opts, args = options("install", argv, "dDm:o:g:pC", ["directory", "mode=", "owner=", "group=",
                                                         "preserve-timestamps", "compare"])
    flags = {o: v for o, v in opts}
    if "-d" in flags or "--directory" in flags:
        return install_dirs(host, argv, stdin)
    if len(args) != 2:
        raise Usage("install: [simulated] xenbook's sample host simulates install [-D] [-m MODE] SRC DST\n", 1)
    if "-D" in flags:
        host.makedirs(posixpath.dirname(_abs(args[1])))
    err = _copy(host, "install", args[0], args[1], "-p" in flags, int(flags.get("-m", flags.get("--mode", "755")), 8))
    return Result(1 if err else 0, "", err)


PROGRAMS = {"arch-chroot": arch_chroot, "mkinitcpio": mkinitcpio, "pacstrap": pacstrap, "genfstab": genfstab,
            "chpasswd": chpasswd, "rsync": rsync, "mkdir": mkdir, "cp": cp, "install": install}
