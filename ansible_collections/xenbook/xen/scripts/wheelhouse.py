#!/usr/bin/env python3
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build the wheelhouse the role xenbook.xen.install copies to nodes that have no internet access: xenbook's wheel
(pip wheel, from a copy of the source tree, so no build/ is left in it) and the wheels of all its dependencies (pip
download, binary only), plus manifest.json (each wheel's sha256; "id", a digest of them all) and wheelhouse.tar
(the wheels, then the manifest: byte for byte the same for the same wheels, so a second copy changes nothing).

    python3 ansible_collections/xenbook/xen/scripts/wheelhouse.py --source . --out wheelhouse

The compiled dependencies' wheels are for one Python and platform: by default this interpreter's; --python-version
and --platform (pip download's options) fetch them for nodes that differ."""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

SKIP = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "*.pyc", "runs",
                              ".pytest_cache", ".hypothesis", "wheelhouse")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _pip(python: str, *args: str) -> None:
    # zip entries dated by SOURCE_DATE_EPOCH, not the build's clock: the same source gives the same wheel
    env = {"SOURCE_DATE_EPOCH": "315532800", **os.environ}
    subprocess.run([python, "-m", "pip", *args], check=True, env=env)


def manifest(folder: Path) -> dict:
    """The wheels in folder with their digests, which one is xenbook's, and an id for the whole set."""
    wheels = {p.name: _sha256(p) for p in sorted(folder.glob("*.whl"))}
    ours = [n for n in wheels if n.startswith("xenbook-")]
    if len(ours) != 1:
        raise SystemExit(f"wheelhouse: expected one xenbook wheel in {folder}, found {ours or 'none'}")
    ident = hashlib.sha256("".join(f"{n} {d}\n" for n, d in wheels.items()).encode()).hexdigest()
    return {"xenbook": ours[0], "version": ours[0].split("-")[1], "id": ident, "wheels": wheels}


def write_tar(folder: Path, info: dict, path: Path) -> None:
    """The wheels sorted by name, then manifest.json last (a partial unpack has no manifest), with fixed times,
    owners and modes."""
    def add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
        entry = tarfile.TarInfo(name)
        entry.size, entry.mode, entry.mtime, entry.uid, entry.gid = len(data), 0o644, 0, 0, 0
        tar.addfile(entry, io.BytesIO(data))

    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as tar:
        for name in info["wheels"]:
            add(tar, name, (folder / name).read_bytes())
        add(tar, "manifest.json", json.dumps(info, indent=1, sort_keys=True).encode() + b"\n")


def build(source: Path, out: Path, python: str, download_args: list[str]) -> dict:
    with tempfile.TemporaryDirectory(prefix="xenbook-wheelhouse-") as tmp:
        src, wheels = Path(tmp) / "src", Path(tmp) / "wheels"
        shutil.copytree(source, src, symlinks=True, ignore=SKIP)
        _pip(python, "wheel", "--no-deps", "--quiet", "--wheel-dir", str(wheels), str(src))
        (ours,) = wheels.glob("xenbook-*.whl")
        _pip(python, "download", "--quiet", "--only-binary=:all:", "--dest", str(wheels), *download_args, str(ours))
        info = manifest(wheels)
        out.mkdir(parents=True, exist_ok=True)
        for old in [*out.glob("*.whl"), out / "manifest.json", out / "wheelhouse.tar"]:
            old.unlink(missing_ok=True)
        for name in info["wheels"]:
            shutil.copy2(wheels / name, out / name)
    (out / "manifest.json").write_text(json.dumps(info, indent=1, sort_keys=True) + "\n")
    write_tar(out, info, out / "wheelhouse.tar")
    return info


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", default=".", help="xenbook's source tree (default: here)")
    ap.add_argument("--out", default="wheelhouse", help="the wheelhouse folder (default: wheelhouse)")
    ap.add_argument("--python", default=sys.executable, help="the interpreter whose pip builds and downloads")
    ap.add_argument("--python-version", help="pip download --python-version, for nodes with another Python")
    ap.add_argument("--platform", action="append", default=[], help="pip download --platform (repeatable)")
    args = ap.parse_args(argv)
    source = Path(args.source).resolve()
    if not (source / "pyproject.toml").is_file():
        ap.error(f"--source {args.source!r}: holds no pyproject.toml (name xenbook's source tree)")
    extra = (["--python-version", args.python_version] if args.python_version else [])
    extra += [a for p in args.platform for a in ("--platform", p)]
    info = build(source, Path(args.out).resolve(), args.python, extra)
    print(f"wheelhouse {args.out}: {len(info['wheels'])} wheels, {info['xenbook']}, id {info['id'][:12]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
