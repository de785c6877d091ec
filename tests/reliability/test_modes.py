"""Modes and owners: an edited file keeps its mode and owner, and so does its backup; files holding secrets are
created private (authorized_keys 0600 in a 0700 .ssh, shadow 0600 or 0640), and so are xenbook's own records."""

from __future__ import annotations

import hashlib
import json
import os
import stat

from . import samples, trees

STRANGE = {"etc/default/grub": (0o640, 1234, 2345), "etc/pacman.conf": (0o600, 0, 4321)}


def info(path: str) -> tuple[int, int, int]:
    st = os.lstat(path)
    return stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid


def test_edited_files_keep_mode_and_owner_and_so_do_their_backups(template, scratch, tally):
    root = samples.copy_host(template("bios-grub2", "fresh"), os.path.join(scratch, "modes", "edit"))
    for rel, (mode, uid, gid) in STRANGE.items():
        os.chmod(os.path.join(root, rel), mode)
        os.chown(os.path.join(root, rel), uid, gid)
    before = trees.snapshot(root)
    report = samples.apply(root, {}, ["install", "boot", "dom0"])
    assert not report.failed, report.summary()
    after = trees.snapshot(root)
    for rel, wanted in STRANGE.items():
        assert after[rel][4] != before[rel][4], f"/{rel} was not edited"
        assert info(os.path.join(root, rel)) == wanted, f"/{rel} lost its mode or owner"
        backups = [os.path.join(folder, rel) for folder in
                   sorted(p.path for p in os.scandir(os.path.join(root, "var/lib/xenbook/backups")))]
        assert backups and info(backups[0]) == wanted, f"the backup of /{rel} lost the mode or owner"
        with open(backups[0], "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == before[rel][4]
        tally["mode checks"] += 2
    edited = [w for r in records(root) if r["kind"] == "end" for w in r["writes"] if not w["created"]]
    assert len(edited) >= 3
    for w in edited:  # every file the runner replaced kept the mode and owner it had before the run
        rel = w["path"].lstrip("/")
        if rel in before:
            assert after[rel][1:4] == before[rel][1:4], f"{w['path']}: {before[rel][1:4]} became {after[rel][1:4]}"
            tally["mode checks"] += 1


def records(root: str) -> list[dict]:
    with open(os.path.join(root, "var/lib/xenbook/ledger.jsonl")) as f:
        return [json.loads(line) for line in f]


def test_secrets_are_created_private(template, scratch, tally):
    root = samples.copy_host(template("bios-grub2", "xen"), os.path.join(scratch, "modes", "secrets"))
    data = {"guests": [{"name": "dom01", "ssh_key": samples.KEY, "root_password_hash_env": samples.HASH_ENV}]}
    report = samples.apply(root, data, ["domu"])
    assert not report.failed, report.summary()
    private = {"authorized_keys": 0o600, "shadow": 0o640, "gshadow": 0o640, "ledger.jsonl": 0o600}
    found = []
    for folder, dirs, names in os.walk(root):
        for name in names + dirs:
            path = os.path.join(folder, name)
            if os.path.islink(path):
                continue
            mode = info(path)[0]
            if name in private:
                found.append(name)
                assert mode & ~private[name] == 0, f"{path} has mode {mode:04o}, at most {private[name]:04o}"
            if name == ".ssh" or folder.endswith("var/lib/xenbook") and name == "pending" \
                    or folder.endswith("var/lib/xenbook/backups"):  # each run's backups: copies of private files
                assert mode & 0o077 == 0, f"{path} has mode {mode:04o}: others may look in"
            if name in names and os.path.getsize(path) < 1 << 20:
                with open(path, "rb") as f:
                    if samples.HASH.encode() in f.read():
                        found.append(f"hash in {name}")
                        assert mode & 0o037 == 0, f"{path} holds the password hash with mode {mode:04o}"
            tally["mode checks"] += 1
    assert {"authorized_keys", "shadow", "ledger.jsonl", "hash in shadow"} <= set(found), found
