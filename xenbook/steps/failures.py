"""Known failures of pacman, git and makepkg, recognised in their output, and what to do about each; and the one
check that pacman's database is not locked before a step plans a pacman command."""

from __future__ import annotations

import re

from xenbook.core.actions import Plan
from xenbook.facts import packages as pkgfacts
from xenbook.facts.packages import PACMAN_LOCK

LOCK_REMEDY = (f"pacman's database lock {PACMAN_LOCK} exists: another pacman (or an AUR helper) is running, or one "
               f"was interrupted. Check that no pacman is running (pgrep -a pacman); if none is, remove "
               f"{PACMAN_LOCK} and run again")


def pacman_locked(host) -> Plan | None:
    """The failed plan of a step that would run pacman while its database is locked; None when it is not."""
    if pkgfacts.pacman_locked(host):
        return Plan.fail(f"{PACMAN_LOCK} exists: pacman's database is locked", LOCK_REMEDY)
    return None


MULTILIB_REMEDY = ("enable the multilib repository in /etc/pacman.conf (the install section's MultilibEnabled "
                   "step does it) and refresh the databases with pacman -Syu, then run again")
NETWORK_REMEDY = ("the host could not reach {source}: check its network, DNS and proxy settings "
                  "(e.g. curl -I https://aur.archlinux.org), then run again")

KEYSERVER_REMEDY = ("gpg could not fetch the key(s) {keys} from its keyserver for {user}. Check the network "
                    "(keyservers answer on port 443 for hkps), or ask another keyserver: runuser -u {user} -- gpg "
                    "--batch --keyserver hkps://keyserver.ubuntu.com --recv-keys {keys}; or import a key file you "
                    "trust from the signer's own site: runuser -u {user} -- gpg --batch --import FILE. Then run again")
PGP_REMEDY = ("makepkg could not verify a source file's PGP signature: {user}'s keyring lacks the signer's key "
              "(validpgpkeys in {dir}/PKGBUILD names it; makepkg prints its last 16 hex digits). Import it as "
              "{user}: runuser -u {user} -- gpg --batch --recv-keys {keys} (a keyserver that strips user IDs "
              "imports nothing: add --keyserver hkps://keyserver.ubuntu.com), then run again")

# (regex over the command's output, remedy template); the first match wins. Templates may name {source},
# {dir}, {log}, {user} and {keys}.
KNOWN: tuple[tuple[str, str], ...] = (
    (r"unable to lock database|could not lock database", LOCK_REMEDY),
    (r"keyserver receive failed|No keyserver available", KEYSERVER_REMEDY),
    (r"gpg: Fatal: can't create directory", "gpg keeps {user}'s keyring in the .gnupg folder of its home, which "
     "{user} cannot create: make the home {user}'s own (the folder getent passwd {user} names), then run again"),
    (r"unknown public key|One or more PGP signatures could not be verified", PGP_REMEDY),
    (r"target not found: lib32-", MULTILIB_REMEDY),
    (r"Running makepkg as root is not allowed",
     "makepkg refuses to build as root: run it as the unprivileged build user (parameter build_user), "
     "never as root or a user with uid 0"),
    (r"Could not resolve host|Failed to connect|Temporary failure in name resolution|Connection timed out"
     r"|Network is unreachable|failed retrieving file|unable to access '", NETWORK_REMEDY),
    (r"^error: target not found: ", "a package named in the PKGBUILD is in no enabled repository: enable the "
     "repository that has it (or build it from the AUR first), then run again"),
    (r"No space left on device|not enough free disk space",
     "the disk filled up: free space where {dir} lives (or set build_dir elsewhere), then run again"),
    (r"(A package|The package group) has already been built", "remove the old package files in {dir}, then run again"),
    (r"Your local changes to the following files would be overwritten|Not possible to fast-forward"
     r"|divergent branches",
     "{dir} has local changes or history the AUR does not have: move the folder away (it is cloned "
     "again) or reconcile it with git, then run again"),
    (r"does not exist or the user entry does not contain", "the build user {user} does not exist: let the "
     "install section create it (create_build_user) or create it by hand, then run again"),
    (r"A failure occurred in (prepare|pkgver|build|check|package)",
     "the build failed: its last lines are above, the full log is {log}. Fix the cause (often a missing "
     "dependency or a PKGBUILD that needs an update), then run again"),
)


def remedies(**names: str) -> tuple[tuple[str, str], ...]:
    """KNOWN with its templates filled in from names (unnamed placeholders read 'the source host' etc.)."""
    values = {"source": "the source host", "dir": "the build folder", "log": "in the build folder",
              "user": "named by build_user", "keys": "FINGERPRINT"} | names
    return tuple((pattern, text.format_map(values)) for pattern, text in KNOWN)


def explain(output: str, **names: str) -> str:
    """The remedy for a failure whose output is output, or "" when it is not a known one."""
    return next((fix for pattern, fix in remedies(**names) if re.search(pattern, output, re.M)), "")
