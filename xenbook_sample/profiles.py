"""Profiles of simulated Arch Linux machines: the hardware, disks and installed packages of each."""

from __future__ import annotations

from dataclasses import dataclass, replace

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
    subvolumes: tuple[tuple[str, str], ...] = ()  # btrfs: (subvolume, mount point), in creation order; mount is "/"


def mounts_of(p: Partition) -> list[tuple[str, str, str]]:
    """(mount point, path inside the filesystem, options) of every mount the running system has of p; a btrfs
    subvolume's options name it, as the kernel lists them (ids count from 256 in creation order)."""
    if not p.subvolumes:
        return [(p.mount, "/", p.options)] if p.mount else []
    return [(target, f"/{name}", f"{p.options},subvolid={256 + i},subvol=/{name}")
            for i, (name, target) in enumerate(p.subvolumes)]


@dataclass(frozen=True)
class Disk:
    name: str  # kernel name: sda, vda, nvme0n1
    size: int  # bytes
    pttype: str | None  # gpt or dos; None for a whole-disk LVM physical volume
    ptuuid: str | None
    model: str
    partitions: tuple[Partition, ...]
    major: int = 8


@dataclass(frozen=True)
class LogicalVolume:
    name: str
    extents: int
    uuid: str  # LVM's own UUID of the volume
    fstype: str | None = None  # what mkfs left on it (None: empty)
    fs_uuid: str | None = None
    label: str | None = None


@dataclass(frozen=True)
class VolumeGroup:
    name: str
    uuid: str
    pvs: tuple[tuple[str, str, int], ...]  # (disk name, PV UUID, extents)
    lvs: tuple[LogicalVolume, ...] = ()
    extent_size: int = 4 * 1024 ** 2


def part_name(disk_name: str, number: int) -> str:
    """The kernel's name of a partition: sda2, nvme0n1p2."""
    return f"{disk_name}{'p' if disk_name[-1].isdigit() else ''}{number}"


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
class Nic:
    """An ethernet NIC and the DHCP lease the network gives it."""

    name: str  # the kernel's predictable name, e.g. enp1s0
    mac: str
    pci: str  # PCI address, e.g. 0000:01:00.0 (the driver follows the CPU vendor, as in devices.py)
    address: str = "192.168.122.50/24"  # what DHCP hands out to this NIC's MAC
    gateway: str = "192.168.122.1"


ENP1S0 = Nic("enp1s0", "3c:ec:ef:6a:41:0e", "0000:01:00.0")


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
    xen_installed: bool  # /boot/xen.gz present (a stand-in only: install Xen with the install section)
    virt: str = "none"  # "none" on bare metal; a hypervisor name for guest profiles
    packages: tuple[tuple[str, str, str, str], ...] = ()  # name, version, arch, description
    kernel_log: tuple[str, ...] = ()  # dmesg lines ("[seconds] message") beyond the usual boot messages
    iommu: bool = True  # the firmware has VT-d / AMD-Vi on: an ACPI DMAR or IVRS table, and Linux uses it
    volume_groups: tuple[VolumeGroup, ...] = ()  # LVM on whole disks (see storage.py)
    nics: tuple[Nic, ...] = (ENP1S0,)  # ethernet NICs; the network manager configures the first by DHCP
    network: str = "systemd-networkd"  # or "NetworkManager" or "netctl": what configures the NIC
    grub_cmdline_linux: str = ""  # GRUB_CMDLINE_LINUX in /etc/default/grub, as the installer left it


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

# A second disk: one LVM physical volume (1 MiB metadata, then 4 MiB extents) of vg0, 400 GiB free, holding an
# unmounted ext4 volume with data that the destructive guard must protect.
SDB_LVM = Disk(name="sdb", size=512 * 1024 ** 3, pttype=None, ptuuid=None, model="SIMULATED HDD 512GB",
               partitions=())
VG0 = VolumeGroup(
    name="vg0", uuid="3yTqkA-Wm2c-Rz8d-Lh4p-Xe7v-Nb5s-Qf9gKo",
    pvs=(("sdb", "Jd4Kp2-Ha7q-Wx3e-Zr8t-Mn5b-Cv1y-Ls6uQo", (512 * 1024 ** 3 - 1024 ** 2) // (4 * 1024 ** 2)),),
    lvs=(LogicalVolume("data", (512 * 1024 ** 3 - 1024 ** 2) // (4 * 1024 ** 2) - 400 * 256,
                       "Pq3Rs7-Tu1v-Wx5y-Za9b-Cd2e-Fg6h-Ij0kLm", "ext4", "7b1e4c2d-9a3f-4e5b-8c6d-0f1a2b3c4d5e",
                       "data"),))

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
    cpu=XEON_E2288G, mem_kib=16337476, disks=(SDA_GPT_BIOS, SDB_LVM), xen_installed=False, packages=PACKAGES,
    volume_groups=(VG0,))

RYZEN_5700G = Cpu(
    count=16, vendor="AuthenticAMD", model_name="AMD Ryzen 7 5700G with Radeon Graphics",
    family=25, model=80, stepping=0, microcode="0xa50000d", mhz=3800.0, cache_kb=512, cpuid_level=16,
    flags=tuple("fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse "
                "sse2 ht syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm constant_tsc rep_good nopl nonstop_tsc "
                "cpuid extd_apicid aperfmperf rapl pni pclmulqdq monitor ssse3 fma cx16 sse4_1 sse4_2 x2apic "
                "movbe popcnt aes xsave avx f16c rdrand lahf_lm cmp_legacy svm extapic cr8_legacy abm sse4a "
                "misalignsse 3dnowprefetch osvw ibs skinit wdt tce topoext perfctr_core perfctr_nb bpext "
                "perfctr_llc mwaitx cpb cat_l3 cdp_l3 hw_pstate ssbd mba ibrs ibpb stibp vmmcall fsgsbase bmi1 "
                "avx2 smep bmi2 erms invpcid cqm rdt_a rdseed adx smap clflushopt clwb sha_ni xsaveopt xsavec "
                "xgetbv1 xsaves cqm_llc cqm_occup_llc cqm_mbm_total cqm_mbm_local clzero irperf xsaveerptr "
                "rdpru wbnoinvd cppc arat npt lbrv svm_lock nrip_save tsc_scale vmcb_clean flushbyasid "
                "decodeassists pausefilter pfthreshold avic v_vmsave_vmload vgif v_spec_ctrl umip pku ospke "
                "vaes vpclmulqdq rdpid overflow_recov succor smca fsrm".split()),
    vmx_flags=(), bugs=tuple("sysret_ss_attrs spectre_v1 spectre_v2 spec_store_bypass srso ibpb_no_ret".split()),
    address_sizes="48 bits physical, 48 bits virtual")

# With VT-x switched off in the firmware the kernel clears the vmx flag (and prints why in its log).
XEON_VMX_OFF = replace(XEON_E2288G, flags=tuple(f for f in XEON_E2288G.flags if f not in {
    "vmx", "tpr_shadow", "flexpriority", "ept", "vpid", "ept_ad", "vnmi"}), vmx_flags=())

GPT_ESP = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"
_NVME_SECTORS = 512 * 1024 ** 3 // SECTOR
NVME_GPT_ESP = Disk(
    name="nvme0n1", size=512 * 1024 ** 3, pttype="gpt", ptuuid="5c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
    model="SIMULATED NVMe 512GB", major=259, partitions=(
        Partition(1, 2048, 2 * 1024 ** 2, GPT_ESP, "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "vfat", "3A5C-1F2E",
                  mount="/boot", options="rw,relatime,fmask=0022,dmask=0022,codepage=437,iocharset=ascii,"
                                         "shortname=mixed,utf8,errors=remount-ro"),
        Partition(2, 2099200, _NVME_SECTORS - 34 - 2099200 + 1, GPT_LINUX_FS,
                  "6e7f8a9b-0c1d-4e2f-a3b4-c5d6e7f8a9b0", "ext4", "8d2f6b1a-3c4e-4f5a-9b6c-7d8e9f0a1b2c", mount="/"),
    ))
SDA_MBR = Disk(
    name="sda", size=256 * 1024 ** 3, pttype="dos", ptuuid="7a3e51c2", model="SIMULATED HDD 256GB",
    partitions=(
        Partition(1, 2048, 2 * 1024 ** 2, "0x83", "7a3e51c2-01", "ext2", "2c9d1e7a-5b3f-4e8d-a6c2-1f0e9d8c7b6a",
                  mount="/boot"),
        Partition(2, 2099200, _DISK_SECTORS - 2099200, "0x83", "7a3e51c2-02", "ext4",
                  "9e4b2a6c-8d1f-4c3e-b5a7-6f2e1d0c9b8a", mount="/"),
    ))
_NO_GRUB = tuple(p for p in PACKAGES if p[0] not in ("grub", "intel-ucode"))

BIOS_GRUB_LEGACY = replace(
    BIOS_GRUB2, name="bios-grub-legacy", summary="BIOS boot, GRUB legacy (menu.lst) on an MBR disk, ext2 /boot",
    loader="grub-legacy", disks=(SDA_MBR,), volume_groups=(), packages=_NO_GRUB + (
        ("grub-legacy", "0.97-25", "x86_64", "A GNU multiboot boot loader (the old GRUB, from the AUR)"),
        ("intel-ucode", "20251111-1", "any", "Microcode update files for Intel CPUs")))
UEFI_SYSTEMD_BOOT = replace(
    BIOS_GRUB2, name="uefi-systemd-boot", summary="UEFI boot, systemd-boot, the ESP (vfat) mounted at /boot, AMD CPU",
    boot_mode="uefi", loader="systemd-boot", cpu=RYZEN_5700G, mem_kib=32792316, disks=(NVME_GPT_ESP,),
    volume_groups=(),
    packages=_NO_GRUB + (("amd-ucode", "20251111-1", "any", "Microcode update image for AMD CPUs"),))
NO_VIRT = replace(
    BIOS_GRUB2, name="no-virt", summary="like bios-grub2, but VT-x (and VT-d) switched off in the firmware",
    cpu=XEON_VMX_OFF, iommu=False,
    kernel_log=("[    0.093120] x86/cpu: VMX (outside TXT) disabled by BIOS",))

# An Arch HVM guest of Xen (say on XCP-ng) about to become PV: one Xen virtual disk, root on xvda1 with /boot in it,
# booting from a GRUB legacy menu.lst; the hypervisor shows in /sys/hypervisor, without dom0's control_d.
XVDA_MBR = Disk(
    name="xvda", size=32 * 1024 ** 3, pttype="dos", ptuuid="4b1d7e2a", model="SIMULATED Xen virtual disk 32GB",
    major=202, partitions=(Partition(1, 2048, 32 * 1024 ** 3 // SECTOR - 2048, "0x83", "4b1d7e2a-01", "ext4",
                                     "5d3c9a1e-7b2f-4e6a-9c8d-1f0e2d3c4b5a", mount="/"),))
ARCH_GUEST = replace(
    BIOS_GRUB_LEGACY, name="arch-guest", summary="an Arch HVM guest of Xen about to become PV: GRUB legacy's menu.lst, "
                                                 "root on /dev/xvda1", hostname="arch-guest", virt="xen-hvm",
    cpu=replace(XEON_VMX_OFF, count=2, flags=XEON_VMX_OFF.flags + ("hypervisor",)), mem_kib=2029876,
    disks=(XVDA_MBR,), iommu=False, nics=(Nic("enX0", "00:16:3e:5a:2c:11", "0000:00:04.0"),),
    packages=tuple(p for p in BIOS_GRUB_LEGACY.packages if p[0] != "intel-ucode"),
    kernel_log=("[    0.000000] Hypervisor detected: Xen HVM", "[    0.000000] Xen version 4.17."))

# archinstall's default disk layout with btrfs and its default subvolumes, on BIOS: an MBR disk, a 1 GiB FAT32 /boot
# first, then btrfs with @ at /, @home, @log and @pkg; no default subvolume is set, so only rootflags=subvol=@ on the
# kernel command line makes / the @ subvolume. archinstall puts its own options in GRUB_CMDLINE_LINUX (zram swap on).
SDA_MBR_BTRFS = Disk(
    name="sda", size=256 * 1024 ** 3, pttype="dos", ptuuid="c3a81f5e", model="SIMULATED SSD 256GB",
    partitions=(
        Partition(1, 2048, 2 * 1024 ** 2, "0xef", "c3a81f5e-01", "vfat", "4C2E-91A7", mount="/boot",
                  options="rw,relatime,fmask=0022,dmask=0022,codepage=437,iocharset=ascii,shortname=mixed,utf8,"
                          "errors=remount-ro"),
        Partition(2, 2099200, _DISK_SECTORS - 2099200, "0x83", "c3a81f5e-02", "btrfs",
                  "b5d0e7a2-6c1f-4d3b-9e8a-2f7c4b1d0a93", mount="/",
                  options="rw,relatime,ssd,discard=async,space_cache=v2",
                  subvolumes=(("@", "/"), ("@home", "/home"), ("@log", "/var/log"), ("@pkg", "/var/cache/pacman/pkg"))),
    ))
BTRFS_SUBVOL = replace(
    BIOS_GRUB2, name="btrfs-subvol", summary="like bios-grub2, but archinstall's btrfs layout: / on the subvolume @ "
                                            "(no default subvolume), FAT32 /boot, MBR disk",
    disks=(SDA_MBR_BTRFS,), volume_groups=(), grub_cmdline_linux="zswap.enabled=0 rootfstype=btrfs",
    packages=tuple(sorted(PACKAGES + (("btrfs-progs", "6.17-1", "x86_64", "Btrfs filesystem utilities"),))))

NETWORKMANAGER = replace(
    BIOS_GRUB2, name="networkmanager", summary="like bios-grub2, but NetworkManager (not systemd-networkd) configures "
                                               "the NIC, from a keyfile profile", network="NetworkManager",
    packages=tuple(sorted(BIOS_GRUB2.packages + (("networkmanager", "1.54.3-1", "x86_64",
                                     "Network connection manager and user applications"),))))
NETCTL = replace(
    BIOS_GRUB2, name="netctl", summary="like bios-grub2, but netctl's enabled ethernet-dhcp profile configures the NIC",
    network="netctl", packages=tuple(sorted(BIOS_GRUB2.packages + (
        ("netctl", "1.29-3", "any", "Profile based systemd network management"),
        ("dhcpcd", "10.3.0-1", "x86_64", "DHCP/ IPv4LL/ IPv6RA/ DHCPv6 client")))))

PROFILES: dict[str, Profile] = {p.name: p for p in (BIOS_GRUB2, BIOS_GRUB_LEGACY, UEFI_SYSTEMD_BOOT, NO_VIRT,
                                                    ARCH_GUEST, BTRFS_SUBVOL, NETWORKMANAGER, NETCTL)}
DEFAULT_PROFILE = BIOS_GRUB2.name
