"""Fixtures of the e2e tier: one sample host taken through xenbook's sections, the images built from its outputs
once per session, and ISOs booted under QEMU, each QEMU stopped by its own process id at teardown."""

from __future__ import annotations

import itertools
import shutil

import pytest

from tests.artifacts import artifact_dir
from tests.e2e import debian, host, iso, qemu


@pytest.fixture(scope="session")
def e2e_ready():
    gone = debian.missing()
    if gone:
        pytest.skip("the e2e boot needs Debian's packages (scripts/test installs them); missing: " + ", ".join(gone))


@pytest.fixture(scope="session")
def e2e_dir(tmp_path_factory):
    return artifact_dir(tmp_path_factory, "xen-e2e", "e2e artifacts (ISOs, initramfs images, serial consoles)")


@pytest.fixture(scope="session")
def xen_images(e2e_ready, e2e_dir):
    return host.images(host.prepare(e2e_dir / "sample"), e2e_dir)


@pytest.fixture(scope="session")
def qemu_processes():
    started: list = []
    yield started
    for proc in started:
        qemu.stop(proc)


@pytest.fixture(scope="session")
def boot_entry(xen_images, e2e_dir, qemu_processes):
    """boot_entry(name, entry=None) -> qemu.Boot: an ISO of ENTRY (xenbook's, by default) with the session's
    files, booted to the end or to the first failure; its console is kept beside the ISO."""
    counter = itertools.count()

    def boot(name: str, entry: str | None = None, timeout: float = 360.0) -> qemu.Boot:
        work = e2e_dir / f"{next(counter):02d}-{name}"
        work.mkdir()
        image = iso.build(iso.iso_entry(entry or xen_images.entry), xen_images.files, work / f"{name}.iso", work)
        shutil.rmtree(work / "iso-root")
        result = qemu.boot(image, work / "console.log", timeout=timeout, processes=qemu_processes)
        print(f"\n{name}: {result.explain().splitlines()[0]} (console: {result.log})")
        return result

    return boot
