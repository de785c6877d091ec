"""The sample host's SIMULATED gpg: each user's public keyring and a keyserver that knows the sample AUR's keys.

gpg [--batch] --list-keys FPR... and gpg [--batch] [--keyserver URL] --recv-keys FPR... print what GnuPG prints.
The keyring is ~/.gnupg/pubring.kbx of the user who runs gpg (runuser sets HOME; GNUPGHOME wins), here a labelled
text file with one fingerprint a line. makepkg (aur.py) verifies signed sources against the same keyring. The
state's "faults" map makes the keyserver unreachable with {"offline": true} or a list naming its host."""

from __future__ import annotations

import posixpath

from xenbook.core.commands import Result
from xenbook_sample.accounts import CONTEXT_PROGRAMS, Context, set_owner, user_entry, writable
from xenbook_sample.options import options

KEYSERVER = "hkps://keyserver.ubuntu.com"  # the sample's dirmngr default
# The keys the simulated keyserver holds: the validpgpkeys of the sample AUR's packages (saur's PKGBUILD comments)
KEYS = {"CEACC9E15534EBABB82D3FA03353C9CEF108B584": "Michael Roth <flukshun@gmail.com>"}
HEADER = "SIMULATED GnuPG keybox (xenbook's sample host): one public key fingerprint a line\n"


def home(host, ctx: Context) -> str:
    """The GnuPG home of ctx's user."""
    if ctx.env.get("GNUPGHOME"):
        return ctx.env["GNUPGHOME"]
    entry = user_entry(host, ctx.user)
    return posixpath.join(entry[5] if entry else "/root", ".gnupg")


def keyring(host, ctx: Context) -> set[str]:
    """The fingerprints in ctx's user's public keyring."""
    text = host.read_text(f"{home(host, ctx)}/pubring.kbx") or ""
    return {line.strip().upper() for line in text.splitlines()[1:] if line.strip()}


def _key_id(fpr: str) -> str:
    return fpr[-16:].upper()


def _open(host, ctx: Context) -> tuple[str, str | None]:
    """(what gpg prints creating the home and keybox, or an error when it cannot) for ctx's user."""
    folder, err = home(host, ctx), ""
    if not host.exists(folder):
        parent = posixpath.dirname(folder)
        if not writable(host, parent, ctx.user):
            why = "Permission denied" if host.exists(parent) else "No such file or directory"
            return "", f"gpg: Fatal: can't create directory '{folder}': {why}\n"
        set_owner(host, folder, ctx.user)  # first: a gpg killed in between leaves no folder without its owner
        host.makedirs(folder, 0o700)
        err += f"gpg: directory '{folder}' created\n"
    if not host.exists(f"{folder}/pubring.kbx"):
        host.write_atomic(f"{folder}/pubring.kbx", HEADER.encode(), mode=0o644)
        err += f"gpg: keybox '{folder}/pubring.kbx' created\n"
    if not host.exists(f"{folder}/trustdb.gpg"):
        host.write_atomic(f"{folder}/trustdb.gpg", b"SIMULATED GnuPG trust database\n")
        err += f"gpg: {folder}/trustdb.gpg: trustdb created\n"
    return err, None


def gpg(host, argv, stdin, ctx: Context) -> Result:
    from xenbook_sample.aur import offline
    opts, args = options("gpg", argv, "k", ["batch", "list-keys", "recv-keys", "keyserver=", "quiet"], code=2)
    given = dict(opts)
    err, problem = _open(host, ctx)
    if problem:
        return Result(2, "", err + problem)
    have = keyring(host, ctx)
    if "--list-keys" in given or "-k" in given:
        out, rc = "", 0
        for fpr in (a.upper() for a in args):
            if fpr in have:
                out += f"pub   (SIMULATED key)\n      {fpr}\nuid           [ unknown] {KEYS.get(fpr, '?')}\n\n"
            else:
                err, rc = err + "gpg: error reading key: No public key\n", 2
        return Result(rc, out, err)
    if "--recv-keys" in given:
        if not args:
            return Result(2, "", err + "gpg: usage: gpg [options] --recv-keys [KEYIDs]\n")
        if offline(host, given.get("--keyserver", KEYSERVER)):
            return Result(2, "", err + "gpg: keyserver receive failed: No name\n")
        unknown = [a for a in args if a.upper() not in KEYS]
        if unknown:
            return Result(2, "", err + "gpg: keyserver receive failed: No data\n")
        folder, imported, unchanged = home(host, ctx), 0, 0
        for fpr in (a.upper() for a in args):
            if fpr in have:
                err += f'gpg: key {_key_id(fpr)}: "{KEYS[fpr]}" not changed\n'
                unchanged += 1
            else:
                err += f'gpg: key {_key_id(fpr)}: public key "{KEYS[fpr]}" imported\n'
                have.add(fpr)
                imported += 1
        host.write_atomic(f"{folder}/pubring.kbx", (HEADER + "".join(f + "\n" for f in sorted(have))).encode())
        err += f"gpg: Total number processed: {imported + unchanged}\n"
        err += (f"gpg:               imported: {imported}\n" if imported else "")
        err += (f"gpg:              unchanged: {unchanged}\n" if unchanged else "")
        return Result(0, "", err)
    return Result(2, "", err + "gpg: [simulated] xenbook's sample host simulates only --list-keys and --recv-keys\n")


CONTEXT_PROGRAMS["gpg"] = gpg
