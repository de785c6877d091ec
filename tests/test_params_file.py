"""A section's applied values saved into the host's YAML parameters file: comments, order and spelling kept, only
the changed values set, one-time values (an action, a confirmation to format) never saved, the file replaced
atomically with its mode, and a file that cannot be edited without losing anything refused by name."""

import os
import threading

import pytest
import yaml

from xenbook.core.errors import ParameterError
from xenbook.edits.yamlfile import RoundTripError, set_section
from xenbook.engine import registry
from xenbook.engine.params import RunbookParams, build, load_file
from xenbook.engine.params_file import save_section

BOOT = {"dom0_mem": "3072M", "com1": None, "loglvl": "on", "xen_options": ["iommu=verbose"]}

# (file, values set under boot, the file after)
KEPT = [
    ("boot:\n  dom0_mem: 2048M  # small\n  # inside\n  loglvl: info\n", {"dom0_mem": "3072M"},
     "boot:\n  dom0_mem: 3072M  # small\n  # inside\n  loglvl: info\n"),
    ("# top\ntarget: sample   # the host\n", {"dom0_mem": "3072M"},
     "# top\ntarget: sample   # the host\nboot:\n  dom0_mem: 3072M\n"),
    ("boot:\n  dom0_mem: 2G\n# before dom0\ndom0:\n  xendomains: true\n", {"console": "vga,com1"},
     "boot:\n  dom0_mem: 2G\n  console: vga,com1\n# before dom0\ndom0:\n  xendomains: true\n"),
    ("target: sample\n\n# the end\n", {"dom0_mem": "4G"}, "target: sample\nboot:\n  dom0_mem: 4G\n\n# the end\n"),
    ("boot:\n  jobs: null\n  a: ~\n  b:\n", {"dom0_mem": "4G"}, "boot:\n  jobs: null\n  a: ~\n  b:\n  dom0_mem: 4G\n"),
    ("boot: {dom0_mem: 2G}  # flow\n", {"dom0_mem": "4G"}, "boot: {dom0_mem: 4G}  # flow\n"),
    ("boot:\n", {"com1": None}, "boot:\n  com1: null\n"),
    ("# only a comment\n", {"loglvl": "on"}, '# only a comment\nboot:\n  loglvl: "on"\n'),
    ("", {"kernel": "2048"}, 'boot:\n  kernel: "2048"\n'),
    ("boot:\n    dom0_mem: 2G\nguests:\n- name: a\n", {"xen_options": ["x=1"]},
     "boot:\n    dom0_mem: 2G\n    xen_options:\n    - x=1\nguests:\n- name: a\n"),
]


@pytest.mark.parametrize("text, values, expected", KEPT)
def test_set_section_keeps_every_comment_and_line_it_does_not_set(text, values, expected):
    out = set_section(text, "boot", values)
    assert out == expected
    assert yaml.safe_load(out)["boot"] | values == yaml.safe_load(out)["boot"]  # PyYAML reads what was meant


# text a value may hold that plain YAML would read otherwise, or not read at all
AWKWARD = ["yes", "no", "on", "Y", "0755", "1e3", "0x10", "1_000", ".inf", "null", "~", "NULL", "2026-01-01", "12:30",
           "a # b", "a: b", "[", "{", "*a", "&a", "!!python/object:os.system", "%x", "@x", "`x", "\tx", "a\tb",
           " x", "x ", "-", "- x", "?", "|", ">", '"', "'", ":", "#", "=", "<<", "---", "...", "a\nb", "a\r\nb",
           "\x00", "\x1b[31m", "\u2028", "\ufeffx", "é", "\U0001F600", ""]


@pytest.mark.parametrize("value", AWKWARD)
def test_any_text_is_written_so_that_it_reads_back_as_itself(value):
    out = set_section("# c\nboot:\n  dom0_mem: 1G  # m\n", "boot", {"k": value, "l": [value]})
    assert yaml.safe_load(out)["boot"] == {"dom0_mem": "1G", "k": value, "l": [value]}
    assert out.startswith("# c\nboot:\n  dom0_mem: 1G  # m\n")


GUESTS = "guests:\n  - name: Dom01  # mine\n    memory: 512\n# end\n"


@pytest.mark.parametrize("values, expected", [
    ({"name": "dom01", "memory": 1024}, "guests:\n  - name: dom01  # mine\n    memory: 1024\n# end\n"),
    ({"name": "web", "memory": 2048},
     "guests:\n  - name: Dom01  # mine\n    memory: 512\n  - name: web\n    memory: 2048\n# end\n"),
])
def test_a_guest_is_found_by_name_or_appended(values, expected):
    assert set_section(GUESTS, "guests", values, "name") == expected


@pytest.mark.parametrize("text, rule", [
    ("boot:\n  dom0_mem:   2G\n", "cannot be rewritten without changing lines it does not set"),
    ("---\nboot:\n  dom0_mem: 2G\n", "cannot be rewritten"),
    ("boot:\r\n  dom0_mem: 2G\r\n", "cannot be rewritten"),
    ("boot: !!map\n  dom0_mem: 2G\n", "cannot be rewritten"),
    ("boot:\n\tdom0_mem: 2G\n", "is not YAML"),
    ("- 1\n", "must hold a mapping"),
    ("boot: 3\n", "boot: as something other than a mapping"),
])
def test_what_cannot_be_edited_round_trip_is_refused(text, rule):
    with pytest.raises(RoundTripError, match=rule):
        set_section(text, "boot", BOOT)


def _applied(path, section="boot", **values):
    data = load_file(str(path))
    field = registry.section(section).params_field
    if registry.section(section).many:
        data[field] = [values]
    else:
        data[field] = {**data.get(field, {}), **values}
    return build(RunbookParams, data)


def test_save_sets_only_what_differs_keeps_the_mode_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "xen1.yaml"
    path.write_text("target: sample  # mine\nboot:\n  dom0_mem: 2048M\n  loglvl: info  # chatty\n")
    path.chmod(0o640)
    saved = save_section(str(path), registry.section("boot"), _applied(path, dom0_mem="3072M", loglvl="info",
                                                                        dom0_max_vcpus=2))
    assert saved == {"dom0_mem": "3072M"}  # loglvl as the file has it, dom0_max_vcpus its default
    assert path.read_text() == "target: sample  # mine\nboot:\n  dom0_mem: 3072M\n  loglvl: info  # chatty\n"
    assert oct(path.stat().st_mode & 0o777) == "0o640" and os.listdir(tmp_path) == ["xen1.yaml"]
    assert save_section(str(path), registry.section("boot"), _applied(path, dom0_mem="3072M")) == {}


def test_save_writes_through_a_link_to_the_file_it_names(tmp_path):
    real = tmp_path / "real.yaml"
    real.write_text("boot:\n  dom0_mem: 2G\n")
    (tmp_path / "xen1.yaml").symlink_to(real)
    save_section(str(tmp_path / "xen1.yaml"), registry.section("boot"), _applied(real, dom0_mem="4G"))
    assert (tmp_path / "xen1.yaml").is_symlink() and real.read_text() == "boot:\n  dom0_mem: 4G\n"


@pytest.mark.parametrize("section, values, saved", [
    ("manage", {"action": "destroy", "domain": "dom01", "confirm": "dom01", "samples": 8}, {"samples": 8}),
    ("domu", {"name": "dom01", "memory": 2048, "storage": "image", "force": True, "confirm": "/var/lib/xen/images/dom01.img"},
     {"memory": 2048, "storage": "image"}),
])
def test_one_time_values_are_never_saved(tmp_path, section, values, saved):
    path = tmp_path / "xen1.yaml"
    path.write_text("guests:\n  - name: dom01\n" if section == "domu" else "target: sample\n")
    assert save_section(str(path), registry.section(section), _applied(path, section, **values)) == saved
    text = path.read_text()
    assert "force" not in text and "confirm" not in text and "destroy" not in text


def test_a_file_that_cannot_be_edited_is_refused_naming_it_and_stays_as_it_was(tmp_path):
    path = tmp_path / "xen1.yaml"
    path.write_text("boot:\n  dom0_mem:   2048M  # aligned by hand\n")
    with pytest.raises(ParameterError) as info:
        save_section(str(path), registry.section("boot"), _applied(path, dom0_mem="4G"))
    (name, value, rule), = info.value.problems
    assert (name, value) == ("params_file", str(path)) and rule.startswith("was not changed: it cannot be rewritten")
    assert path.read_text() == "boot:\n  dom0_mem:   2048M  # aligned by hand\n"


def test_a_value_an_anchor_shares_with_another_guest_is_refused(tmp_path):
    path = tmp_path / "xen1.yaml"
    text = "guests:\n  - &base\n    name: web\n    memory: 512\n  - <<: *base\n    name: db\n"
    path.write_text(text)
    with pytest.raises(ParameterError, match="would not read back as it was with only these values set"):
        save_section(str(path), registry.section("domu"), _applied(path, "domu", name="web", memory=1024))
    assert path.read_text() == text


@pytest.mark.parametrize("kind, rule", [("fifo", "is no regular file"), ("device", "is no regular file"),
                                        ("folder", "cannot be read: Is a directory")])
def test_a_params_file_that_is_no_regular_file_is_refused_before_it_is_read(tmp_path, kind, rule):
    """A FIFO is refused at once (reading it would wait for a writer forever), as are a device and a folder."""
    path = {"fifo": tmp_path / "host.yaml", "device": "/dev/null", "folder": tmp_path}[kind]
    if kind == "fifo":
        os.mkfifo(path)
    outcome = []

    def read():
        try:
            load_file(str(path))
        except ParameterError as e:
            outcome.append(str(e))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=20)
    if reader.is_alive() and kind == "fifo":  # let the stuck reader go before failing
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
    assert outcome and f"params = '{path}': {rule}" in outcome[0]


@pytest.mark.parametrize("mode", [0o444, 0o400, 0o000])
def test_a_read_only_params_file_is_never_rewritten(tmp_path, mode):
    path = tmp_path / "xen1.yaml"
    path.write_text("boot:\n  dom0_mem: 2G\n")
    applied = _applied(path, dom0_mem="4G")
    path.chmod(mode)
    with pytest.raises(ParameterError, match=f"parameter params_file = .*: was not changed: it is read-only \\(mode "
                                             f"{mode:04o}\\)"):
        save_section(str(path), registry.section("boot"), applied)
    path.chmod(0o600)
    assert path.read_text() == "boot:\n  dom0_mem: 2G\n" and os.listdir(tmp_path) == ["xen1.yaml"]


def test_a_yaml_error_says_what_and_where_without_quoting_the_file(tmp_path):
    path = tmp_path / "xen1.yaml"
    path.write_text("boot:\n  dom0_mem: 2G\t# tab\n")
    with pytest.raises(ParameterError) as info:
        load_file(str(path))
    assert "found character '\\t' that cannot start any token (line 2, column 15)" in str(info.value)
