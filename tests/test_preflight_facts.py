"""The preflight facts' parsers, fed the real tools' output formats."""

import pytest

from xenbook.facts import cpu, kernel, system, xen

# `xl info` as printed by Xen 4.13 (a dom0 on Ubuntu, posted to xen-devel) and Xen 4.18 (no hw_caps line any more,
# more virt_caps tokens); host names and builders replaced.
XL_INFO_4_13 = """\
host                   : dom0host
release                : 4.4.0-148-generic
version                : #174~14.04.1-Ubuntu SMP Thu May 9 08:17:37 UTC 2019
machine                : x86_64
nr_cpus                : 16
max_cpu_id             : 15
nr_nodes               : 1
cores_per_socket       : 8
threads_per_core       : 2
cpu_mhz                : 2994.413
hw_caps                : 178bf3ff:f6d8320b:2e500800:244033ff:0000000f:209c01a9:00000000:00000500
virt_caps              : pv hvm hvm_directio pv_directio hap shadow
total_memory           : 32699
free_memory            : 28229
sharing_freed_memory   : 0
sharing_used_memory    : 0
outstanding_claims     : 0
free_cpus              : 0
xen_major              : 4
xen_minor              : 13
xen_extra              : .0
xen_version            : 4.13.0
xen_caps               : xen-3.0-x86_64 xen-3.0-x86_32p hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64
xen_scheduler          : credit2
xen_pagesize           : 4096
platform_params        : virt_start=0xffff800000000000
xen_changeset          : Tue Dec 17 14:19:49 2019 +0000 git:a2e84d8-dirty
xen_commandline        : placeholder dom0_mem=2048M,max:2048M log_lvl=all guest_loglvl=all dom0_max_vcpus=2 dom0_vcpus_pin
cc_compiler            : gcc (Ubuntu 7.5.0-3ubuntu1~14.04.1) 7.5.0
cc_compile_by          : root
cc_compile_domain      :
cc_compile_date        : Wed Apr 14 05:13:56 WEST 2021
build_id               : 428bb9223a72819e497d6b06a396034ab3b5280d
xend_config_format     : 4
"""

XL_INFO_4_18 = """\
host                   : dom0host
release                : 5.15.0-73-generic
version                : #80~20.04.1-Ubuntu SMP Wed May 17 14:58:14 UTC 2023
machine                : x86_64
nr_cpus                : 56
max_cpu_id             : 111
nr_nodes               : 2
cores_per_socket       : 28
threads_per_core       : 1
cpu_mhz                : 2494.141
virt_caps              : pv hvm hap shadow vmtrace gnttab-v1 gnttab-v2
total_memory           : 522954
free_memory            : 507728
sharing_freed_memory   : 0
sharing_used_memory    : 0
outstanding_claims     : 0
free_cpus              : 0
xen_major              : 4
xen_minor              : 18
xen_extra              : .0
xen_version            : 4.18.0
xen_caps               : xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64
xen_scheduler          : credit2
xen_pagesize           : 4096
platform_params        : virt_start=0xffff800000000000
xen_changeset          :
xen_commandline        : placeholder console=vga dom0_mem=10096M dom0_max_vcpus=8 iommu=no-sharept loglvl=all
cc_compiler            : gcc (Ubuntu 10.5.0-1ubuntu1~20.04) 10.5.0
cc_compile_by          : builder
cc_compile_domain      : example.org
cc_compile_date        : Wed Jan 10 07:39:03 PST 2024
build_id               : 3c0e18caf113475da6ee3d76048a0aad7fcd4942
xend_config_format     : 4
"""


@pytest.mark.parametrize("text, version, caps, total, free, cpus, cmdline", [
    (XL_INFO_4_13, "4.13.0", ["pv", "hvm", "hvm_directio", "pv_directio", "hap", "shadow"], 32699, 28229, 16,
     "placeholder dom0_mem=2048M,max:2048M log_lvl=all guest_loglvl=all dom0_max_vcpus=2 dom0_vcpus_pin"),
    (XL_INFO_4_18, "4.18.0", ["pv", "hvm", "hap", "shadow", "vmtrace", "gnttab-v1", "gnttab-v2"], 522954, 507728, 56,
     "placeholder console=vga dom0_mem=10096M dom0_max_vcpus=8 iommu=no-sharept loglvl=all"),
    ("xen_major              : 4\nxen_minor              : 21\nxen_extra              : .2-1arch\n",
     "4.21.2-1arch", [], None, None, None, ""),
])
def test_parse_xl_info(text, version, caps, total, free, cpus, cmdline):
    info = xen.parse_xl_info(text)
    assert (info.xen_version, info.virt_caps, info.total_memory_mib, info.free_memory_mib, info.nr_cpus,
            info.xen_commandline) == (version, caps, total, free, cpus, cmdline)


def test_xl_info_values_keep_their_colons():
    fields = xen.parse_xl_info_fields(XL_INFO_4_13)
    assert fields["hw_caps"].count(":") == 7 and fields["cc_compile_domain"] == ""
    assert fields["xen_changeset"] == "Tue Dec 17 14:19:49 2019 +0000 git:a2e84d8-dirty"


@pytest.mark.parametrize("version, parts", [
    ("4.21.2-1", (4, 21, 2)), ("1:4.14.1-3", (4, 14, 1)), ("4.21.2-1arch", (4, 21, 2)), ("4.15-unstable", (4, 15)),
    ("git", ()),
])
def test_version_tuple(version, parts):
    assert xen.version_tuple(version) == parts


CPUINFO = """\
processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 80
model name\t: AMD Ryzen 7 5700G with Radeon Graphics
flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep svm extapic cr8_legacy npt
bugs\t\t: sysret_ss_attrs spectre_v1 spectre_v2
power management: ts ttp tm hwpstate cpb eff_freq_ro [13] [14]

processor\t: 1
vendor_id\t: AuthenticAMD
model name\t: AMD Ryzen 7 5700G with Radeon Graphics
flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep svm extapic cr8_legacy npt
power management: ts ttp tm hwpstate cpb eff_freq_ro [13] [14]

"""


def test_parse_cpuinfo():
    info = cpu.parse_cpuinfo(CPUINFO)
    assert (info.vendor, info.model_name, info.count, info.virt_flag, info.in_vm) == \
        ("AMD", "AMD Ryzen 7 5700G with Radeon Graphics", 2, "svm", False)
    assert cpu.parse_cpuinfo("").count == 0


@pytest.mark.parametrize("model, capable", [
    ("Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz", True), ("13th Gen Intel(R) Core(TM) i5-1340P", True),
    ("Intel(R) Core(TM) Ultra 7 155H", True), ("Intel(R) Xeon(R) E-2288G CPU @ 3.70GHz", True),
    ("Intel(R) Pentium(R) Gold G6400 CPU @ 4.00GHz", True), ("Intel(R) Celeron(R) N5105 @ 2.00GHz", True),
    ("Intel(R) N100", True), ("AMD Ryzen 7 5700G with Radeon Graphics", True),
    ("AMD EPYC 7763 64-Core Processor", True),
    ("AMD Opteron(tm) Processor 6172", True), ("AMD Athlon(tm) II X2 250 Processor", True),
    ("AMD Phenom(tm) II X4 955 Processor", True),
    ("Intel(R) Pentium(R) 4 CPU 3.00GHz", False), ("Intel(R) Atom(TM) CPU N270 @ 1.60GHz", False), ("", False),
])
def test_probably_capable(model, capable):
    assert cpu.probably_capable(model) is capable


@pytest.mark.parametrize("line", [
    "[    0.093120] x86/cpu: VMX (outside TXT) disabled by BIOS",
    "[  808.026917] kvm_intel: VMX not enabled (by BIOS) in MSR_IA32_FEAT_CTL on CPU 0",
    "[   12.100000] kvm: disabled by bios",
    "[    0.081000] x86/cpu: SVM disabled (by BIOS) in MSR_VM_CR",
    "[   11.204466] kvm_amd: SVM disabled (by BIOS) in MSR_VM_CR on CPU 0",
])
def test_firmware_disabled_lines(line):
    log = ["[    0.000000] Linux version 6.17.9-arch1-1", line, "[    0.412906] DMAR: IOMMU enabled"]
    assert cpu.firmware_disabled_lines(log) == [line.split("] ", 1)[1]]


def test_firmware_remedy_names_the_vendors_switches():
    assert "Intel VT-x" in cpu.firmware_remedy("Intel") and "VT-d" in cpu.firmware_remedy("Intel")
    assert "SVM Mode" in cpu.firmware_remedy("AMD") and "AMD-Vi" in cpu.firmware_remedy("AMD")


def test_parse_meminfo():
    text = ("MemTotal:       16337476 kB\nMemFree:        14050229 kB\nHugePages_Total:       0\n"
            "Hugepagesize:       2048 kB\n")
    assert system.parse_meminfo(text) == {"MemTotal": 16337476, "MemFree": 14050229, "HugePages_Total": 0,
                                          "Hugepagesize": 2048}


@pytest.mark.parametrize("text, expected", [
    ('NAME="Arch Linux"\nPRETTY_NAME="Arch Linux"\nID=arch\nBUILD_ID=rolling\nANSI_COLOR="38;2;23;147;209"\n',
     {"NAME": "Arch Linux", "PRETTY_NAME": "Arch Linux", "ID": "arch", "BUILD_ID": "rolling",
      "ANSI_COLOR": "38;2;23;147;209"}),
    ("# comment\nID='debian'\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n\nbroken line\n",
     {"ID": "debian", "PRETTY_NAME": "Debian GNU/Linux 12 (bookworm)"}),
    ('ID_LIKE="arch"\nVERSION="it\\"s"\n', {"ID_LIKE": "arch", "VERSION": 'it"s'}),
])
def test_parse_os_release(text, expected):
    assert system.parse_os_release(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("      Avail    1B-blocks Type\n84839591936 270553174016 ext4\n", (84839591936, 270553174016, "ext4")),
    ("Avail 1B-blocks Type\n    0         0 proc\n", (0, 0, "proc")),
    ("", None),
    ("Avail 1B-blocks Type\n", None),
])
def test_parse_df(text, expected):
    space = system.parse_df(text)
    assert (space and (space.avail, space.size, space.fstype)) == expected


def test_parse_modules_keeps_names_only():
    text = ("vboxdrv 700416 2 vboxnetflt,vboxnetadp, Live 0x0000000000000000 (OE)\n"
            "kvm_intel 454656 0 - Live 0xffffffffc0b2e000\nkvm 1445888 1 kvm_intel, Live 0xffffffffc0a00000\n\n")
    names = kernel.parse_modules(text)
    assert names == ["vboxdrv", "kvm_intel", "kvm"]
    assert kernel.hypervisor_modules(names) == {"vboxdrv": "VirtualBox", "kvm_intel": "KVM (Intel)", "kvm": "KVM"}


@pytest.mark.parametrize("config, expected", [
    ({"CONFIG_KERNEL_ZSTD": "y", "CONFIG_HAVE_KERNEL_GZIP": "y"}, "zstd"),
    ({"CONFIG_KERNEL_GZIP": "y"}, "gzip"), ({"CONFIG_KERNEL_XZ": "y"}, "xz"), ({}, None), (None, None),
])
def test_kernel_compression(config, expected):
    assert kernel.kernel_compression(config) == expected
