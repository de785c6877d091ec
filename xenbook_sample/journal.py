"""The sample host's SIMULATED journalctl (and `xl dmesg`'s log): text files a test or the simulation writes.

journalctl -b OFFSET prints JOURNAL_DIR/boot<OFFSET>.log (boot0.log is this boot, boot-1.log the one before), the
last -n lines of it, as the real tool prints a boot it holds ("-- No entries --" for an empty one, and exit 1 with
"Data from the specified boot (-1) is not available: No such boot ID in journal" for a boot it does not hold).
break_journal() and break_xl_dmesg() are how tests put a failure's log lines into a sample host."""

from __future__ import annotations

from xenbook.core.commands import Result
from xenbook_sample.options import Usage, options

JOURNAL_DIR = "/var/log/journal/xenbook-sample"  # the real journal is binary; the sample's is text, here
XL_DMESG = "/var/log/xen/.xenbook-sample-xl-dmesg"  # what `xl dmesg` prints (Xen's console ring) on the sample


def journal_path(offset: int) -> str:
    return f"{JOURNAL_DIR}/boot{offset}.log"


def journalctl(host, argv, stdin) -> Result:
    opts, args = options("journalctl", argv, "b:n:o:u:",
                         ["boot=", "lines=", "output=", "no-pager", "unit=", "priority="])
    if args:
        raise Usage(f"journalctl: [simulated] unexpected argument {args[0]!r}\n", 1)
    given = {k.lstrip("-"): v for k, v in opts}
    boot = given.get("b", given.get("boot", "0")) or "0"
    try:
        offset = int(boot)
        lines = int(given.get("n", given.get("lines", "0")) or 0)
    except ValueError:
        raise Usage(f"Failed to parse boot descriptor or line count: {boot!r}\n", 1) from None
    text = host.read_text(journal_path(offset))
    if text is None:
        if offset == 0:
            return Result(0, "-- No entries --\n", "")
        return Result(1, "", f"Data from the specified boot ({offset}) is not available: No such boot ID in journal\n")
    kept = text.splitlines()
    kept = kept[-lines:] if lines > 0 else kept
    return Result(0, "".join(line + "\n" for line in kept) if kept else "-- No entries --\n", "")


def _write(host, path: str, lines: list[str] | str) -> None:
    text = lines if isinstance(lines, str) else "".join(line + "\n" for line in lines)
    host.makedirs(path.rsplit("/", 1)[0])
    host.write_atomic(path, text.encode(), mode=0o640)


def break_journal(host, lines: list[str] | str, offset: int = 0) -> None:
    """Put these lines into the sample's journal of boot OFFSET (0 this boot, -1 the one before)."""
    _write(host, journal_path(offset), lines)


def break_xl_dmesg(host, lines: list[str] | str) -> None:
    """What `xl dmesg` prints on the sample from now on."""
    _write(host, XL_DMESG, lines)


def xl_dmesg(host, state) -> Result:
    """`xl dmesg`: the sample's Xen console ring; a default few lines naming the version otherwise."""
    text = host.read_text(XL_DMESG)
    if text is None:
        x = state["running"]["xen"]
        text = (f"(XEN) Xen version {x['version']} (SIMULATED)\n(XEN) Command line: {x.get('cmdline', '')}\n"
                f"(XEN) Dom0 has maximum {x['dom0_vcpus']} VCPUs\n(XEN) Freed 640kB init memory\n")
    return Result(0, text, "")


PROGRAMS = {"journalctl": journalctl}


def rotate(host) -> None:
    """At a simulated reboot this boot's journal becomes the previous one (-1), and the new boot's starts empty."""
    current = host.read_bytes(journal_path(0))
    host.remove(journal_path(-1))
    if current is not None:
        host.write_atomic(journal_path(-1), current, mode=0o640)
        host.remove(journal_path(0))
