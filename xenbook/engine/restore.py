"""`xenbook restore`: put back what one run changed, as steps for the runner (validation, backups of the current
files, the ledger).

Every file the run replaced or removed comes back from its backup under /var/lib/xenbook/backups/<run>/, with its
mode; a file the run created (no backup) is removed, but only while it still holds what the run wrote. Each is
checked against the run's ledger records first: the file must still hold the bytes the run left (the sha256 of its
last write), and the backup must give the diff the run recorded (the sha256 of old against new); a file changed
since, or a backup that does not match, fails its step, naming the file. A backup the ledger names no write for (a
regenerated file such as grub.cfg, which the runner backs up before its command runs) is put back as it is, and the
step says it was not checked. Commands the run ran (systemctl enable, grub-reboot) are not undone.

The restored bytes skip the content validators the sections' steps use (grub-script-check, bash -n, pacman-conf):
they are what the host held before the run, and a stock file need not pass them (GRUB's stock 40_custom holds no
commands, which grub-script-check rejects). Everything else is the runner's: the atomic write keeping the owner, the
mode set back, a backup of the current file, the lock and the ledger."""

from __future__ import annotations


from xenbook.core.actions import Plan, RemoveFile, WriteFile
from xenbook.core.errors import ParameterError
from xenbook.core.host import Host
from xenbook.core.paths import BACKUP_DIR, STATE_DIR
from xenbook.core.step import Step
from xenbook.engine.backups import RUN_FOLDER
from xenbook.engine.ledger import digest, read_records

SECTION = "restore"


def _walk(host: Host, folder: str) -> list[str]:
    """Every regular file below folder, as paths below it."""
    out = []
    for name in host.listdir(folder) or []:
        path = f"{folder}/{name}"
        info = host.stat(path)
        if info is not None and info.kind == "dir":
            out += [f"/{name}{sub}" for sub in _walk(host, path)]
        elif info is not None and info.kind == "file":
            out.append(f"/{name}")
    return out


class RestoreFile(Step):
    """A file the run replaced or removed holds its bytes and mode from before the run again."""

    section = SECTION

    def __init__(self, path: str, backup: str, writes: list[dict]):
        self.path, self.backup, self.writes = path, backup, writes
        self.name, self.group = f"RestoreFile({path})", path  # a refused file skips no other

    def plan(self, host: Host) -> Plan:
        old, info = host.read_bytes(self.backup), host.stat(self.backup)
        if old is None or info is None:
            return Plan.fail(f"{self.path}: its backup {self.backup} is gone", "nothing to restore it from")
        current = host.read_bytes(self.path)
        if current == old and (host.stat(self.path) or info).mode == info.mode:
            return Plan.ok(f"{self.path} holds its bytes and mode from before the run")
        note = ""
        if self.writes:
            last = self.writes[-1]
            now = digest(current) if current is not None else None
            if last.get("removed") and current is not None:
                return Plan.fail(f"{self.path} was created again after the run removed it; restore refuses to "
                                 "overwrite it", f"move {self.path} aside, then restore again")
            if not last.get("removed") and now != last.get("after"):
                return Plan.fail(f"{self.path} changed after the run wrote it (its sha256 is not the ledger's); "
                                 "restore refuses to overwrite it", f"compare it with {self.backup} by hand")
            first = self.writes[0]
            if len(self.writes) == 1 and first.get("before") == self.backup:
                action = RemoveFile(self.path, old) if first.get("removed") else WriteFile(self.path, old,
                                                                                             current or b"")
                if digest(action.diff()) != first.get("diff"):
                    return Plan.fail(f"{self.path}: the backup {self.backup} does not give the diff the ledger "
                                     "recorded for the run; restore refuses it", "restore this file by hand")
            else:  # the ledger has no digest of the bytes between two writes of one run
                note = (f" (the run wrote it {len(self.writes)} times: its last write is checked, the backup is "
                        "not)")
        else:
            note = " (a regenerated file: the ledger holds no digest for it, so its backup is not checked)"
        return Plan.change(f"put {self.path} back as it was before the run, from {self.backup}{note}",
                           WriteFile(self.path, current, old, mode=info.mode, set_mode=True))


class RemoveCreated(Step):
    """A file the run created is removed, while it still holds what the run wrote."""

    section = SECTION

    def __init__(self, path: str, after: str):
        self.path, self.after = path, after
        self.name, self.group = f"RemoveCreated({path})", path

    def plan(self, host: Host) -> Plan:
        current = host.read_bytes(self.path)
        if current is None:
            return Plan.ok(f"{self.path}, which the run created, is gone")
        if digest(current) != self.after:
            return Plan.fail(f"{self.path} was created by the run and changed since (its sha256 is not the "
                             "ledger's); restore refuses to remove it", f"remove {self.path} by hand if it must go")
        return Plan.change(f"remove {self.path}, which the run created", RemoveFile(self.path, current))


def restore_steps(host: Host, run: str) -> list[Step]:
    """The steps that undo run's file changes; ParameterError when the run is unknown here."""
    if not RUN_FOLDER.fullmatch(run or ""):
        raise ParameterError([("--run", run, "must be a run id as the ledger and the backups name it, e.g. "
                                             "20261207T154100Z-1a2b3c")])
    writes: dict[str, list[dict]] = {}
    for record in read_records(host):
        if record["kind"] == "end" and record.get("run") == run:
            for w in record.get("writes", []):
                writes.setdefault(w["path"], []).append(w)
    folder = f"{BACKUP_DIR}/{run}"
    backed = {p: f"{folder}{p}" for p in _walk(host, folder)}
    if not writes and not backed:
        raise ParameterError([("--run", run, f"names no run of this host: the ledger records no change of it and "
                                             f"{folder} does not exist")])
    steps: list[Step] = []
    for path in sorted(set(writes) | set(backed)):
        if path.startswith(STATE_DIR + "/"):
            continue  # xenbook's own state (reboot and first-boot records, pending markers)
        ws = writes.get(path, [])
        if path in backed:
            steps.append(RestoreFile(path, backed[path], ws))
        elif ws and ws[0].get("created") and not ws[-1].get("removed"):
            steps.append(RemoveCreated(path, ws[-1]["after"]))
        elif ws and not ws[0].get("created"):
            steps.append(_NoBackup(path))
    return steps


class _NoBackup(Step):
    section = SECTION

    def __init__(self, path: str):
        self.path = path
        self.name, self.group = f"NoBackup({path})", path

    def plan(self, host: Host) -> Plan:
        return Plan.fail(f"{self.path}: the run replaced it without a backup (a regenerable file) or its backup "
                         "was pruned; it cannot be restored", "regenerate it, or restore it by hand")


