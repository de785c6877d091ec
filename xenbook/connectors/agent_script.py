"""The agent an ssh target runs for the length of one connection: shipped as this file's text over the connection's
one session and started by python3 there, it reads files and runs argv lists on request, so that a plan costs one
SSH session instead of one per read.

It imports only the standard library (it runs on the host's own Python 3.6 or newer, outside any venv) and never
imports xenbook. Requests and replies are frames: a 4-byte big-endian length, then that many bytes. Each message
is two frames, a JSON header and a data frame (file contents, a command's stdin or stdout, often empty). Strings
that are not UTF-8 (file names, arguments) cross as surrogate escapes, which JSON carries as \\udcXX.

Requests: {"op": "read"|"stat"|"list", "path": P}; {"op": "run", "argv": [...], "timeout": S|null, "stream": B}
with stdin in the data frame when "stdin" is true (else /dev/null); {"op": "batch", "ops": [request, ...]}; and
the writes below. Replies: for a file, {"missing": true}, {"error": TEXT, "kind": "not_regular"|"denied"}, or
the answer ({"size": N} with the bytes in the data frame; {"stat": [KIND, MODE, UID, GID, SIZE]}; {"names": [...]}); for a command, any number of
{"line": TEXT} headers while it runs (when streamed), then {"rc": N, "err": TEXT} with stdout as data; for a batch,
{"results": [reply, ...]} with the replies' data frames joined in the data frame, each reply's "size" its share.
"""

import glob
import json
import os
import random
import selectors
import shutil
import stat
import struct
import subprocess
import sys
import time

HELLO = b"xenbook-agent 1\n"
_KINDS = {stat.S_IFREG: "file", stat.S_IFDIR: "dir", stat.S_IFLNK: "link"}
_NOT_REGULAR = [(stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
                (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")]


def _fs(text):
    return os.fsencode(text)


def _text(raw):
    return os.fsdecode(raw)


def _missing_or_denied(path, error):
    """A read of a path that is not there: missing, unless an unsearchable directory hides it."""
    if isinstance(error, PermissionError):
        return {"error": "permission denied: cannot reach " + path, "kind": "denied"}, b""
    return {"missing": True}, b""


def _kind(path):
    """(stat of path, or None; the refusal when it is missing, unreachable or no regular file, or None)."""
    try:
        info = os.stat(_fs(path))
    except OSError as e:
        return None, _missing_or_denied(path, e)[0]
    if not stat.S_ISREG(info.st_mode):
        what = next((w for test, w in _NOT_REGULAR if test(info.st_mode)), "not a regular file")
        return info, {"error": path + " is " + what + " where a regular file should be; xenbook neither reads nor "
                      "replaces it: remove it or move it away (and put the real file back), then plan again",
                      "kind": "not_regular"}
    return info, None


def do_read(path):
    info, refused = _kind(path)
    if refused:
        return refused, b""
    try:
        with open(_fs(path), "rb") as f:
            data = f.read()
    except OSError as e:
        return _missing_or_denied(path, e)
    return {"size": len(data)}, data


def do_stat(path):
    try:
        info = os.stat(_fs(path))
    except OSError as e:
        return _missing_or_denied(path, e)
    kind = _KINDS.get(stat.S_IFMT(info.st_mode), "other")
    return {"stat": [kind, stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid, info.st_size]}, b""


def do_list(path):
    try:
        names = os.listdir(_fs(path))
    except NotADirectoryError:
        return {"missing": True}, b""
    except OSError as e:
        return _missing_or_denied(path, e)
    return {"names": sorted(_text(n) for n in names)}, b""


def do_run(request, data, send):
    """Run argv without a shell; stdout lines go out as they come when streamed; 124 at the timeout."""
    argv = [_fs(a) for a in request["argv"]]
    feed = request.get("stdin", False)
    timeout = request.get("timeout")
    if timeout is not None and not (isinstance(timeout, (int, float)) and 0 < timeout < 1e9):
        return {"rc": 2, "err": "xenbook-agent: a timeout must be a number of seconds above 0: " + repr(timeout)}, b""
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE if feed else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as e:
        code = 127 if isinstance(e, FileNotFoundError) else 126
        return {"rc": code, "err": request["argv"][0] + ": " + (e.strerror or str(e))}, b""
    deadline = None if timeout is None else time.monotonic() + timeout
    got = {proc.stdout.fileno(): bytearray(), proc.stderr.fileno(): bytearray()}
    out_fd, pending, finished = proc.stdout.fileno(), b"", True
    sel = selectors.DefaultSelector()
    for fd in got:
        sel.register(fd, selectors.EVENT_READ)
    if feed:
        os.set_blocking(proc.stdin.fileno(), False)
        sel.register(proc.stdin.fileno(), selectors.EVENT_WRITE)
    view = memoryview(data)
    try:
        while sel.get_map():
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                finished = False
                break
            for key, _ in sel.select(3600 if left is None else min(left, 3600)):
                if key.fd not in got:  # stdin: write what it takes
                    try:
                        view = view[os.write(key.fd, view[:65536]):] if view else view
                    except (BrokenPipeError, OSError):
                        view = view[:0]
                    if not view:
                        sel.unregister(key.fd)
                        proc.stdin.close()
                    continue
                block = os.read(key.fd, 65536)
                if not block:
                    sel.unregister(key.fd)
                got[key.fd] += block
                if key.fd == out_fd and request.get("stream"):
                    lines = (pending + block).split(b"\n")
                    pending = lines.pop()
                    if not block and pending:
                        lines, pending = lines + [pending], b""
                    for line in lines:
                        send({"line": line.decode("utf-8", "replace")}, b"")
        if finished and deadline is not None:
            proc.wait(max(deadline - time.monotonic(), 0.001))
        elif finished:
            proc.wait()
    except subprocess.TimeoutExpired:
        finished = False
    finally:
        sel.close()
        if proc.poll() is None:  # timed out, or the agent itself is failing
            proc.kill()
        proc.wait()
    if not finished:
        return {"rc": 124, "err": request["argv"][0] + ": timed out after " + str(timeout) + " s"}, bytes(got[out_fd])
    err = bytes(got[proc.stderr.fileno()]).decode("utf-8", "replace")
    return {"rc": proc.returncode, "err": err}, bytes(got[out_fd])


FILE_OPS = {"read": do_read, "stat": do_stat, "list": do_list}
# Writes, as remote.py's sh scripts make them (the same contract, without a program per step): each answers
# {"ok": ...} or {"error": TEXT, "kind": ...}.
_LOOSE_FS = ("msdos", "vfat", "fuseblk", "exfat")  # no Unix modes: a refused chmod or chown is the mount's choice
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _sync(path, directory=False):
    fd = os.open(_fs(path), os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fstype(folder):
    try:
        return subprocess.run(["stat", "-f", "-c", "%T", "--", folder], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL).stdout.decode().strip()
    except OSError:
        return ""


def _temp(folder, prefix):
    """A new file folder/prefix + 6 letters (mktemp's XXXXXX), mode 0600: (its path, an open descriptor)."""
    for _ in range(100):
        name = folder.rstrip("/") + "/" + prefix + "".join(random.SystemRandom().choice(_LETTERS) for _ in range(6))
        try:
            return name, os.open(_fs(name), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            continue
    raise OSError("no free temporary name in " + folder)


def _not_regular(path):
    """The refusal of a path that exists and is no regular file (a link loop too), or None."""
    _, reply = _kind(path)
    if reply and "error" in reply:
        return reply
    if reply and reply.get("missing") and os.path.lexists(_fs(path)):
        return {"error": path + " is a symbolic link that leads nowhere xenbook can write (a loop, or an "
                "unsearchable folder); remove it or point it at the real file", "kind": "other"}
    return None


def do_prepare(request, data):
    """The candidate beside the real path (links followed), owner and mode as the file's, on disk: [temp, real].
    Owner and mode are set on the open candidate, never through its name, which others may write beside."""
    path, mode = request["path"], request.get("mode")
    real = _text(os.path.realpath(_fs(path)))
    folder, base = real.rsplit("/", 1)
    folder = folder or "/"
    if not os.path.isdir(_fs(folder)):
        return {"error": "directory of " + path + " does not exist", "kind": "other"}, b""
    if os.path.lexists(_fs(real)) and not os.path.isfile(_fs(real)):
        return _not_regular(real) or {"error": real + " cannot be replaced", "kind": "other"}, b""
    for old in glob.glob(glob.escape(_fs(folder.rstrip("/") + "/." + base + ".xenbook-")) + b"??????"):
        os.unlink(old)  # what a killed run left of an earlier write
    temp, fd = _temp(folder, "." + base + ".xenbook-")
    try:
        info = os.stat(_fs(real)) if os.path.exists(_fs(real)) else None
        try:
            if info is not None:
                os.fchown(fd, info.st_uid, info.st_gid)
            os.fchmod(fd, int(mode, 8) if mode else (stat.S_IMODE(info.st_mode) if info is not None else 0o644))
        except PermissionError:
            if _fstype(folder) not in _LOOSE_FS:
                raise
        _fill(fd, data, "")
    except BaseException:
        os.unlink(_fs(temp))
        raise
    finally:
        try:
            os.close(fd)
        except OSError:
            pass  # _fill closed it
    return {"ok": [temp, real]}, b""


def do_replace(request, data):
    temp, real = request["temp"], request["path"]
    os.rename(_fs(temp), _fs(real))
    try:
        _sync(real.rsplit("/", 1)[0] or "/", directory=True)
    except OSError:
        pass
    return {"ok": True}, b""


def do_copy(request, data):
    """A backup: src copied with its mode, owner and times, then it and every folder above it synced."""
    src, dst = request["path"], request["to"]
    refused = _not_regular(src)
    if refused:
        return refused, b""
    folder = dst.rsplit("/", 1)[0] or "/"
    os.makedirs(_fs(folder), exist_ok=True)
    shutil.copy2(_fs(src), _fs(dst))
    info = os.stat(_fs(src))
    try:
        os.chown(_fs(dst), info.st_uid, info.st_gid)
    except PermissionError:
        pass  # as cp -p: the owner only where it may be given
    _sync(dst)
    while folder not in ("", "/"):
        _sync(folder, directory=True)
        folder = folder.rsplit("/", 1)[0]
    _sync("/", directory=True)
    return {"ok": True}, b""


def _fill(fd, data, mode):
    """All of data written to the open file, its mode set (when given), on disk; the file closed."""
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        if mode:
            os.fchmod(fd, int(mode, 8))
        os.fsync(fd)
    finally:
        os.close(fd)


def _regular_fd(path, flags):
    """path opened without waiting (a FIFO without a reader would block), refused unless a regular file."""
    fd = os.open(_fs(path), flags | os.O_NONBLOCK, 0o600)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    os.set_blocking(fd, True)
    return fd


def do_append(request, data):
    path, new = request["path"], not os.path.lexists(_fs(request["path"]))
    if not new and (_not_regular(path) or not os.path.exists(_fs(path))):
        return _not_regular(path) or {"error": "cannot append to " + path, "kind": "other"}, b""
    fd = _regular_fd(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    if fd is None:
        return _not_regular(path) or {"error": path + " is not a regular file", "kind": "not_regular"}, b""
    _fill(fd, data, request["mode"] if new else "")
    return {"ok": True}, b""


def do_create(request, data):
    """An exclusive create: {"ok": false} when the path exists."""
    path = request["path"]
    try:
        fd = os.open(_fs(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if os.path.isfile(_fs(path)):
            return {"ok": False}, b""
        return _not_regular(path) or {"error": "cannot create " + path, "kind": "other"}, b""
    _fill(fd, data, request["mode"])
    return {"ok": True}, b""


def do_have(request, data):
    return {"ok": shutil.which(request["path"]) is not None}, b""


WRITE_OPS = {"prepare": do_prepare, "replace": do_replace, "copy": do_copy, "append": do_append,
             "create": do_create, "have": do_have}


def answer(request, data, send):
    op = request.get("op")
    if op in FILE_OPS:
        return FILE_OPS[op](request["path"])
    if op == "run":
        return do_run(request, data, send)
    if op in WRITE_OPS:
        try:
            return WRITE_OPS[op](request, data)
        except OSError as e:
            return {"error": (e.strerror or str(e)) + (": " + _text(e.filename) if e.filename else ""),
                    "kind": "other"}, b""
    if op == "batch":
        replies, blobs = [], []
        for item in request["ops"]:
            reply, blob = answer(item, b"", lambda *a: None)
            reply["size"] = len(blob)
            replies.append(reply)
            blobs.append(blob)
        return {"results": replies}, b"".join(blobs)
    return {"error": "unknown request " + repr(op), "kind": "protocol"}, b""


def main(stdin, stdout):
    def frame():
        head = stdin.read(4)
        if len(head) < 4:
            return None
        size = struct.unpack(">I", head)[0]
        body = stdin.read(size)
        if len(body) < size:
            return None
        return body

    def send(header, data):
        raw = json.dumps(header).encode()
        stdout.write(struct.pack(">I", len(raw)) + raw + struct.pack(">I", len(data)) + data)
        stdout.flush()

    stdout.write(HELLO)
    stdout.flush()
    while True:
        header, data = frame(), frame()
        if header is None or data is None:
            return
        reply, blob = answer(json.loads(header.decode()), data, send)
        send(reply, blob)


if __name__ == "__main__":
    main(sys.stdin.buffer, sys.stdout.buffer)
