"""Parameters: good values build, bad ones fail naming the parameter, the value and the rule."""

import pytest

from xenbook.connectors.targets import parse_target
from xenbook.core.errors import ParameterError
from xenbook.core.model import size_mib
from xenbook.engine.params import RunbookParams, build
from xenbook.sections.boot.cmdline import xen_command_line
from xenbook.sections.boot.params import BootParams

BAD_BOOT = [
    ("dom0_mem", "lots", "whole number with a unit"),
    ("dom0_mem", "-1", "whole number with a unit"),
    ("dom0_mem", "1e99", "whole number with a unit"),
    ("dom0_mem", "2048", "whole number with a unit"),
    ("dom0_mem", "128M", "at least 256M"),
    ("dom0_mem", "", "whole number with a unit"),
    ("dom0_mem", "2048M;reboot", "whole number with a unit"),
    ("dom0_max_vcpus", 0, "must be at least 1"),
    ("dom0_max_vcpus", 99999, "must be at most 1024"),
    ("dom0_max_vcpus", "two", "must be a whole number"),
    ("console", "serial", "unknown console 'serial'"),
    ("console", "vga,vga", "twice"),
    ("console", "vga com1", "unknown console"),
    ("com1", "fast", "BAUD"),
    ("loglvl", "loud", "must be"),
    ("xen_options", ["a b"], "is not NAME or NAME=VALUE"),
    ("xen_options", ["x=$(reboot)"], "is not NAME or NAME=VALUE"),
    ("xen_options", ["dom0_mem=1G"], "has its own parameter"),
    ("kernel", "linux;rm", "Arch kernel package"),
    ("kernel", "../vmlinuz", "Arch kernel package"),
    ("dom0_kernel_options", "quiet `id`", "not allowed"),
    ("dom0_kernel_options", "root=/dev/sda1", "root= is found"),
    ("nosuch", 1, "is not a known parameter"),
]


@pytest.mark.parametrize("name, value, rule", BAD_BOOT)
def test_bad_boot_values_name_parameter_value_and_rule(name, value, rule):
    with pytest.raises(ParameterError) as info:
        build(RunbookParams, {"boot": {name: value}})
    message = str(info.value)
    assert f"boot.{name}" in message and repr(value) in message and rule in message


def test_com1_needs_console_com1():
    with pytest.raises(ParameterError, match="console does not list com1"):
        build(BootParams, {"com1": "115200,8n1"})


@pytest.mark.parametrize("target", ["nowhere", "ssh:", "ssh:-oProxyCommand=x", "ssh:root@host:99999",
                                    "ssh:Bad User@host", "chroot:", "sample\n", " local", "ssh:host;id"])
def test_bad_targets(target):
    with pytest.raises(ParameterError, match="target"):
        build(RunbookParams, {"target": target})


@pytest.mark.parametrize("text, kind, fields", [
    ("local", "local", {}),
    ("ssh:xen1", "ssh", {"host": "xen1", "port": 22, "user": ""}),
    ("ssh:root@10.0.0.5:2222", "ssh", {"host": "10.0.0.5", "port": 2222, "user": "root"}),
    ("ssh:admin@[::1]:22", "ssh", {"host": "::1", "user": "admin"}),
    ("chroot:/mnt", "chroot", {"path": "/mnt"}),
    ("sample:/tmp/s", "sample", {"path": "/tmp/s"}),
])
def test_targets(text, kind, fields):
    t = parse_target(text)
    assert t.kind == kind
    for k, v in fields.items():
        assert getattr(t, k) == v


@pytest.mark.parametrize("params, microcode, expected", [
    ({}, False, "dom0_mem=2048M,max:2048M dom0_max_vcpus=2 console=vga"),
    ({"dom0_mem": "4g", "dom0_max_vcpus": None, "dom0_vcpus_pin": True, "console": "com1,vga",
      "com1": "115200,8n1", "loglvl": "all", "guest_loglvl": "warning", "xen_options": ["iommu=verbose"]}, True,
     "dom0_mem=4G,max:4G dom0_vcpus_pin console=com1,vga com1=115200,8n1 loglvl=all guest_loglvl=warning "
     "ucode=scan iommu=verbose"),
    ({"xen_options": ["ucode=0"]}, True, "dom0_mem=2048M,max:2048M dom0_max_vcpus=2 console=vga ucode=0"),
])
def test_xen_command_line(params, microcode, expected):
    assert xen_command_line(build(BootParams, params), microcode=microcode) == expected


@pytest.mark.parametrize("text, mib", [("256M", 256), ("4G", 4096), ("1T", 1048576), ("524288K", 512)])
def test_size_mib(text, mib):
    assert size_mib(text) == mib
