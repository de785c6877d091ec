"""The sample host's systemctl: enable, disable and is-enabled answered by the machine's own systemctl run offline
on the sample tree (offline_systemctl.py) where one is installed, SIMULATED otherwise; is-active, start, stop and
daemon-reload always SIMULATED.

The simulated enable creates the links a unit's [Install] section asks for, as the real systemctl does (the two are
compared in tests/test_services_real.py). A unit is active when it was pulled in at the last boot (or started
since), its Condition*Exists= hold, its ExecStart program exists and its Requires= are active."""

from __future__ import annotations

import os
import posixpath
import re

from xenbook.core.commands import Result
from xenbook_sample import offline_systemctl
from xenbook_sample.offline_systemctl import ENABLED_LIKE
from xenbook_sample.options import Usage, options
from xenbook_sample.unitfiles import CONFIG, entries, install_links, install_section, unit_name

UNIT_DIRS = (CONFIG, "/run/systemd/system", "/usr/lib/systemd/system")
BASE_DIRS = ("/usr/bin/", "/bin/", "/sbin/", "/usr/sbin/", "/usr/lib/systemd/")  # base programs: no stand-ins
NO_INSTALL = """\
The unit files have no installation config (WantedBy=, RequiredBy=, Also=,
Alias= settings in the [Install] section, and DefaultInstance= for template
units). This means they are not meant to be enabled using systemctl.
"""


def find_unit(host, name: str, root: str = "") -> tuple[str, str] | None:
    """(path, text) of the unit file for name; an instance such as getty@tty1.service falls back to getty@.service."""
    prefix, at, rest = name.partition("@")
    names = [name] + ([f"{prefix}@{rest[rest.rfind('.'):]}"] if at and not rest.startswith(".") else [])
    for n in names:
        for folder in UNIT_DIRS:
            local = host.real(f"{root}{folder}/{n}")
            if os.path.isfile(local) and not os.path.islink(local):
                with open(local, encoding="utf-8", errors="replace") as f:
                    return f"{folder}/{n}", f.read()
    return None


def unit_keys(text: str, section: str) -> list[tuple[str, str]]:
    """(key, value) pairs of one section of a unit file, in order."""
    return [(key, value) for name, key, value in entries(text) if name == section]


def _local(host, path: str) -> str:
    """The local path of a host path whose last component may be a link (left unresolved)."""
    return os.path.join(host.real(posixpath.dirname(path)), posixpath.basename(path))


def _links(host, root: str) -> list[tuple[str, str]]:
    """(host path, target) of every symlink under root's /etc/systemd/system."""
    top = host.real(root + CONFIG)
    out = []
    for folder, dirs, names in os.walk(top):
        for n in dirs + names:
            local = os.path.join(folder, n)
            if os.path.islink(local):
                out.append((root + CONFIG + local[len(top):], os.readlink(local)))
    return sorted(out)


def enable(host, root: str, names: list[str]) -> Result:
    found = {n: find_unit(host, n, root) for n in names}
    missing = [n for n, f in found.items() if f is None]
    if missing:
        return Result(1, "", f"Failed to enable unit: Unit file {missing[0]} does not exist.\n")
    masked = [n for n in names if _masked(host, f"{root}{CONFIG}/{n}")]
    if masked:
        return Result(1, "", f"Failed to enable unit: Unit file {root}{CONFIG}/{masked[0]} is masked.\n")
    err, done = "", set()

    def one(name: str, path: str, text: str, auxiliary: bool) -> str | None:
        nonlocal err
        done.add(name)
        links, also, problem = install_links(name, path, text)
        if problem:
            return problem
        if not links and not also:
            err += NO_INSTALL if not auxiliary else ""
        for link, target in links:
            local = _local(host, root + link)
            if os.path.islink(local):
                if os.readlink(local) != target:
                    return f"Failed to enable unit: File {root}{link} already exists and is a symlink to " \
                           f"{os.readlink(local)}."
                continue
            os.makedirs(os.path.dirname(local), exist_ok=True)
            os.symlink(target, local)
            err += f"Created symlink '{root}{link}' \u2192 '{target}'.\n"
            wanted = link.split("/")[-2].rsplit(".", 1)[0] if link.count("/") > 4 else None
            if wanted and find_unit(host, wanted, root) is None:
                err += f"Unit {root}{path} is added as a dependency to a non-existent unit {wanted}.\n"
        for extra in also:
            unit = find_unit(host, extra, root)
            if unit is None:
                err += f"Failed to enable auxiliary unit {extra}, ignoring.\n"
            elif extra not in done:
                problem = one(extra, *unit, True)
                if problem:
                    return problem
        return None

    for name in names:
        problem = one(name, *found[name], False)
        if problem:
            return Result(1, "", err + problem + "\n")
    return Result(0, "", err)


def disable(host, root: str, names: list[str]) -> Result:
    found = {n: find_unit(host, n, root) for n in names}
    missing = [n for n, f in found.items() if f is None]
    if missing:
        return Result(1, "", f"Failed to disable unit: Unit file {missing[0]} does not exist.\n")
    marked, todo = set(), list(names)
    while todo:
        name = todo.pop(0)
        if name not in marked:
            marked.add(name)
            unit = find_unit(host, name, root)
            todo += install_section(unit[1]).get("Also", []) if unit else []
    err = ""
    for link, target in _links(host, root):
        if posixpath.basename(link) in marked or posixpath.basename(target) in marked:
            local = _local(host, link)
            os.unlink(local)
            err += f"Removed '{link}'.\n"
            folder, top = os.path.dirname(local), host.real(root + CONFIG)
            while folder != top and not os.listdir(folder):
                os.rmdir(folder)
                folder = os.path.dirname(folder)
    return Result(0, "", err)


def _masked(host, path: str) -> bool:
    local = _local(host, path)
    return os.path.islink(local) and os.readlink(local) == "/dev/null"


def unit_state(host, name: str, root: str = "") -> str:
    """What `systemctl is-enabled name` prints."""
    own = _local(host, f"{root}{CONFIG}/{name}")
    if _masked(host, f"{root}{CONFIG}/{name}"):
        return "masked"
    unit = find_unit(host, name, root)
    if unit is None:
        return "not-found" if not os.path.islink(own) else "alias"
    if os.path.islink(own):
        return "alias"
    path, text = unit
    inst = install_section(text)
    bare = "@." in name
    links = _links(host, root)
    hit = any(posixpath.basename(link) == name or (not re.search(r"@[^.]", name) and posixpath.basename(t) == name)
              for link, t in links if posixpath.dirname(link) != root + CONFIG or posixpath.basename(link) != name)
    if bare and not inst.get("DefaultInstance"):
        return "indirect" if hit else "disabled"
    if hit:
        return "enabled"
    if not any(inst.get(k) for k in ("WantedBy", "RequiredBy", "UpheldBy", "Alias", "Also", "DefaultInstance")):
        return "static"
    return "indirect" if not any(inst.get(k) for k in ("WantedBy", "RequiredBy", "UpheldBy", "Alias")) else "disabled"


# what runs

def pulled_in(host) -> set[str]:
    """Units the boot starts: those linked from a .wants/.requires directory, and what they require or want."""
    todo = [posixpath.basename(link) for link, _ in _links(host, "") if posixpath.dirname(link) != CONFIG]
    out: set[str] = set()
    while todo:
        name = todo.pop()
        if name in out:
            continue
        out.add(name)
        unit = find_unit(host, name)
        if unit is not None:
            todo += [u for k, v in unit_keys(unit[1], "Unit") if k in ("Requires", "Wants") for u in v.split()]
    return out


def _program(line: str) -> list[str]:
    return line.lstrip("-@:+!").split()


def activity(host, name: str, started: set[str], seen: frozenset = frozenset()) -> str:
    """active, inactive or failed for a unit on the running sample."""
    unit = find_unit(host, name)
    if unit is None or name not in started or name in seen:
        return "inactive" if name not in seen else "active"
    keys = unit_keys(unit[1], "Unit")
    for key, value in keys:
        if key in ("ConditionPathExists", "ConditionDirectoryNotEmpty", "ConditionFileNotEmpty"):
            negate, path = value.startswith("!"), value.lstrip("!")
            if host.exists(path) == negate:
                return "inactive"  # skipped: a condition does not hold
    for key, value in keys:
        if key == "Requires" and any(activity(host, u, started, seen | {name}) != "active" for u in value.split()):
            return "inactive"  # dependency failed
    for key, value in unit_keys(unit[1], "Service"):
        argv = _program(value)
        if key in ("ExecStart", "ExecStartPre") and argv and not value.startswith("-"):
            if not argv[0].startswith(BASE_DIRS) and not host.exists(argv[0]):
                return "failed"
            if argv[0].endswith("/grep") and argv[1:2] == ["-q"] and len(argv) == 4:
                if argv[2] not in (host.read_text(argv[3]) or ""):
                    return "failed"
    return "active"


def started_units(host) -> set[str]:
    """The units started at the last boot or since; a sample never rebooted starts what its links pull in."""
    running = host.load_state()["running"]
    return set(running["units"]) if "units" in running else pulled_in(host)


def is_active(host, unit: str) -> bool:
    return activity(host, unit_name(unit), started_units(host)) == "active"


def _set_started(host, add: list[str], remove: list[str]) -> None:
    state = host.load_state()
    units = set(state["running"].get("units", pulled_in(host))) | set(add)
    state["running"]["units"] = sorted(units - set(remove))
    host.save_state(state)


def systemctl(host, argv, stdin) -> Result:
    """systemctl [--root=DIR] [--now] [-q] enable|disable|is-enabled|is-active|start|stop|daemon-reload UNIT..."""
    opts, args = options("systemctl", argv, "q", ["root=", "now", "quiet", "no-reload", "system", "no-pager", "force"])
    flags = {o for o, _ in opts}
    root = next((v.rstrip("/") for o, v in opts if o == "--root"), "")
    if root == "/":
        root = ""
    if not args:
        raise Usage("[simulated] xenbook's sample host simulates only enable, disable, is-enabled, is-active, "
                    "start, stop and daemon-reload\n", 1)
    verb, names = args[0], [unit_name(a) for a in args[1:]]
    if verb == "daemon-reload":
        return Result(0, "", "")
    if verb not in ("enable", "disable", "is-enabled", "is-active", "start", "stop"):
        return Result(1, "", f"Unknown command verb '{verb}'.\n")
    if not names:
        return Result(1, "", "Too few arguments.\n")
    if root and verb in ("is-active", "start", "stop"):
        return Result(1, "", f"Verb '{verb}' cannot be used with --root= or --image=.\n")
    if verb in ("enable", "disable", "is-enabled"):
        return unit_files(host, root, verb, names, flags)
    if verb == "is-active":
        started = started_units(host)
        states = [activity(host, n, started) for n in names]
        quiet = flags & {"-q", "--quiet"}
        return Result(0 if "active" in states else 3, "" if quiet else "".join(s + "\n" for s in states), "")
    missing = [n for n in names if find_unit(host, n) is None]
    if missing:
        return Result(5, "", f"Failed to {verb} {missing[0]}: Unit {missing[0]} not found.\n")
    _set_started(host, names if verb == "start" else [], names if verb == "stop" else [])
    failed = [n for n in names if verb == "start" and activity(host, n, started_units(host)) == "failed"]
    if failed:
        return Result(1, "", f"Job for {failed[0]} failed because the control process exited with error code.\n"
                             f'See "systemctl status {failed[0]}" and "journalctl -xeu {failed[0]}" for details.\n')
    return Result(0, "", "")


def unit_files(host, root: str, verb: str, names: list[str], flags: set[str]) -> Result:
    """enable, disable, is-enabled: by the machine's systemctl offline on the sample tree, else simulated (said once);
    with --now, the start or stop on the simulated running system follows."""
    try:
        result = offline_systemctl.answer(host, root, verb, names, flags)
    except offline_systemctl.Refused as e:
        return Result(1, "", f"[sample] the machine's systemctl is not run: {e}\n")
    real, note = result is not None, ""
    if real:
        host.answered_by("real", command=True)
    else:
        note, result = offline_systemctl.fallback_note(host), simulate_unit_files(host, root, verb, names, flags)
    if result.ok and verb != "is-enabled" and "--now" in flags and not root:
        _set_started(host, names if verb == "enable" else [], names if verb == "disable" else [])
        if real:
            host.answered_by("simulated")  # the start or stop part, on the simulated running system
    return Result(result.returncode, result.stdout, note + result.stderr)


def simulate_unit_files(host, root: str, verb: str, names: list[str], flags: set[str]) -> Result:
    quiet = flags & {"-q", "--quiet"}
    if verb == "is-enabled":
        states = [unit_state(host, n, root) for n in names]
        return Result(0 if ENABLED_LIKE & set(states) else 1, "" if quiet else "".join(s + "\n" for s in states), "")
    result = (enable if verb == "enable" else disable)(host, root, names)
    return Result(result.returncode, result.stdout, "" if quiet and result.ok else result.stderr)


PROGRAMS = {"systemctl": systemctl}
