"""The dashboard as virt-manager shows guests: only real domU configurations count, shut-off guests are listed,
states in users' words, disk and network I/O from xentop, clock-time axes, row actions, and a guest's console."""

import re
import time
from pathlib import Path

import pytest

from tests.test_dashboard import dom0, dom0_template, listed  # noqa: F401 (fixtures)
from xenbook.connectors.fake import FakeHost
from xenbook.core.commands import Command, Result
from xenbook.core.errors import ParameterError
from xenbook.facts import domains as domfacts
from xenbook.facts import xlcfg
from xenbook.sections.domu.steps import MANAGED
from xenbook.sections.manage.charts import chart_figure, clock, clock_locator, io_figure
from xenbook.sections.manage.dashboard import Dashboard, Sample
from xenbook.ui import notebook
from xenbook.ui.dashboard_console import Console, Screen
from xenbook.ui.dashboard_view import DashboardView
from xenbook.ui.dashboard_widgets import one_line

RECORDED = Path(__file__).parent / "recorded"
EFI_XEN_CFG = ("[global]\ndefault=xen\n\n[xen]\noptions=console=vga dom0_mem=1024M,max:1024M loglvl=all noreboot\n"
               "kernel=vmlinuz-linux root=<Root Device> rw\nramdisk=initramfs-linux.img\n")
XL_CONF = 'autoballoon="off"\nvm.cpumask="all,^0-1"\n'
XLEXAMPLE = 'name = "example.hvm"\ntype = "hvm"\nmemory = 128\n'

# /etc/xen file -> (its text, the guest's name or None, the words why it is no guest)
ETC_XEN = {
    "efi-xen.cfg": (EFI_XEN_CFG, None, "xen.efi's configuration"),
    "xl.conf": (XL_CONF, None, None),  # not *.cfg: never read
    "cpupool": ('name="pool1"\nsched="credit2"\ncpus=["2","3"]\n', None, None),
    "xlexample.hvm": (XLEXAMPLE, None, None),
    "web.cfg": ('# my own guest\nname = "web"\ntype = "pvh"\nmemory = 1024; maxmem = 0x800\nvcpus = 2\n'
                "disk = [ 'format=raw, vdev=xvda, access=rw, target=/dev/vg0/web' ]\n"
                'vif = [ "bridge=xenbr0",\n        "bridge=xenbr1" ]\ncpus = ["2", "3-8,^5"]\n', "web", None),
    "old.cfg": ('builder = "hvm"\nname = "old-name"\nmemory = 0400\nmaxvcpus = 4\n'
                'vnuma = [ ["pnode=0", "size=512"] ]\n',
                "old-name", None),
    "ours.cfg": (MANAGED + 'name = "ours"\ntype = "pv"\nmemory = 512\nmaxmem = 512\nvcpus = 1\n', "ours", None),
    "broken.cfg": ('name = "broken"\nmemory = [1024\n', None, "',' or ']' expected in a list"),
    "unnamed.cfg": ('type = "pvh"\nmemory = 256\n', None, "no name="),
    "blank.cfg": ('name = "  "\n', None, "no name="),
    "binary.cfg": (b"\xff\xfe\x00name", None, "codec"),
    "deep.cfg": ('name = "deep"\nx = ' + "[" * 100_000 + "\n", None, "lists nested deeper than"),
    "open.cfg": ('name = "open"\nx = [ [ [', None, "a value expected"),
    "python.cfg": ('import os\nname = os.name\n', None, "KEY=VALUE expected"),
}


def etc_xen_host(**extra) -> FakeHost:
    files = {f"/etc/xen/{n}": text for n, (text, _g, _w) in ETC_XEN.items()}
    files |= {"/etc/xen/scripts/vif-bridge": "#!/bin/sh\n", "/etc/xen/auto/web.cfg": "link stand-in\n", **extra}
    return FakeHost(files=files)


def test_only_real_domu_configs_are_guests():
    guests, skipped = xlcfg.guest_configs(etc_xen_host())
    assert [g.name for g in guests] == ["old-name", "ours", "web"]
    web = next(g for g in guests if g.name == "web")
    assert (web.path, web.type, web.memory_mib, web.maxmem_mib, web.vcpus) == ("/etc/xen/web.cfg", "pvh", 1024, 2048, 2)
    old = next(g for g in guests if g.name == "old-name")
    assert (old.type, old.memory_mib, old.vcpus) == ("hvm", 256, 4), "builder=, an octal number, maxvcpus="
    reasons = {path.rsplit("/", 1)[1]: why for path, why in skipped}
    for name, (_text, guest, why) in ETC_XEN.items():
        if why:
            assert why in reasons[name], (name, reasons.get(name))
        elif guest is None:
            assert name not in reasons, f"{name} is no *.cfg and is not even read"


def test_the_config_parser_reads_xl_cfg_syntax():
    assert xlcfg.parse('a=1;b="x\\"y"\nc=[ 1, [ "n", 0x10 ], ]\n# c\nd += ["z"]\nd += ["w"]\ne=1.5') == {
        "a": 1, "b": 'x"y', "c": [1, ["n", 16]], "d": ["z", "w"], "e": 1.5}
    for bad in ("name", "name = ", "= 1", 'name = "a" "b"', "x = [1 2]", "[xen]\noptions=a"):
        with pytest.raises(ValueError, match="line"):
            xlcfg.parse(bad)


def test_a_guest_named_by_two_configs_is_one_row():
    from xenbook.sections.manage.dashboard import read_domains
    host = etc_xen_host(**{"/etc/xen/a-copy.cfg": 'name = "web"\nmemory = 64\n'})
    host.commands = {"xl list": Result(0, "Name                                        ID   Mem VCPUs\tState\tTime(s)\n"
                                          "Domain-0                                     0  2048     2     r-----  1.0\n"),
                     "xl list -l": Result(1, ""), "xl uptime": Result(1, "")}
    rows, _source = read_domains(host)
    assert [(r["name"], r["config"], r["memory_mib"]) for r in rows if r["name"] == "web"] == [
        ("web", "/etc/xen/web.cfg", 1024)]


def test_start_takes_the_config_that_names_the_guest():
    host = etc_xen_host()
    assert xlcfg.config_for(host, "old-name").path == "/etc/xen/old.cfg"
    assert xlcfg.config_for(host, "efi-xen") is None and xlcfg.config_for(host, "broken") is None


@pytest.mark.parametrize("letters, word, shown", [
    ("r-----", "running", "running"), ("-b----", "blocked", "idle"), ("--p---", "paused", "paused"),
    ("---s--", "shutdown", "shutting down"), ("----c-", "crashed", "crashed"), ("-----d", "dying", "dying"),
    ("------", "runnable", "running"), ("--b---", "blocked", "idle"),  # xentop's order: d s b c p r
    ("----p-", "paused", "paused"), ("-b-s--", "shutdown", "shutting down"), ("--p--d", "dying", "dying"),
])
def test_state_words(letters, word, shown):
    assert domfacts.state_word(letters) == word and domfacts.user_state(word) == shown


def test_a_defined_guest_that_is_not_running_is_shut_off():
    assert domfacts.user_state(None) == "shut off"


XENTOP = (RECORDED / "xentop-c" / "xentop-b-n-x-v.txt").read_text()


def test_xentop_io_columns_with_the_n_x_v_lines():
    """Composed with xentop.c's formats (recorded/README.md): the -n, -x and -v lines are skipped, the last
    iteration counts, a disk whose statistics cannot be read shows "-"."""
    top = {r["name"]: r for r in domfacts.parse_xentop(XENTOP)}
    assert list(top) == ["Domain-0", "web", "db", "build"]
    assert (top["web"]["net_tx_kib"], top["web"]["net_rx_kib"], top["web"]["cpu_percent"]) == (7548, 123456, 3.2)
    assert {k: top["db"][k] for k in ("nets", "vbds", "vbd_oo", "vbd_rd", "vbd_wr", "vbd_rsect", "vbd_wsect")} == {
        "nets": 2, "vbds": 2, "vbd_oo": 3, "vbd_rd": 91410, "vbd_wr": 640400, "vbd_rsect": 7225992,
        "vbd_wsect": 51232008}
    assert [top["build"][k] for k in ("vbd_rd", "vbd_wr", "vbd_rsect", "vbd_wsect")] == [None] * 4
    assert top["Domain-0"]["max_memory_kib"] is None and top["build"]["state"] == "paused"


def test_xentop_with_a_header_before_every_row():
    """-r repeats the header before each domain: the last iteration is still the one read."""
    lines = XENTOP.splitlines()
    head, second = lines[0], lines[len(lines) // 2 + 1:]
    rows = [line for line in lines if re.match(r"^\s*\S+ [-dsbcpr]{6} ", line)]
    repeated = "\n".join(x for row in rows for x in (head, row)) + "\n"
    assert domfacts.parse_xentop(repeated) == domfacts.parse_xentop(XENTOP)
    assert len(second) > 4
    with pytest.raises(ValueError, match="not a `xentop -b` row"):
        domfacts.parse_xentop(head + "\n  web --b---  x 0.0 1 1 1 1 1 1 1 1 1 1 1 1 1 1 0\n")


def samples(*times: float, io: bool = True) -> Dashboard:
    dash = Dashboard(FakeHost(), refresh_seconds=2.0)
    for k, t in enumerate(times):
        dash.samples.append(Sample(t, {"web": 5.0 + k}, {"web": 1024}, 2048, 8192,
                                   {"disk_read": {"web": 100.0 * k}, "disk_write": {"web": 50.0 * k},
                                    "net_rx": {"web": 10.0 * k}, "net_tx": {"web": 0.0}} if io else {}))
    return dash


def test_the_time_axis_is_the_wall_clock():
    t0 = time.mktime((2026, 12, 7, 15, 4, 5, 0, 0, -1))
    dash = samples(t0, t0 + 2, t0 + 4, t0 + 6)
    fig, ax, waiting = chart_figure(dash, "cpu", "CPU", "%")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(fig).draw()
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert labels and all(re.fullmatch(r"\d\d:\d\d:\d\d", x) for x in labels), labels
    assert labels == ["15:04:06", "15:04:08", "15:04:10"], "whole seconds of the wall clock, none twice"
    assert waiting is None and ax.get_xlabel().startswith("time (")
    assert clock(t0).strftime("%H:%M:%S") == "15:04:05"


@pytest.mark.parametrize("span, every", [(4, 1), (30, 5), (90, 15), (600, 120), (3600, 600), (86400, 14400)])
def test_clock_ticks_never_repeat(span, every):
    t0 = time.mktime((2026, 12, 7, 15, 0, 0, 0, 0, -1))
    from matplotlib.dates import date2num
    ticks = clock_locator(span).tick_values(clock(t0), clock(t0 + span))
    inside = [t for t in ticks if date2num(clock(t0)) <= t <= date2num(clock(t0 + span))]
    steps = {round((b - a) * 86400) for a, b in zip(inside, inside[1:])}
    assert steps == {every} and len(inside) <= 7, (steps, len(inside))


def test_one_sample_says_it_is_collecting_and_still_shows_a_point():
    dash = samples(1_800_000_000.0)
    fig, ax, waiting = chart_figure(dash, "cpu", "CPU", "%")
    assert waiting == "collecting: 1 sample; a line needs 2, refresh again"
    assert ax.lines[0].get_marker() == "o" and len(ax.lines[0].get_xdata()) == 1
    fig, ax, waiting = io_figure(dash, ("disk_read", "disk_write"), ("read", "write"))
    assert not ax.lines and waiting.startswith("collecting: 1 sample")


def test_io_rates_between_samples():
    dash = samples(100.0, 102.0, 104.0)
    assert dash.rates("web") == {"disk_read": 50.0, "disk_write": 25.0, "net_rx": 5.0, "net_tx": 0.0}
    assert dash.series("disk_read", "web") == [(102.0, 50.0), (104.0, 50.0)]
    fig, ax, waiting = io_figure(dash, ("disk_read", "disk_write"), ("read", "write"))
    assert waiting is None and [line.get_label() for line in ax.lines] == ["web read", "web write"]
    dash.samples[-1].io["disk_read"]["web"] = 0.0  # restarted: its counters begin again
    assert "disk_read" not in dash.rates("web")


def test_shut_off_guests_are_listed_and_efi_xen_cfg_is_not(dom0):  # noqa: F811
    assert dom0.exists("/etc/xen/efi-xen.cfg"), "the sample's xen package installs it, as Arch's does"
    view = DashboardView(notebook.section("manage", target=dom0.target, refresh_seconds=0.5))
    try:
        view.ui.row_action("shutdown", "web")
        assert "web" not in listed(dom0)
        rows = {r[0]: r for r in view.dashboard.rows()}
        assert rows["web"][1:5] == ["", "shut off", "1024", "2"] and rows["web"][8] == "/etc/xen/web.cfg"
        assert "efi-xen" not in rows and "efi-xen.cfg" in view.ui.note.value
        buttons = [b.description for row in view.ui.rows.children[1:] if "web" in row.children[0].value
                   for b in row.children[-1].children]
        assert buttons == ["Start"]
        view.ui.row_action("start", "web")
        assert "web" in listed(dom0) and {r[0]: r for r in view.dashboard.rows()}["web"][2] == "idle"
        view.ui.row_action("destroy", "db")
        assert "db" in listed(dom0), "destroy asks first"
        with pytest.raises(ParameterError) as bad:
            view.act(action="destroy", domain="db", confirm="")
        assert one_line(bad.value).startswith("manage.confirm = '': action destroy pulls the plug on db")
        with pytest.raises(ParameterError) as bad:
            view.act(action="mem-set", domain="db", memory="lots")
        assert one_line(bad.value).startswith("manage.memory = 'lots': ") and "\n" not in one_line(bad.value)
    finally:
        view.close()


def wait_for(console: Console, text: str, seconds: float = 20) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if text in console.screen.text():
            return console.screen.text()
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never came: {console.screen.text()!r}")


def test_the_console_shows_the_guests_login_prompt_and_leaves_on_ctrl_bracket(dom0):  # noqa: F811
    ended = []
    console = Console(dom0, "web", on_exit=ended.append)
    try:
        assert console.argv[-3:] == ["xl", "console", "web"]
        wait_for(console, "web login: ")
        console.send("root\r")
        wait_for(console, "Password: ")
        console.send("secret\r")
        screen = wait_for(console, "Login incorrect")
        assert "secret" not in screen, "a password is not echoed"
    finally:
        assert console.close() == 0
    assert ended == [0]


def test_no_console_for_a_shut_off_guest(dom0):  # noqa: F811
    assert dom0.run(Command.of("xl", "destroy", "db")).ok
    console = Console(dom0, "db")
    deadline = time.monotonic() + 20
    while console.alive and time.monotonic() < deadline:
        time.sleep(0.05)
    assert console.close() == 1 and "db is an invalid domain identifier" in console.screen.text()


@pytest.mark.parametrize("name", ["-t", "--help", "web;rm -rf /", "$(reboot)", "web\nx", "", " web", "a" * 65])
def test_a_console_is_opened_only_for_a_domain_name(tmp_path, name):
    """A name read from an /etc/xen/*.cfg may be anything: no xl console starts for one that is no domain's name."""
    with pytest.raises(ParameterError, match="parameter domain = "):
        Console(FakeHost(), name)


def test_the_screen_keeps_text_only():
    screen = Screen(keep=3)
    screen.feed("\x1b[2J\x1b[1;1Hone\r\ntwo\rTW\nthree\bE\n\tx")
    assert screen.text() == "TWo\nthreE\n        x"


def test_each_target_gives_xl_console_its_terminal(tmp_path):
    from xenbook.connectors.remote import SudoLocalHost
    from xenbook.connectors.ssh import SshHost
    from xenbook.connectors.rooted import ChrootHost, LocalHost
    from xenbook.core.errors import HostError
    command = Command.of("xl", "console", "web;rm -rf /")
    for sudo, remote in ((False, "xl console 'web;rm -rf /'"), (True, "sudo -n -- xl console 'web;rm -rf /'")):
        ssh = SshHost("xen1", user="admin", port=2222, sudo=sudo)
        try:
            argv = ssh.terminal(command)
            assert argv[:2] == ["ssh", "-t"] and argv[-3:] == ["--", "xen1", remote], "one argument, quoted once"
        finally:
            ssh.close()
    assert LocalHost().terminal(command) == ["xl", "console", "web;rm -rf /"]
    assert SudoLocalHost().terminal(command)[:3] == ["sudo", "-n", "--"]
    with pytest.raises(HostError, match="gives no terminal"):
        ChrootHost(str(tmp_path)).terminal(command)


def test_a_console_left_open_ends_with_the_kernel(tmp_path):
    """A console whose widget was closed (or re-run) without Ctrl+] ends when the kernel's Python exits: its process
    runs in a session of its own, so nothing else would end it."""
    import subprocess
    import sys
    script = ("import sys, time\nfrom xenbook.connectors.fake import FakeHost\n"
              "from xenbook.ui.dashboard_console import Console\n"
              "class H(FakeHost):\n    def terminal(self, command):\n"
              "        return [sys.executable, '-c', 'import time; time.sleep(120)']\n"
              "print(Console(H(), 'web').proc.pid, flush=True)\n")
    kernel = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    pid = int(kernel.stdout.split()[0])
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower():
        assert time.monotonic() < deadline, f"the console's process {pid} outlived the kernel"
        time.sleep(0.1)


@pytest.mark.parametrize("text, lines", [("x" * 1_000_000, 200), ("ab" * 300, 2), ("x" * 512, 1), ("x" * 513, 2)])
def test_the_screen_wraps_a_line_that_never_ends_and_stays_quick(text, lines):
    """A guest printing megabytes without a newline costs linear time, not quadratic, and keeps `keep` lines."""
    screen, started = Screen(), time.monotonic()
    for i in range(0, len(text), 4096):
        screen.feed(text[i:i + 4096])
    assert len(screen.lines) == lines and max(map(len, screen.lines)) <= 512
    assert time.monotonic() - started < 5  # quadratic: half a minute


def test_typing_into_a_console_that_just_ended_is_no_error(monkeypatch):
    class Quick(FakeHost):
        def terminal(self, command):
            return ["true"]
    console = Console(Quick(), "web")
    console.close()
    monkeypatch.setattr(Console, "alive", property(lambda self: True))  # as if it ended between check and write
    console.send("root\r")
