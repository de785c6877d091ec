"""Hosts whose files are reached only through commands: the base of the one over SSH (ssh.py), and this machine
through sudo."""

from __future__ import annotations

import shlex
import stat as statmod
from abc import abstractmethod
from typing import Sequence

from xenbook.connectors.process import OnLine, Raw, spawn
from xenbook.core.commands import Command, Result, output_tail
from xenbook.core.errors import HostError, TargetError
from xenbook.core.host import FileInfo, Host, Validate, check_path


_SUDO = ("sudo", "-n", "--")
_MISSING = 44  # exit code of the scripts below for "no such path"
_KINDS = {statmod.S_IFREG: "file", statmod.S_IFDIR: "dir", statmod.S_IFLNK: "link"}

# Constant scripts: paths arrive as positional parameters and are never pasted into script text.
# Directories come from ${p%/*} rather than $(dirname), which would drop trailing newlines of names.
# When a path does not exist, _ABSENT exits 44 unless an unsearchable directory hides it.
_ABSENT = ('d=$1; while d=${d%/*}; d=${d:-/}; [ ! -e "$d" ]; do :; done; '
           'if [ ! -d "$d" ] || [ -x "$d" ]; then exit 44; fi; '
           'echo "permission denied: cannot search $d" >&2; exit 1')
# Only a regular file is read or replaced: cat on a FIFO would wait for a writer forever, on a device read it.
_KIND = ('if [ -d "$1" ]; then k="a directory"; elif [ -p "$1" ]; then k="a FIFO (named pipe)"; '
         'elif [ -S "$1" ]; then k="a socket"; elif [ -c "$1" ]; then k="a character device"; '
         'elif [ -b "$1" ]; then k="a block device"; else k="not a regular file"; fi; '
         'echo "$1 is $k where a regular file should be; xenbook neither reads nor replaces it: remove it or '
         'move it away (and put the real file back), then plan again" >&2; exit 46')
_NOT_REGULAR = 46
_REGULAR_ONLY = 'if [ -e "$1" ] && [ ! -f "$1" ]; then ' + _KIND + '; fi; '  # a FIFO there would be waited on
_READ = f'if [ -f "$1" ]; then exec cat -- "$1"; fi; if [ -e "$1" ]; then {_KIND}; fi; {_ABSENT}'
_STAT = f'if [ -e "$1" ]; then exec stat -L -c "%f %u %g %s" -- "$1"; fi; {_ABSENT}'
_LIST = 'if [ -d "$1" ]; then exec find -H "$1" -mindepth 1 -maxdepth 1 -printf "%f\\0"; fi; exit 44'
# Writes follow symbolic links, like the local hosts do; prints "TEMP\0REAL-PATH". On filesystems without
# Unix modes (the vfat EFI partition) a refused chmod or chown is fine: the mount options decide them.
_PREPARE = ('p=$(readlink -f -- "$1"; echo x); p=${p%x}; p=${p%?}; d=${p%/*}; d=${d:-/}; b=${p##*/}; '
            '[ -n "$p" ] && [ -d "$d" ] || { echo "directory of $1 does not exist" >&2; exit 1; }; '
            '[ ! -e "$p" ] || [ -f "$p" ] || { ' + _KIND + '; }; '
            'set -e; rm -f -- "${d%/}/.$b.xenbook-"??????; '  # what a killed run left of an earlier write
            't=$(mktemp -- "${d%/}/.$b.xenbook-XXXXXX"); trap \'rm -f -- "$t"\' EXIT; '
            'cat > "$t"; '
            'case $(stat -f -c %T -- "$d") in msdos|vfat|fuseblk|exfat) f=1;; *) f=;; esac; '
            '{ if [ -e "$p" ]; then chown --reference="$p" -- "$t"; fi; '
            'if [ -n "$2" ]; then chmod -- "$2" "$t"; '
            'elif [ -e "$p" ]; then chmod --reference="$p" -- "$t"; else chmod 0644 -- "$t"; fi; } '
            '|| [ -n "$f" ]; '
            'sync -- "$t"; trap - EXIT; printf "%s\\0%s" "$t" "$p"')
_REPLACE = 'mv -f -T -- "$1" "$2" || exit; d=${2%/*}; sync -- "${d:-/}" 2>/dev/null; exit 0'
# A backup is durable before the ledger names it: sync(1) fsyncs the copy and every folder above it (coreutils 8.24+).
_COPY = (_REGULAR_ONLY +
         'd=${2%/*}; mkdir -p -- "${d:-/}" && cp -p -- "$1" "$2" || exit; '
         'set -- "$2"; while [ -n "$d" ]; do set -- "$@" "$d"; d=${d%/*}; done; exec sync -- "$@" /')
_HAVE = 'command -v -- "$1"'
# A validator run on a copy of the candidate (data on stdin) in a private temporary file beside path ($1): every
# argument "{path}" of the validator ($2...) becomes that file, removed when the validator ends.
# What a killed run left of an earlier check in that directory is removed first (applies hold the target's lock).
_CHECK = ('p=$1; shift; d=${p%/*}; d=${d:-/}; rm -f -- "${d%/}/.xenbook-check-"??????; '
          'f() { echo "xenbook: cannot copy the candidate beside $p" >&2; exit 125; }; '
          't=$(mktemp -- "${d%/}/.xenbook-check-XXXXXX") || f; trap \'rm -f -- "$t"\' EXIT; cat > "$t" || f; '
          'for a; do shift; if [ "$a" = "{path}" ]; then set -- "$@" "$t"; else set -- "$@" "$a"; fi; done; '
          '"$@"; r=$?; rm -f -- "$t"; trap - EXIT; exit $r')
# The ledger's appends and the lock's exclusive create (noclobber: O_EXCL for a new file); exit 45: it exists.
# Neither waits on a FIFO (or writes a device) where the file should be: such a path is refused with _KIND's words.
_APPEND = (_REGULAR_ONLY +
           '[ -e "$1" ] || n=1; umask 077; cat >> "$1" || exit; [ -z "$n" ] || chmod -- "$2" "$1"; sync -- "$1"')
_CREATE = (_REGULAR_ONLY +
           'set -C; if ! (cat > "$1") 2>/dev/null; then [ -f "$1" ] && exit 45; echo "cannot create $1" >&2; '
           'exit 1; fi; chmod -- "$2" "$1" && sync -- "$1"')


class CommandFilesHost(Host):
    """A host whose file operations are all fixed argv commands sent through run."""

    @abstractmethod
    def _run_bytes(self, argv: Sequence[str], stdin: bytes | None = None, *, timeout: float | None = None,
                   on_line: OnLine | None = None) -> Raw:
        """Run argv on the host; return (exit code, exact stdout bytes, stderr text)."""

    def run(self, command: Command, *, timeout: float | None = None, on_line: OnLine | None = None) -> Result:
        rc, out, err = self._run_bytes(command.argv, command.stdin, timeout=timeout, on_line=on_line)
        return Result(rc, out.decode(errors="replace"), err)

    def _sh(self, script: str, *args: str, stdin: bytes | None = None) -> Raw:
        """Run a constant sh script with args as its positional parameters."""
        return self._run_bytes(("sh", "-c", script, "sh") + args, stdin)

    def _fail(self, what: str, path: str, raw: Raw) -> HostError:
        """A HostError naming the operation, path, exit code and stderr tail; a script's refusal of what is no regular
        file (exit 46) in its own words."""
        if raw[0] == _NOT_REGULAR:
            return HostError(raw[2].strip())
        return HostError(f"{what} {path} on {self.target} failed (exit {raw[0]}){output_tail(raw[2], 5)}")

    def read_bytes(self, path: str) -> bytes | None:
        path = check_path(path)
        raw = self._sh(_READ, path)
        if raw[0] == _MISSING:
            return None
        if raw[0] != 0:
            raise self._fail("reading", path, raw)
        return raw[1]

    def stat(self, path: str) -> FileInfo | None:
        path = check_path(path)
        raw = self._sh(_STAT, path)
        if raw[0] == _MISSING:
            return None
        try:
            if raw[0] != 0:
                raise ValueError
            mode, uid, gid, size = raw[1].decode().split()
            bits = int(mode, 16)
        except ValueError:
            raise self._fail("stat of", path, raw) from None
        kind = _KINDS.get(statmod.S_IFMT(bits), "other")
        return FileInfo(kind, statmod.S_IMODE(bits), int(uid), int(gid), int(size))

    def listdir(self, path: str) -> list[str] | None:
        path = check_path(path)
        raw = self._sh(_LIST, path)
        if raw[0] == _MISSING:
            return None
        if raw[0] != 0:
            raise self._fail("listing", path, raw)
        names = raw[1].split(b"\0")
        return sorted(n.decode(errors="surrogateescape") for n in names if n)

    def write_atomic(self, path: str, data: bytes, *, mode: int | None = None,
                     validate: Validate | None = None) -> None:
        path = check_path(path)
        raw = self._sh(_PREPARE, path, "" if mode is None else f"{mode:04o}", stdin=data)
        if raw[0] != 0:
            raise self._fail("writing", path, raw)
        tmp, real = raw[1].decode(errors="surrogateescape").split("\0", 1)
        try:
            if validate is not None:
                validate(tmp)
            raw = self._sh(_REPLACE, tmp, real)
            if raw[0] != 0:
                raise self._fail("replacing", path, raw)
        except BaseException:
            self._run_bytes(("rm", "-f", "--", tmp))
            raise

    def makedirs(self, path: str, mode: int = 0o755) -> None:
        path = check_path(path)
        raw = self._run_bytes(("mkdir", "-p", "-m", f"{mode:04o}", "--", path))
        if raw[0] != 0:
            raise self._fail("creating directory", path, raw)

    def remove(self, path: str) -> None:
        path = check_path(path)
        raw = self._run_bytes(("rm", "-f", "--", path))
        if raw[0] != 0:
            raise self._fail("removing", path, raw)

    def remove_tree(self, path: str) -> None:
        path = check_path(path)
        if path == "/":
            raise HostError("refusing to remove the root directory")
        raw = self._run_bytes(("rm", "-rf", "--one-file-system", "--", path))  # rm -r never follows links
        if raw[0] != 0:
            raise self._fail("removing", path, raw)

    def copy_file(self, src: str, dst: str) -> None:
        src, dst = check_path(src), check_path(dst)
        raw = self._sh(_COPY, src, dst)
        if raw[0] != 0:
            raise self._fail(f"copying {src} to", dst, raw)

    def append(self, path: str, data: bytes, *, mode: int = 0o600) -> None:
        raw = self._sh(_APPEND, check_path(path), f"{mode:04o}", stdin=data)
        if raw[0] != 0:
            raise self._fail("appending to", path, raw)

    def create_exclusive(self, path: str, data: bytes, *, mode: int = 0o644) -> bool:
        raw = self._sh(_CREATE, check_path(path), f"{mode:04o}", stdin=data)
        if raw[0] not in (0, 45):
            raise self._fail("creating", path, raw)
        return raw[0] == 0

    def _have(self, program: str) -> bool:
        """Whether program is installed on the host (on the PATH its commands see)."""
        return self._sh(_HAVE, program)[0] == 0

    def exec_validator(self, argv: Sequence[str], path: str, data: bytes | None = None) -> Result | None:
        path = check_path(path)
        if not self._have(argv[0]):
            return None
        if data is None:
            return self.run(Command(tuple(path if a == "{path}" else a for a in argv)))
        if "{path}" not in argv:
            return self.run(Command(tuple(argv), stdin=data))
        rc, out, err = self._sh(_CHECK, path, *argv, stdin=data)
        if rc == 125 and "xenbook: cannot copy the candidate" in err:
            raise HostError(f"cannot copy the candidate of {path} beside it on {self.target} to validate it "
                            f"(exit {rc}){output_tail(err, 5)}")
        return Result(rc, out.decode(errors="replace"), err)


def remote_command(argv: Sequence[str], *, sudo: bool = False) -> str:
    """The one place argv becomes a shell string: what ssh hands to the remote login shell."""
    return shlex.join((_SUDO if sudo else ()) + tuple(argv))


class SudoLocalHost(CommandFilesHost):
    """This machine, every command run through 'sudo -n' so nothing prompts for a password."""

    target = "local"

    def terminal(self, command: Command) -> list[str]:
        return list(_SUDO + tuple(command.argv))

    def _run_bytes(self, argv, stdin=None, *, timeout=None, on_line=None) -> Raw:
        try:
            return spawn(_SUDO + tuple(argv), stdin, timeout=timeout, on_line=on_line)
        except FileNotFoundError:
            raise TargetError("sudo is not installed here; install it or run xenbook as root") from None
