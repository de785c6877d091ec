"""The sample host's SIMULATED repositories: a catalogue of the packages the install section asks for, and
pacman's rules for comparing versions and reading dependency strings."""

from __future__ import annotations

import re

# repository, name, version, arch[, provides...]: a catalogue of what the install section asks for (late 2025)
CATALOGUE = """\
core base-devel 1-2 any
core bison 3.8.2-8 x86_64
core curl 8.17.0-1 x86_64
core device-mapper 2.03.35-1 x86_64
core flex 2.6.4-5 x86_64
core gettext 0.26-1 x86_64
core iproute2 6.17.0-1 x86_64
core inetutils 2.6-1 x86_64
core less 1:679-1 x86_64
core libseccomp 2.5.6-1 x86_64
core ncurses 6.5-4 x86_64
core openssl 3.6.0-1 x86_64
core pkgconf 2.5.1-1 x86_64
core python 3.13.7-1 x86_64
core systemd 258.2-1 x86_64
core systemd-libs 258.2-1 x86_64
core texinfo 7.2-1 x86_64
core util-linux-libs 2.41.2-1 x86_64 libuuid.so=1-64 libblkid.so=1-64
core xz 5.8.1-1 x86_64
core zlib 1:1.3.1-2 x86_64
extra acpica 20250807-1 x86_64
extra fig2dev 3.2.9a-2 x86_64
extra figlet 2.2.5-6 x86_64
extra git 2.51.2-1 x86_64
extra glib2 2.86.1-1 x86_64
extra go 2:1.25.4-1 x86_64
extra gnutls 3.8.10-1 x86_64
extra libaio 0.3.113-3 x86_64
extra libjpeg-turbo 3.1.2-1 x86_64
extra libpng 1.6.50-1 x86_64
extra libx11 1.8.12-1 x86_64
extra lzo 2.10-5 x86_64
extra meson 1.9.1-1 any
extra nasm 2.16.03-2 x86_64
extra ninja 1.13.1-1 x86_64
extra numactl 2.0.19-1 x86_64
extra pandoc-cli 3.7.0.2-1 x86_64 pandoc=3.7.0.2
extra pciutils 3.14.0-1 x86_64
extra pixman 0.46.4-1 x86_64
extra python-packaging 25.0-1 any
extra python-setuptools 1:80.9.0-1 any
extra qemu-common 10.1.2-1 x86_64
extra rust 1:1.91.1-1 x86_64 cargo
extra sdl2-compat 2.32.58-1 x86_64 sdl2=2.32.58
extra seabios 1.17.0-1 any
extra spice 0.15.2-2 x86_64
extra usbredir 0.15.0-1 x86_64
extra valgrind 3.26.0-1 x86_64
extra vde2 2.3.3-8 x86_64
extra wget 1.25.0-2 x86_64
extra yajl 2.1.0-6 x86_64
multilib lib32-glibc 2.42+r17+gd7274d718e6f-1 x86_64
"""
REPO = {f[1]: {"repo": f[0], "version": f[2], "arch": f[3], "provides": f[4:]}
        for f in (line.split() for line in CATALOGUE.splitlines())}


def _split(version: str) -> tuple[int, str, str]:
    epoch, _, rest = version.rpartition(":") if ":" in version else ("0", "", version)
    ver, _, rel = rest.partition("-")
    return int(epoch or 0), ver, rel


def _rpmvercmp(a: str, b: str) -> int:
    pa, pb = re.findall(r"[0-9]+|[A-Za-z]+", a), re.findall(r"[0-9]+|[A-Za-z]+", b)
    for x, y in zip(pa, pb):
        if x.isdigit() != y.isdigit():
            return 1 if x.isdigit() else -1
        if x.isdigit() and int(x) != int(y):
            return 1 if int(x) > int(y) else -1
        if not x.isdigit() and x != y:
            return 1 if x > y else -1
    return (len(pa) > len(pb)) - (len(pa) < len(pb))


def vercmp(a: str, b: str) -> int:
    """pacman's version comparison (simplified): epoch, then version, then release when both have one."""
    (ea, va, ra), (eb, vb, rb) = _split(a), _split(b)
    return (ea > eb) - (ea < eb) or _rpmvercmp(va, vb) or (_rpmvercmp(ra, rb) if ra and rb else 0)


def meets(version: str, op: str, wanted: str) -> bool:
    c = vercmp(version, wanted)
    return {"": True, "=": c == 0, ">=": c >= 0, "<=": c <= 0, ">": c > 0, "<": c < 0}[op]


def parse_dep(dep: str) -> tuple[str, str, str]:
    m = re.match(r"^([^<>=]+)(>=|<=|=|<|>)?(.*)$", dep)
    return m.group(1), m.group(2) or "", m.group(3)
