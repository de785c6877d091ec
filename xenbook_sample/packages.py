"""The sample host's SIMULATED pacman: its local database in the real format, a small repository catalogue.

pacman -Q [-i], -T, -S [-y] [-u] [--needed] [--asdeps], -U print what the real pacman prints. Installing writes the
package's files (stand-ins, see xenfiles), runs its install scriptlet (scriptlets), then writes its files and desc
entries into /var/lib/pacman/local, desc last: a pacman killed part way leaves the package not installed, and the
next pacman -S or -U installs it again whole (the real pacman runs the scriptlet after writing the entry). A
repository counts when /etc/pacman.conf enables it and its database was synced (pacman -Sy); dependencies of
repository packages are not resolved. Also registers accounts (runuser, env, ...), aur (git, makepkg) and gpg."""

from __future__ import annotations

import getopt
import json
import os
import posixpath
import re
import shutil
import time

from xenbook.core.commands import Result
from xenbook_sample import accounts, aur, gpg  # noqa: F401  (importing aur registers git and makepkg, gpg gpg)
from xenbook_sample.accounts import CONTEXT_PROGRAMS, Context, dispatch
from xenbook_sample.options import Usage
from xenbook_sample.repos import REPO, meets, parse_dep
from xenbook_sample.scriptlets import run_scriptlet
from xenbook_sample.xenfiles import package_files

LOCAL = "/var/lib/pacman/local"
SYNC = "/var/lib/pacman/sync"
LOCK = "/var/lib/pacman/db.lck"
LOCKED = ("error: failed to init transaction (unable to lock database)\nerror: could not lock database: File exists\n"
          f"  if you're sure a package manager is not already\n  running, you can remove {LOCK}\n")


# the local database

def installed(host) -> dict[str, dict]:
    """name -> {"version", "provides", "dir"} from /var/lib/pacman/local/*/desc."""
    out = {}
    for entry in host.listdir(LOCAL) or []:
        fields, key = {}, None
        for line in (host.read_text(f"{LOCAL}/{entry}/desc") or "").splitlines():
            if re.match(r"^%[A-Z]+%$", line):
                key = line.strip("%")
                fields[key] = []
            elif line and key:
                fields[key].append(line)
        if fields.get("NAME"):
            out[fields["NAME"][0]] = {"version": fields["VERSION"][0], "provides": fields.get("PROVIDES", []),
                                      "dir": f"{LOCAL}/{entry}", "desc": (fields.get("DESC") or [""])[0],
                                      "reason": (fields.get("REASON") or ["0"])[0]}
    return out


def _unpack(host, pkg: dict) -> None:
    """Write the package's files (the first half of installing it: a kill here leaves no database entry, so the
    next pacman -S or -U installs the package again, whole)."""
    for path, (mode, text) in pkg.get("files", {}).items():
        host.makedirs(posixpath.dirname(path))
        host.write_atomic(path, text.encode(), mode=mode)
        os.chmod(host.real(path), mode)


def _record(host, pkg: dict, asdeps: bool) -> None:
    """Write the package's local database entry once its files are in place: its files list, then its desc, the
    one write that makes the package installed (installed() skips an entry without one)."""
    old = installed(host).get(pkg["name"])
    folder = f"{LOCAL}/{pkg['name']}-{pkg['version']}"
    if old is not None and old["dir"] != folder:  # an upgrade: the old version's entry goes first, desc first
        host.remove(f"{old['dir']}/desc")
        shutil.rmtree(host.real(old["dir"]))
    fields = [("NAME", [pkg["name"]]), ("VERSION", [pkg["version"]]), ("BASE", [pkg["name"]]),
              ("DESC", [pkg.get("desc", "")]), ("ARCH", [pkg["arch"]]), ("INSTALLDATE", [str(int(time.time()))]),
              ("PACKAGER", ["xenbook sample host (SIMULATED) <sample@xenbook.invalid>"]),
              ("REASON", ["1"] if asdeps else []), ("PROVIDES", list(pkg.get("provides", []))),
              ("DEPENDS", list(pkg.get("depends", [])))]
    host.makedirs(folder)
    files = sorted(pkg.get("files", {}))
    host.write_atomic(f"{folder}/files", ("%FILES%\n" + "".join(p.lstrip("/") + "\n" for p in files)).encode())
    host.write_atomic(f"{folder}/desc", "".join(f"%{k}%\n" + "".join(v + "\n" for v in vs) + "\n"
                                                for k, vs in fields if vs).encode())


def unpack_and_record(host, pkg: dict, asdeps: bool) -> None:
    """Install pkg without its scriptlet (as pacstrap's simulation does): files, then the database entry."""
    _unpack(host, pkg)
    _record(host, pkg, asdeps)


# dependencies

def satisfied(host, dep: str, have: dict | None = None) -> bool:
    name, op, wanted = parse_dep(dep)
    for pkg, info in (have if have is not None else installed(host)).items():
        if pkg == name and meets(info["version"], op, wanted):
            return True
        for p in info["provides"]:
            pname, _, pver = p.partition("=")
            if pname == name and (not op or (pver and meets(pver, op, wanted))):
                return True
    return False


# repositories

def sections(pacman_conf: str) -> list[str]:
    """The [section] names pacman reads from pacman.conf, in order (pacman's src/common/ini.c parse_ini): a line
    trimmed of surrounding white space that starts with '[' and ends with ']'; a comment is only a line that starts
    with '#' (pacman.conf(5)), and the name is what lies between the brackets, untrimmed."""
    out = []
    for raw in pacman_conf.splitlines():
        line = raw.strip()
        if len(line) >= 2 and line[0] == "[" and line[-1] == "]":
            out.append(line[1:-1])
    return out


def repositories(host) -> list[str]:
    return [r for r in sections(host.read_text("/etc/pacman.conf") or "") if r != "options"]


def find(host, target: str) -> dict | None:
    """The catalogue entry a -S target names (by name, then by what it provides) in a synced, enabled repo."""
    usable = [r for r in repositories(host) if host.exists(f"{SYNC}/{r}.db")]
    name = parse_dep(target)[0]
    for pkg, info in REPO.items():
        if info["repo"] in usable and (pkg == name or any(p.split("=")[0] == name for p in info["provides"])):
            return {"name": pkg, "desc": f"{pkg} (SIMULATED repository package)",
                    "files": package_files(pkg), **info}
    return None


def _sync(host) -> tuple[str, str, int]:
    if aur.offline(host, "https://geo.mirror.pkgbuild.com/"):
        return "", ("error: failed retrieving file 'core.db' from geo.mirror.pkgbuild.com : Could not resolve host: "
                    "geo.mirror.pkgbuild.com\nerror: failed to synchronize all databases (download library error)\n"), 1
    host.makedirs(SYNC)
    out = ":: Synchronizing package databases...\n"
    for repo in repositories(host):
        host.write_atomic(f"{SYNC}/{repo}.db", f"SIMULATED {repo} package database (xenbook sample host)\n".encode())
        out += f" {repo} downloading...\n"
    return out, "", 0


def _transaction(host, packages: list[dict], asdeps: bool) -> str:
    listed = "  ".join(f"{p['name']}-{p['version']}" for p in packages)
    out = (f"resolving dependencies...\nlooking for conflicting packages...\n\nPackages ({len(packages)}) {listed}\n\n"
           ":: Proceed with installation? [Y/n] \nchecking keyring...\nchecking package integrity...\n"
           "loading package files...\nchecking for file conflicts...\nchecking available disk space...\n"
           ":: Processing package changes...\n")
    for pkg in packages:  # each package is retryable: files, scriptlet, then the database entry
        upgrade = pkg["name"] in installed(host)
        _unpack(host, pkg)
        out += f"{'upgrading' if upgrade else 'installing'} {pkg['name']}...\n"
        if pkg.get("install"):  # the install scriptlet (post_install or post_upgrade), before the entry is written
            out += run_scriptlet(host, pkg["install"], upgrade)
        _record(host, pkg, asdeps)
    return out + "[simulated] xenbook's sample host wrote the local database entries and stand-in files\n"


def _missing_databases(host) -> str:
    """The warning pacman prints, before its operation, for each enabled repository not synced yet."""
    return "".join(f"warning: database file for '{r}' does not exist (use '-Sy' to download)\n"
                   for r in repositories(host) if not host.exists(f"{SYNC}/{r}.db"))


def pacman(host, argv, stdin, ctx: Context) -> Result:
    try:
        opts, targets = getopt.gnu_getopt(argv[1:], "QSUTyui", ["needed", "noconfirm", "asdeps", "info"])
    except getopt.GetoptError as e:
        return Result(1, "", f"error: invalid option '{e.opt}'\n[simulated] xenbook's sample host simulates only "
                             "-Q, -T, -S and -U\n")
    flags = {o for o, _ in opts}
    if flags & {"-S", "-U"} and ctx.user != "root":  # checked before pacman reads its configuration
        return Result(1, "", "error: you cannot perform this operation unless you are root.\n")
    err = "" if "-y" in flags else _missing_databases(host)  # -y downloads them first
    have = installed(host)
    if "-Q" in flags:
        result = _query(host, have, targets, "-i" in flags or "--info" in flags)
        return Result(result.returncode, result.stdout, err + result.stderr)
    if "-T" in flags:
        missing = [t for t in targets if not satisfied(host, t, have)]
        return Result(127 if missing else 0, "".join(m + "\n" for m in missing), err)
    if not flags & {"-S", "-U"}:
        return Result(1, "", err + "error: no operation specified (use -h for help)\n")
    out = ""
    if "-y" in flags:
        if host.exists(LOCK):
            return Result(1, ":: Synchronizing package databases...\n",
                          "error: failed to synchronize all databases (unable to lock database)\n")
        out, err, rc = _sync(host)
        if rc:
            return Result(rc, out, err)
    elif host.exists(LOCK):
        return Result(1, "", err + LOCKED)
    if "-u" in flags:
        out += ":: Starting full system upgrade...\n"
    elif "-y" in flags and not targets:  # only the databases were asked for
        return Result(0, out, err)
    packages, wanted = [], []
    if "-S" in flags:
        found = {t: find(host, t) for t in targets}
        missing = [t for t, p in found.items() if p is None]
        if missing:
            return Result(1, out, err + "".join(f"error: target not found: {t}\n" for t in missing))
        wanted = list({p["name"]: p for p in found.values()}.values())
    else:
        for target in targets:
            data = _package_file(host, ctx.path(target))
            if data is None:
                return Result(1, out + "loading packages...\n", err + _not_a_package(host, target, ctx.path(target)))
            wanted.append(data)
        unmet = [(d, p["name"]) for p in wanted for d in p.get("depends", [])
                 if not satisfied(host, d, have) and find(host, d) is None
                 and not any(parse_dep(d)[0] == w["name"] for w in wanted)]
        if unmet:
            return Result(1, out + "loading packages...\nresolving dependencies...\n", err + (
                "error: failed to prepare transaction (could not satisfy dependencies)\n" + "".join(
                    f":: unable to satisfy dependency '{d}' required by {n}\n" for d, n in unmet)))
        extra = {p["name"]: p for p in (find(host, d) for w in wanted for d in w.get("depends", [])
                                        if not satisfied(host, d, have)) if p}
        packages = list(extra.values())
    for pkg in wanted:
        old = have.get(pkg["name"])
        if "--needed" in flags and old and old["version"] == pkg["version"]:
            err += f"warning: {pkg['name']}-{pkg['version']} is up to date -- skipping\n"
        else:
            packages.append(pkg)
    if not packages:
        return Result(0, out + " there is nothing to do\n", err)
    deps = {p["name"] for p in packages} - {p["name"] for p in wanted}
    out += _transaction(host, [p for p in packages if p["name"] in deps], True) if deps else ""
    return Result(0, out + _transaction(host, [p for p in packages if p["name"] not in deps],
                                         "--asdeps" in flags), err)


def _not_a_package(host, target: str, path: str) -> str:
    """What pacman -U says of a file that is not a package. (libarchive takes some short text files for an mtree
    specification and says "Missing type keyword in mtree specification" instead; that guess is not simulated.)"""
    if not host.exists(path):
        return f"error: '{target}': could not find or read package\n"
    if host.read_bytes(path) == b"":
        return f"error: missing package metadata in {target}\nerror: '{target}': invalid or corrupted package\n"
    return f"error: could not open file {target}: Unrecognized archive format\nerror: '{target}': cannot open package file\n"


def _package_file(host, path: str) -> dict | None:
    try:
        data = json.loads(host.read_text(path) or "")
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("simulated") is not True:
        return None
    data["files"] = {p: (int(mode), text) for p, (mode, text) in data.get("files", {}).items()}
    return data


def _desc(host, folder: str) -> dict[str, list[str]]:
    """A local database entry's desc file: %FIELD% -> its lines."""
    fields, key = {}, None
    for line in (host.read_text(f"{folder}/desc") or "").splitlines():
        if re.match(r"^%[A-Z0-9]+%$", line):
            key = line.strip("%")
            fields[key] = []
        elif line and key:
            fields[key].append(line)
    return fields


def _size(value: str) -> str:
    """pacman's humanize_size with two decimals: the first unit in which the size is at most 2048."""
    size, units = float(value or 0), ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
    unit = 0
    while unit < len(units) - 1 and not -2048.0 <= size <= 2048.0:
        size, unit = size / 1024.0, unit + 1
    return f"{size:.2f} {units[unit]}"


def _date(value: str) -> str:
    """A desc timestamp as pacman prints it (strftime %c in the C locale; the sample host's clock is UTC)."""
    return time.strftime("%a %b %e %H:%M:%S %Y", time.gmtime(int(value))) if value else "None"


VALIDATION = {"none": "None", "md5": "MD5 Sum", "sha256": "SHA-256 Sum", "pgp": "Signature"}


def _info(host, name: str, have: dict) -> str:
    """pacman -Qi's block for an installed package: every field of libalpm's local package, in pacman's order."""
    fields = _desc(host, have[name]["dir"])
    def names(dep: str) -> str:
        return parse_dep(dep.split(":")[0])[0]
    wanted = {name} | {p.partition("=")[0] for p in fields.get("PROVIDES", [])}
    required = sorted(other for other, info in have.items()
                      if any(names(d) in wanted for d in _desc(host, info["dir"]).get("DEPENDS", [])))
    optional = sorted(other for other, info in have.items()
                      if any(names(d) in wanted for d in _desc(host, info["dir"]).get("OPTDEPENDS", [])))
    def listed(values: list[str]) -> str:
        return "  ".join(values) or "None"
    reason = "Installed as a dependency for another package" if fields.get("REASON") == ["1"] \
        else "Explicitly installed"
    rows = [("Name", name), ("Version", fields["VERSION"][0]), ("Description", listed(fields.get("DESC", []))),
            ("Architecture", listed(fields.get("ARCH", []))), ("URL", listed(fields.get("URL", []))),
            ("Licenses", listed(fields.get("LICENSE", []))), ("Groups", listed(fields.get("GROUPS", []))),
            ("Provides", listed(fields.get("PROVIDES", []))), ("Depends On", listed(fields.get("DEPENDS", []))),
            ("Optional Deps", "\n".ljust(19).join(d + (" [installed]" if satisfied(host, d.split(":")[0], have) else "")
                                                   for d in fields.get("OPTDEPENDS", [])) or "None"),
            ("Required By", listed(required)), ("Optional For", listed(optional)),
            ("Conflicts With", listed(fields.get("CONFLICTS", []))), ("Replaces", listed(fields.get("REPLACES", []))),
            ("Installed Size", _size((fields.get("SIZE") or ["0"])[0])),
            ("Packager", listed(fields.get("PACKAGER", []))), ("Build Date", _date((fields.get("BUILDDATE") or [""])[0])),
            ("Install Date", _date((fields.get("INSTALLDATE") or [""])[0])), ("Install Reason", reason),
            ("Install Script", "Yes" if host.exists(f"{have[name]['dir']}/install") else "No"),
            ("Validated By", "  ".join(VALIDATION.get(v, v) for v in fields.get("VALIDATION", [])) or "None")]
    return "".join(f"{k:<16}: {v}\n" for k, v in rows) + "\n"


def _query(host, have: dict, targets: list[str], info: bool) -> Result:
    names = targets or sorted(have)
    out, err = "", ""
    for name in names:
        pkg = have.get(name)
        if pkg is None:
            err += f"error: package '{name}' was not found\n"
        elif info:
            out += _info(host, name, have)
        else:
            out += f"{name} {pkg['version']}\n"
    return Result(1 if err else 0, out, err)


def run_as_root(host, argv, stdin) -> Result:
    return dispatch(host, argv, stdin, Context())


CONTEXT_PROGRAMS["pacman"] = pacman
PROGRAMS = accounts.PROGRAMS | {name: run_as_root for name in CONTEXT_PROGRAMS}  # incl. aur's git, makepkg
