"""The preflight section's parameters: what the readiness checks expect of the host."""

from __future__ import annotations

from pydantic import Field

from xenbook.core.model import Model

class PreflightParams(Model):
    """What the readiness checks expect of the host."""

    require_ready: bool = Field(False, description="fail the run when a check's verdict is blocking")
    hvm_guests: bool = Field(True, description="HVM or PVH guests are wanted: missing VT-x/AMD-V is blocking")
    min_boot_free_mib: int = Field(64, ge=1, le=1_000_000, description="free space /boot needs for Xen (MiB)")
    min_memory_mib: int = Field(4096, ge=1024, le=1 << 30,
                                description="less memory than this is a warning: dom0 and the guests share it (MiB)")


# The form's layout (xenbook.ui reads it): groups of fields and labels for people.
FORM = {
    "groups": {"What the checks expect": ["require_ready", "hvm_guests", "min_boot_free_mib", "min_memory_mib"]},
    "labels": {"require_ready": "stop unless ready", "hvm_guests": "HVM or PVH guests",
               "min_boot_free_mib": "/boot free (MiB)", "min_memory_mib": "memory (MiB)"},
}
