"""A FIFO, socket or device where a file should be is refused with a HostError naming the path, on the local and
chroot hosts: never opened for reading (a FIFO would block forever), never replaced."""

from __future__ import annotations

import os
import socket
import threading

import pytest

from xenbook.connectors.rooted import ChrootHost, LocalHost
from xenbook.core.errors import HostError


@pytest.fixture(autouse=True)
def _counted(tally):
    """Each case of this file counts in the reliability tier's summary line."""
    yield
    tally["special-file cases"] += 1


def within(seconds: float, call):
    """call() in a thread: its result or exception, or a failure when it is still blocked after seconds."""
    box: dict = {}

    def run():
        try:
            box["value"] = call()
        except BaseException as e:  # noqa: BLE001 - handed to the test
            box["error"] = e

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        pytest.fail(f"still blocked after {seconds}s")
    if "error" in box:
        raise box["error"]
    return box["value"]


@pytest.fixture
def tree(tmp_path):
    os.makedirs(tmp_path / "etc/default")
    os.mkfifo(tmp_path / "etc/default/grub")
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(tmp_path / "etc/sock"))
    (tmp_path / "etc/link").symlink_to("default/grub")
    return tmp_path


@pytest.mark.parametrize("rel, kind", [("etc/default/grub", "a FIFO"), ("etc/sock", "a socket"),
                                       ("etc/link", "a FIFO")])
def test_chroot_host_refuses_to_read_or_replace(tree, rel, kind):
    host = ChrootHost(str(tree))
    with pytest.raises(HostError, match=f"/{rel} is {kind}.* where a regular file should be"):
        within(10, lambda: host.read_bytes(f"/{rel}"))
    with pytest.raises(HostError, match=f"/{rel} is {kind}"):
        host.write_atomic(f"/{rel}", b"GRUB_TIMEOUT=5\n")
    assert not os.path.isfile(tree / rel), "the special file was replaced"


def test_local_host_refuses_a_fifo_and_a_device(tree):
    host = LocalHost()
    with pytest.raises(HostError, match="is a FIFO"):
        within(10, lambda: host.read_bytes(str(tree / "etc/default/grub")))
    with pytest.raises(HostError, match="/dev/null is a character device"):
        host.read_bytes("/dev/null")
