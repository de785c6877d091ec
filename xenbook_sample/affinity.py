"""The sample host's SIMULATED CPU affinity: xl's CPU lists and xl.conf's global masks (vm.cpumask, vm.pv.cpumask,
vm.hvm.cpumask), which xl ANDs into the hard affinity of every guest it creates and every vCPU it pins, failing when
nothing is left, unless --ignore-global-affinity-masks (xl.conf(5); tools/xl/xl_vcpu.c, xl_parse.c).

Like libxl's, the maps have whole bytes of bits (libxl_bitmap_alloc), so "all" also names CPUs past the last one: a
mask that leaves only those is not empty to xl, and Xen refuses the affinity instead (vcpu_set_hard_affinity: no
online CPU, -EINVAL)."""

from __future__ import annotations

from xenbook_sample.xlconfig import parse_xl_cfg

XL_CONF = "/etc/xen/xl.conf"
EMPTY = "vcpu hard affinity map is empty\n"  # xl_vcpu.c apply_global_affinity_masks, then exit(EXIT_FAILURE)


def bits(cpus: int) -> int:
    """The bits of a CPU map on a host with cpus CPUs (max_cpu_id + 1, rounded up to whole bytes)."""
    return (cpus + 7) // 8 * 8


def parse_cpus(text: str, cpus: int) -> set[int]:
    """The map bits a list such as "all,^0-1" or "2-3,6" sets (xl_parse.c parse_cpurange, without NUMA nodes);
    ValueError with xl's message for a part it refuses."""
    size, out = bits(cpus), set()
    for part in text.split(","):
        if not part:
            continue
        negate = part.startswith("^")
        word = part[1:] if negate else part
        if word == "all":
            if negate:
                raise ValueError('Can\'t combine "^" and "all".\n')
            out |= set(range(size))
            continue
        first, dash, last = word.partition("-")
        if not first.isdigit() or (dash and not last.isdigit()) or (dash and int(last) < int(first)):
            raise ValueError(f"Invalid pcpu range: {word}.\n")
        span = set(range(int(first), min(int(last if dash else first) + 1, size)))
        out = out - span if negate else out | span
    return out


def global_masks(host, kind: str, cpus: int) -> set[int]:
    """The CPUs xl.conf lets a domain of kind (pv, pvh, hvm) run on: vm.cpumask AND the mask of its type."""
    try:
        conf = parse_xl_cfg(host.read_text(XL_CONF) or "", XL_CONF)
    except ValueError:
        conf = {}
    allowed = set(range(bits(cpus)))
    for key in ("vm.cpumask", "vm.pv.cpumask" if kind == "pv" else "vm.hvm.cpumask"):
        if key in conf:
            allowed &= parse_cpus(str(conf[key]), cpus)
    return allowed


def hard_affinity(host, kind: str, wanted: str, cpus: int, ignore_masks: bool) -> set[int]:
    """The hard affinity xl asks Xen for wanted ("all" or a CPU list) on a domain of kind; ValueError with xl's
    message when the list is invalid or the global masks leave it empty. Xen refuses it when it holds no CPU below
    cpus (see online)."""
    hard = parse_cpus(wanted, cpus)
    if not ignore_masks:
        hard &= global_masks(host, kind, cpus)
        if not hard:
            raise ValueError(EMPTY)
    return hard


def online(hard: set[int], cpus: int) -> bool:
    """True when Xen takes hard as a vCPU's hard affinity: it names at least one of the host's CPUs."""
    return any(c < cpus for c in hard)
