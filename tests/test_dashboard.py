"""The manage section's dashboard: parsers at 2,000 domains, actions on the sample host, refusals, and the
unattended notebook's snapshot (table and PNG charts in the output notebook, files for the host report)."""

import gzip
import json
import os
import shutil
import time
from pathlib import Path

import nbformat
import pytest

from tests.test_notebooks import run_notebook
from tests.xen_dom0 import xen_dom0
from xenbook.connectors.fake import FakeHost
from xenbook.core.commands import Command, Result
from xenbook.engine.params import RunbookParams, build
from xenbook.engine.registry import run_sections
from xenbook.facts import domains as domfacts
from xenbook.sections.manage.charts import cpu_chart, snapshot_files
from xenbook.sections.manage.dashboard import Dashboard, read_domains
from xenbook.sections.manage.report import dashboard_charts
from xenbook.sections.manage.steps import DASHBOARD_DIR, manage_steps
from xenbook.ui import notebook
from xenbook.ui.dashboard_view import DashboardView
from xenbook_sample import SampleHost

N = 2000
GUESTS = {"web": ("pvh", 1024), "db": ("pvh", 2048), "build": ("pv", 512)}


# recorded formats, generated at scale

def xl_list(n: int) -> str:
    """`xl list` as xl prints it: "%-40s %5d %5lu %5d     %s  %8.1f"."""
    rows = [f"{'Domain-0':<40} {0:>5} {4096:>5} {8:>5}     r-----  {81234.5:>8.1f}"]
    rows += [f"{f'guest-{i:04d}':<40} {i:>5} {512 + i % 7 * 256:>5} {1 + i % 4:>5}     "
             f"{'--p---' if i % 50 == 0 else '-b----'}  {i * 1.5:>8.1f}" for i in range(1, n)]
    return "Name                                        ID   Mem VCPUs\tState\tTime(s)\n" + "\n".join(rows) + "\n"


def xl_list_json(n: int) -> str:
    """`xl list -l`: libxl's JSON array of {domid, config: {c_info, b_info, ...}}."""
    items = [{"domid": 0, "config": {"c_info": {"type": "pv", "name": "Domain-0"},
                                     "b_info": {"max_vcpus": 8, "max_memkb": 17179869180, "target_memkb": 4194304}}}]
    items += [{"domid": i, "config": {
        "c_info": {"type": ("pvh", "hvm", "pv")[i % 3], "name": f"guest-{i:04d}", "uuid": f"{i:08x}-0000-4000-8000-"
                   f"{i:012x}", "run_hotplug_scripts": "True"},
        "b_info": {"max_vcpus": 1 + i % 4, "avail_vcpus": list(range(1 + i % 4)), "max_memkb": 2 * 1048576,
                   "target_memkb": (512 + i % 7 * 256) * 1024},
        "disks": [{"pdev_path": f"/dev/vg0/guest-{i:04d}", "vdev": "xvda", "backend": "phy", "format": "raw",
                   "readwrite": 1}],
        "nics": [{"devid": 0, "mac": f"00:16:3e:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}",
                  "bridge": "xenbr0"}], "on_reboot": "restart"}} for i in range(1, n)]
    return json.dumps(items, indent=4) + "\n"


XENTOP_HEAD = ("      NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) MAXMEM(%) VCPUS NETS NETTX(k) "
               "NETRX(k) VBDS   VBD_OO   VBD_RD   VBD_WR  VBD_RSECT  VBD_WSECT SSID")


def xentop(n: int, iterations: int = 2) -> str:
    """`xentop -b -f -i 2`: a header and one row per domain, each iteration; CPU(%) is 0.0 in the first."""
    out = []
    for k in range(iterations):
        out.append(XENTOP_HEAD)
        out.append(f"  Domain-0 -----r      81234 {12.5 if k else 0.0:>6.1f}    4194304   25.0   no limit       n/a"
                   "     8    0        0        0    0        0        0        0          0          0    0")
        for i in range(1, n):
            name, mem, state = f"guest-{i:04d}", (512 + i % 7 * 256) * 1024, "----p-" if i % 50 == 0 else "--b---"
            out.append(f"{name:>10} {state} {i * 2:>10} {(i % 100) / 10 if k else 0.0:>6.1f} "
                       f"{mem:>10} {mem * 100 / 16777216:>6.1f} {2097152:>10} {12.5:>9.1f} {1 + i % 4:>5} {1:>4} "
                       f"{i * 3:>8} {i * 11:>8} {1:>4} {0:>8} {i:>8} {i // 2:>8} {i * 8:>10} {i * 4:>10} {0:>4}")
    return "\n".join(out) + "\n"


def xl_uptime(n: int) -> str:
    """`xl uptime`: "%-33s %4d %s" with [D day(s), ]H:MM:SS."""
    rows = [f"{'Domain-0':<33} {0:>4} {domfacts.format_uptime(3 * 86400 + 7)}"]
    rows += [f"{f'guest-{i:04d}':<33} {i:>4} {domfacts.format_uptime(i * 97)}" for i in range(1, n)]
    return f"{'Name':<33} {'ID':>4} Uptime\n" + "\n".join(rows) + "\n"


def test_parsers_read_2000_domains_in_the_real_formats():
    table, detail = domfacts.parse_xl_list(xl_list(N)), domfacts.parse_xl_list_json(xl_list_json(N))
    top, up = domfacts.parse_xentop(xentop(N)), domfacts.parse_xl_uptime(xl_uptime(N))
    assert len(table) == len(detail) == len(top) == len(up) == N
    assert table[0] == {"name": "Domain-0", "domid": 0, "memory_mib": 4096, "vcpus": 8, "state": "running",
                        "cpu_seconds": 81234.5, "type": None, "uptime": None}
    assert table[50]["state"] == "paused" and table[1999]["name"] == "guest-1999"
    assert [d["type"] for d in detail[3:6]] == ["pvh", "hvm", "pv"]
    assert detail[1999]["memory_mib"] == 512 + 1999 % 7 * 256
    assert top[0]["cpu_percent"] == 12.5 and top[0]["max_memory_kib"] is None
    assert top[1234]["name"] == "guest-1234" and top[1234]["cpu_percent"] == 3.4 and top[1234]["vcpus"] == 3
    assert up[0]["uptime"] == 3 * 86400 + 7 and up[1999]["uptime"] == 1999 * 97


RECORDED = Path(__file__).parent / "recorded" / "xen-4.17"


def test_the_parsers_read_what_xen_4_17_printed():
    """Outputs captured in the e2e tier's dom0 (Debian's Xen 4.17) with the guest paused; see recorded/README.md."""
    detail = {d["name"]: d for d in domfacts.parse_xl_list_json((RECORDED / "xl-list-l.json").read_text())}
    assert detail["dom01"] == {"name": "dom01", "domid": 1, "type": "pvh", "memory_mib": 256,
                               "max_memory_mib": 256, "vcpus": 1, "state": None, "uptime": None}
    assert detail["Domain-0"]["type"] == "pv" and detail["Domain-0"]["max_memory_mib"] == 512
    table = {d["name"]: d for d in domfacts.parse_xl_list((RECORDED / "xl-list.txt").read_text())}
    assert table["Domain-0"] == {"name": "Domain-0", "domid": 0, "memory_mib": 512, "vcpus": 2, "state": "running",
                                 "cpu_seconds": 17.2, "type": None, "uptime": None}
    assert table["dom01"]["state"] == "paused" and table["dom01"]["memory_mib"] == 256
    top = {d["name"]: d for d in domfacts.parse_xentop((RECORDED / "xentop-b.txt").read_text())}
    assert top["Domain-0"]["cpu_percent"] == 5.6 and top["Domain-0"]["memory_kib"] == 524288  # the 2nd iteration
    assert top["dom01"]["state"] == "paused" and top["dom01"]["max_memory_kib"] == 263168
    assert (top["dom01"]["nets"], top["dom01"]["vbds"], top["dom01"]["vcpus"]) == (1, 1, 1)
    up = {d["name"]: d["uptime"] for d in domfacts.parse_xl_uptime((RECORDED / "xl-uptime.txt").read_text())}
    assert up == {"Domain-0": 22, "dom01": 10}


def test_the_generated_formats_match_what_xen_4_17_printed():
    """The 2,000-domain outputs above are written in the real formats: their headers are the recorded ones."""
    first = {name: (RECORDED / name).read_text().splitlines()[0] for name in ("xl-list.txt", "xentop-b.txt",
                                                                              "xl-uptime.txt")}
    assert xl_list(2).splitlines()[0] == first["xl-list.txt"]
    assert XENTOP_HEAD == first["xentop-b.txt"] and xentop(2).splitlines()[0] == XENTOP_HEAD
    assert xl_uptime(2).splitlines()[0] == first["xl-uptime.txt"]


def test_the_uptime_parser_reads_every_branch_of_xl_uptime():
    """Rows as xl prints them (tools/xl/xl_info.c: "%-33s %4d %s", and uptime_to_string's long mode
    "%d days, %2d:%02d:%02d", "1 day, ..." or "%2d:%02d:%02d"): the recorded dom0 above has sub-day uptimes only."""
    text = (RECORDED / "xl-uptime.txt").read_text().splitlines()[0] + "\n" + (
        "Domain-0                             0  0:00:00\n"
        "a                                    1  0:00:59\n"
        "b                                    2 23:59:59\n"
        "c                                    3 1 day,  0:00:00\n"
        "d                                    4 1 day,  0:01:01\n"
        "e                                    5 3 days,  7:05:02\n"
        "f                                   15 9 days,  0:59:59\n")
    assert [(r["name"], r["domid"], r["uptime"]) for r in domfacts.parse_xl_uptime(text)] == [
        ("Domain-0", 0, 0), ("a", 1, 59), ("b", 2, 86399), ("c", 3, 86400), ("d", 4, 86461),
        ("e", 5, 3 * 86400 + 7 * 3600 + 5 * 60 + 2), ("f", 15, 9 * 86400 + 3599)]
    with pytest.raises(ValueError):
        domfacts.parse_xl_uptime("not xl uptime\n")


def fake_dom0(n: int = N, json_ok: bool = True) -> FakeHost:
    return FakeHost(commands={
        "xl list": Result(0, xl_list(n)), "xl list -l": Result(0 if json_ok else 1, xl_list_json(n) if json_ok else ""),
        "xl uptime": Result(0, xl_uptime(n)), "xentop -b -f -i 2 -d 1": Result(0, xentop(n)),
        "xl info": Result(0, "total_memory : 16384\nfree_memory : 2048\nxen_major : 4\nxen_minor : 21\n")})


def test_dashboard_table_and_charts_at_2000_domains():
    dash = Dashboard(fake_dom0(), refresh_seconds=0.5)
    dash.collect(2, sleep=lambda s: None)
    rows = dash.rows()
    assert len(rows) == N and dash.source == "xl list -l + xl list + xl uptime + /etc/xen/*.cfg"
    assert rows[3] == ["guest-0003", "3", "idle", "1280", "4", "0:04:51", "pvh", "0.3", ""]
    files = snapshot_files(dash, "now")
    assert all(files[f"{n}.png"].startswith(b"\x89PNG") for n in ("1-domains", "2-cpu", "3-memory", "4-disk",
                                                                   "5-network"))


def test_without_json_the_table_comes_from_xl_list():
    domains, source = read_domains(fake_dom0(5, json_ok=False))
    assert source == "xl list + xl uptime + /etc/xen/*.cfg" and [d["type"] for d in domains] == [None] * 5


# the sample host with three running guests

@pytest.fixture(scope="module")
def dom0_template(tmp_path_factory):
    """A sample host through install, boot and dom0, rebooted into Xen, running web, db and build."""
    host = xen_dom0(str(tmp_path_factory.mktemp("dom0") / "h"))
    for name, (kind, memory) in GUESTS.items():
        for path in (f"/var/lib/xen/boot/{name}/vmlinuz-linux", f"/var/lib/xen/images/{name}.img"):
            host.makedirs(os.path.dirname(path))
            host.write_atomic(path, b"SIMULATED guest file\n")
        host.write_atomic(f"/etc/xen/{name}.cfg", (
            f'name = "{name}"\ntype = "{kind}"\nmemory = {memory}\nmaxmem = {memory * 2}\nvcpus = 2\n'
            f'kernel = "/var/lib/xen/boot/{name}/vmlinuz-linux"\ncmdline = "root=/dev/xvda rw console=hvc0"\n'
            f'disk = [ "format=raw, vdev=xvda, access=rw, target=/var/lib/xen/images/{name}.img" ]\n'
            'vif = [ "bridge=xenbr0" ]\n').encode())
        assert host.run(Command.of("xl", "create", f"/etc/xen/{name}.cfg")).ok
    return host.root


@pytest.fixture
def dom0(dom0_template, tmp_path) -> SampleHost:
    shutil.copytree(dom0_template, tmp_path / "h", symlinks=True)
    return SampleHost(str(tmp_path / "h"))


def act(host, **manage) -> "object":
    params = build(RunbookParams, {"target": host.target, "manage": {"snapshot": False, **manage}})
    return run_sections(host, params, ["manage"], dry_run=False)


def listed(host) -> dict[str, dict]:
    return {d["name"]: d for d in domfacts.parse_xl_list(host.run(Command.of("xl", "list")).stdout)}


def test_the_table_and_charts_change_between_refreshes(dom0):
    dash = Dashboard(dom0, refresh_seconds=1.0)
    dash.refresh()
    first_rows, first_chart = dash.rows(), cpu_chart(dash)
    assert [r[0] for r in first_rows] == ["Domain-0", "web", "db", "build"]
    assert {r[6] for r in first_rows[1:]} == {"pvh", "pv"} and all(r[7] for r in first_rows)
    time.sleep(1.1)
    dash.refresh()
    assert dash.rows() != first_rows and cpu_chart(dash) != first_chart
    assert dash.samples[1].time > dash.samples[0].time
    assert dash.samples[-1].free_mib and dash.samples[-1].memory["db"] == 2048


def test_pinning_dom0_ignores_the_guests_cpumask(dom0):
    """With dom0_vcpus_pin, xl.conf's vm.cpumask keeps guests off dom0's CPUs; pinning Domain-0 there still works."""
    params = build(RunbookParams, {"target": dom0.target, "boot": {"dom0_max_vcpus": 2, "dom0_vcpus_pin": True}})
    assert not run_sections(dom0, params, ["dom0"], dry_run=False).failed
    assert 'vm.cpumask="all,^0-1"' in dom0.read_text("/etc/xen/xl.conf")
    report = act(dom0, action="vcpu-pin", domain="Domain-0", cpus="0-1")
    assert not report.failed, report.summary()
    assert dom0.load_state()["running"]["xen"]["pins"] == {"all": ["0-1"]}
    guest = act(dom0, action="vcpu-pin", domain="db", vcpu="0", cpus="0-1")
    step = guest.steps[1]
    assert step.status == "failed" and "vcpu hard affinity map is empty" in step.reason
    assert "outside /etc/xen/xl.conf's vm.cpumask" in step.remedy
    assert not act(dom0, action="vcpu-pin", domain="db", vcpu="0", cpus="2-3").failed


def test_each_action_changes_the_sample_as_expected(dom0):
    assert not act(dom0, action="pause", domain="web").failed
    assert listed(dom0)["web"]["state"] == "paused"
    assert act(dom0, action="pause", domain="web").steps[1].status == "ok", "pausing twice changes nothing"
    act(dom0, action="unpause", domain="web")
    assert listed(dom0)["web"]["state"] != "paused"
    act(dom0, action="mem-set", domain="db", memory="1G")
    assert listed(dom0)["db"]["memory_mib"] == 1024
    act(dom0, action="vcpu-pin", domain="db", vcpu="0", cpus="2-3")
    pins = next(d for d in dom0.load_state()["running"]["domains"] if d["name"] == "db")["pins"]
    assert pins == {"0": ["2-3"]}
    old = listed(dom0)["build"]["domid"]
    act(dom0, action="reboot", domain="build")
    assert listed(dom0)["build"]["domid"] > old
    act(dom0, action="shutdown", domain="web")
    assert "web" not in listed(dom0)
    act(dom0, action="start", domain="web")
    assert "web" in listed(dom0)
    act(dom0, action="destroy", domain="db", confirm="db")
    assert "db" not in listed(dom0)
    act(dom0, action="autostart-on", domain="db")
    assert os.readlink(Path(dom0.root, "etc/xen/auto/db.cfg")) == "/etc/xen/db.cfg"
    act(dom0, action="autostart-off", domain="db")
    assert not os.path.lexists(Path(dom0.root, "etc/xen/auto/db.cfg"))


@pytest.mark.parametrize("manage, words", [
    ({"action": "shutdown", "domain": "nosuch"}, "no running domain named nosuch (running: Domain-0, build, db, web"),
    ({"action": "start", "domain": "nosuch"}, "start refused: no guest configuration /etc/xen/nosuch.cfg"),
    ({"action": "start", "domain": "efi-xen"}, "/etc/xen/efi-xen.cfg (that file is not a guest's xl.cfg(5))"),
    ({"action": "destroy", "domain": "Domain-0", "confirm": "Domain-0"}, "Domain-0 is dom0 itself"),
    ({"action": "shutdown", "domain": "Domain-0"}, "Domain-0 is dom0 itself"),
    ({"action": "pause", "domain": "Domain-0"}, "Domain-0 is dom0 itself"),
])
def test_refusals_change_nothing(dom0, manage, words):
    before = listed(dom0)
    report = act(dom0, **manage)
    (failed,) = report.failed
    assert words in failed.reason and failed.remedy
    assert {n: d["state"] for n, d in listed(dom0).items()} == {n: d["state"] for n, d in before.items()}


def test_bad_action_parameters_fail_before_the_host_is_touched(tmp_path):
    for values, rule in (({"action": "destroy"}, "needs domain"), ({"action": "nuke", "domain": "x"}, "action"),
                         ({"action": "mem-set", "domain": "x"}, "needs memory"),
                         ({"action": "pause", "domain": "a b"}, "domain name"),
                         ({"action": "destroy", "domain": "web"}, "not confirmed"),
                         ({"action": "destroy", "domain": "web", "confirm": "db"}, "not confirmed")):
        with pytest.raises(Exception, match=rule):
            notebook.section("manage", target=f"sample:{tmp_path / 'h'}", **values)
    assert not (tmp_path / "h").exists()


def test_the_view_refreshes_acts_and_stops(dom0):
    view = DashboardView(notebook.section("manage", target=dom0.target, refresh_seconds=0.5, samples=2))
    try:
        assert "web" in view.ui.table.value and bytes(view.ui.cpu.value).startswith(b"\x89PNG")
        assert list(view.ui.domain.options)[:4] == ["Domain-0", "web", "db", "build"]
        view.start()
        deadline = time.monotonic() + 20
        while len(view.dashboard.samples) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        view.stop()
        count = len(view.dashboard.samples)
        assert count >= 3 and not view._thread.is_alive()
        time.sleep(0.6)
        assert len(view.dashboard.samples) == count, "the auto-refresh thread stopped"
        report = view.act(action="pause", domain="web")
        assert report.steps[0].status == "changed" and listed(dom0)["web"]["state"] == "paused"
        with pytest.raises(Exception, match="not confirmed"):
            view.act(action="destroy", domain="web", confirm="")
    finally:
        view.close()


def test_the_snapshot_goes_through_the_runner_and_into_the_host_report(dom0):
    params = build(RunbookParams, {"target": dom0.target, "manage": {"samples": 2, "refresh_seconds": 0.5}})
    plan = run_sections(dom0, params, ["manage"], dry_run=True)
    assert plan.steps[-1].status == "would-change" and not Path(dom0.root, DASHBOARD_DIR[1:]).exists()
    assert any("Binary files" in d["diff"] for d in plan.steps[-1].diffs)
    applied = run_sections(dom0, params, ["manage"], dry_run=False)
    assert applied.steps[-1].status == "changed"
    data = json.loads(gzip.decompress(Path(dom0.root, DASHBOARD_DIR[1:], "snapshot.json.gz").read_bytes()))
    assert [r[0] for r in data["rows"]] == ["Domain-0", "web", "db", "build"] and len(data["samples"]) == 2
    assert [c.caption.split(" ")[0] for c in dashboard_charts(dom0)] == ["Domains", "CPU", "Memory", "Disk",
                                                                        "Network"]
    again = run_sections(dom0, params, ["manage"], dry_run=False)
    assert {s.status for s in again.steps} == {"ok"}, "a fresh snapshot is kept"
    steps = manage_steps(build(RunbookParams, {"manage": {"action": "pause", "domain": "web"}}), dom0)
    assert [s.name for s in steps] == ["ToolstackAnswers", "DomainAction(pause web)", "DashboardSnapshot"]


@pytest.mark.slow
def test_an_unattended_run_embeds_the_table_and_charts_and_saves_them(dom0, tmp_path):
    report, out = run_notebook("60-manage.ipynb", tmp_path, dom0.target, dry_run=False, action="pause",
                               domain="web", samples=3, refresh_seconds=0.5)
    assert [s["status"] for s in report["steps"]] == ["ok", "changed", "changed"]
    outputs = [o for c in nbformat.read(out, as_version=4).cells for o in c.get("outputs", [])]
    pngs = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(pngs) >= 4
    assert any(">Domain-0</td>" in o.get("data", {}).get("text/html", "") for o in outputs)
    saved = sorted(os.listdir(Path(dom0.root, DASHBOARD_DIR[1:])))
    assert saved == ["1-domains.png", "1-domains.txt", "2-cpu.png", "2-cpu.txt", "3-memory.png", "3-memory.txt",
                     "4-disk.png", "4-disk.txt", "5-network.png", "5-network.txt", "snapshot.json.gz"]
    assert listed(dom0)["web"]["state"] == "paused"


def test_every_manage_step_has_cases():
    from tests.test_steps import CASES
    names = set()
    for manage in ({"action": "start", "domain": "web", "manager": "libvirt"},
                   {"manager": "libvirt", "libvirt_package": "libvirt"}):
        names |= {type(s).__name__ for s in manage_steps(build(RunbookParams, {"manage": manage}), FakeHost())}
    assert names <= {p.parent.name for p in CASES}, names - {p.parent.name for p in CASES}
