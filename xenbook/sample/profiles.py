"""Profiles of simulated Arch Linux machines: the hardware, disks and installed packages of each."""

from __future__ import annotations

from dataclasses import dataclass

SECTOR = 512
GPT_BIOS_BOOT = "21686148-6449-6e6f-744e-656564454649"
GPT_LINUX_FS = "0fc63daf-8483-4772-8e79-3d69d8477de4"


@dataclass(frozen=True)
class Partition:
    number: int
    start: int  # first sector
    sectors: int
    parttype: str  # GPT type GUID (or MBR type byte as "0x83")
    partuuid: str
    fstype: str | None = None  # None: no filesystem (the BIOS boot partition)
    uuid: str | None = None
    label: str | None = None
    mount: str | None = None  # where the running system has it mounted
    options: str = "rw,relatime"


@dataclass(frozen=True)
class Disk:
    name: str  # kernel name: sda, vda, nvme0n1
    size: int  # bytes
    pttype: str  # gpt or dos
    ptuuid: str
    model: str
    partitions: tuple[Partition, ...]
    major: int = 8


@dataclass(frozen=True)
class Cpu:
    count: int
    vendor: str
    model_name: str
    family: int
    model: int
    stepping: int
    microcode: str
    mhz: float
    cache_kb: int
    cpuid_level: int
    flags: tuple[str, ...]
    vmx_flags: tuple[str, ...]
    bugs: tuple[str, ...]
    address_sizes: str = "39 bits physical, 48 bits virtual"


@dataclass(frozen=True)
class Profile:
    """A simulated machine; later profiles are dataclasses.replace() variations of BIOS_GRUB2."""

    name: str
    summary: str
    boot_mode: str  # "bios" or "uefi" (uefi adds /sys/firmware/efi)
    loader: str  # "grub2", "grub-legacy" or "systemd-boot"
    hostname: str
    kernel_release: str
    kernel_version: str  # what uname -v prints
    kernel_pkgbase: str
    cpu: Cpu
    mem_kib: int
    disks: tuple[Disk, ...]
    xen_installed: bool  # /boot/xen.gz present
    virt: str = "none"  # "none" on bare metal; a hypervisor name for guest profiles
    packages: tuple[tuple[str, str, str, str], ...] = ()  # name, version, arch, description


XEON_E2288G = Cpu(
    count=8, vendor="GenuineIntel", model_name="Intel(R) Xeon(R) E-2288G CPU @ 3.70GHz",
    family=6, model=158, stepping=13, microcode="0xfa", mhz=3700.0, cache_kb=16384, cpuid_level=22,
    flags=tuple("fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts acpi mmx "
                "fxsr sse sse2 ss ht tm pbe syscall nx pdpe1gb rdtscp lm constant_tsc art arch_perfmon pebs bts "
                "rep_good nopl xtopology nonstop_tsc cpuid aperfmperf pni pclmulqdq dtes64 monitor ds_cpl vmx smx "
                "est tm2 ssse3 sdbg fma cx16 xtpr pdcm pcid sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer "
                "aes xsave avx f16c rdrand lahf_lm abm 3dnowprefetch cpuid_fault epb ssbd ibrs ibpb stibp "
                "ibrs_enhanced tpr_shadow flexpriority ept vpid ept_ad fsgsbase tsc_adjust sgx bmi1 avx2 smep "
                "bmi2 erms invpcid mpx rdseed adx smap clflushopt intel_pt xsaveopt xsavec xgetbv1 xsaves dtherm "
                "ida arat pln pts hwp hwp_notify hwp_act_window hwp_epp vnmi md_clear flush_l1d "
                "arch_capabilities".split()),
    vmx_flags=tuple("vnmi preemption_timer invvpid ept_x_only ept_ad ept_1gb flexpriority tsc_offset vtpr mtf "
                    "vapic ept vpid unrestricted_guest ple pml ept_mode_based_exec".split()),
    bugs=tuple("spectre_v1 spectre_v2 spec_store_bypass swapgs itlb_multihit srbds mmio_stale_data retbleed "
               "eibrs_pbrsb gds bhi its".split()),
)

_DISK_SECTORS = 256 * 1024 ** 3 // SECTOR
SDA_GPT_BIOS = Disk(
    name="sda", size=256 * 1024 ** 3, pttype="gpt", ptuuid="d7151cf6-899f-45e5-b700-e4064a880a8d",
    model="SIMULATED SSD 256GB", partitions=(
        Partition(1, 2048, 2048, GPT_BIOS_BOOT, "97fc628d-071e-478b-a6c1-4ebe6876c2c7"),
        Partition(2, 4096, 2 * 1024 ** 2, GPT_LINUX_FS, "fde82298-71c7-4fd4-9255-2f4d7692f58d",
                  "ext4", "0f87edb0-6e3e-4dae-8609-5376e17d0957", mount="/boot"),
        Partition(3, 2101248, _DISK_SECTORS - 34 - 2101248 + 1, GPT_LINUX_FS,
                  "1866f82e-a5d2-44e0-9477-aeacee079a73", "ext4", "56c87129-9ea7-46fb-a724-039e34e14b29",
                  mount="/"),
    ))

PACKAGES = (  # the pacman local database of a fresh install; no xen
    ("base", "3-2", "any", "Minimal package set to define a basic Arch Linux installation"),
    ("grub", "2:2.12-3", "x86_64", "GNU GRand Unified Bootloader (2)"),
    ("intel-ucode", "20251111-1", "any", "Microcode update files for Intel CPUs"),
    ("linux", "6.17.9.arch1-1", "x86_64", "The Linux kernel and modules"),
    ("linux-firmware", "20251111-1", "any", "Firmware files for Linux - Default set"),
    ("mkinitcpio", "39.2-3", "any", "Modular initramfs image creation utility"),
    ("openssh", "10.2p1-2", "x86_64", "SSH protocol implementation for remote login, command execution and "
     "file transfer"),
    ("pacman", "7.1.0-1", "x86_64", "A library-based package manager with dependency support"),
    ("python", "3.13.7-1", "x86_64", "The Python programming language"),
    ("systemd", "258.2-1", "x86_64", "system and service manager"),
)
DEPENDENCIES = {"mkinitcpio", "pacman", "systemd"}  # installed as dependencies, not explicitly

BIOS_GRUB2 = Profile(
    name="bios-grub2", summary="BIOS boot, GRUB 2 on a GPT disk, separate ext4 /boot, Xen-capable Intel CPU",
    boot_mode="bios", loader="grub2", hostname="sample-arch", kernel_release="6.17.9-arch1-1",
    kernel_version="#1 SMP PREEMPT_DYNAMIC Thu, 20 Nov 2025 17:15:02 +0000", kernel_pkgbase="linux",
    cpu=XEON_E2288G, mem_kib=16337476, disks=(SDA_GPT_BIOS,), xen_installed=True, packages=PACKAGES)

# bios-grub-legacy, uefi-systemd-boot, no-virt and arch-guest are meant to be replace()-variations:
# boot_mode/loader, a disk with an ESP, cpu flags without vmx/ept, virt="xen" with a hypervisor flag.
PROFILES: dict[str, Profile] = {p.name: p for p in (BIOS_GRUB2,)}
DEFAULT_PROFILE = BIOS_GRUB2.name
