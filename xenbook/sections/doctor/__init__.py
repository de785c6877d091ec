"""The doctor: read-only, on a host in any state; gathers evidence and names known problems' causes and fixes."""

from xenbook.core.section import Section
from xenbook.sections.doctor.params import DoctorParams
from xenbook.sections.doctor.report import doctor_parts
from xenbook.sections.doctor.steps import doctor_steps

SECTION = Section("doctor", 70, "Doctor: what went wrong, why, and how to fix it", "70-doctor.ipynb",
                  doctor_steps, "doctor", DoctorParams, params_help="what the doctor reads",
                  report=doctor_parts, read_only=True)
