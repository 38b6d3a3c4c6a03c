"""CPU code paths pinned to AVX2, so that a seeded run's floats repeat on the machine that ran it.

torch's own kernels (``ATEN_CPU_CAPABILITY``), MKL (``MKL_CBWR``, its conditional numerical reproducibility) and
oneDNN (``ONEDNN_MAX_CPU_ISA``) each pick the widest instruction set the CPU has, and AVX-512 and AVX2 round
differently, so a build on the default path of an AVX-512 machine differs from one on the pinned path. Measured
(docs/results/decisions.md, "CPU code path"): pinned, a rebuild on the machine that made the shipped base gave
bit-identical weights and the pin cost no build time there; an Intel Xeon pinned the same way gives other weights,
so the pin does not make CPU vendors agree.

The variables must be set before torch starts, so :func:`pin` runs first in ``lmmcl``'s command line; a variable
the user has set is left alone.
"""

from __future__ import annotations

import os
import platform

PINNED = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"}


def pin() -> None:
    """Set :data:`PINNED` in the environment where unset (before torch is imported)."""
    for name, value in PINNED.items():
        os.environ.setdefault(name, value)


def describe() -> dict[str, str]:
    """The CPU and the code path this process's torch uses: recorded next to a shipped base."""
    import torch

    model = next((line.split(":", 1)[1].strip() for line in _cpuinfo() if line.startswith("model name")),
                 platform.processor() or "unknown")
    return {"cpu": model, "torch_capability": torch.backends.cpu.get_cpu_capability(),
            **{name: os.environ.get(name, "") for name in PINNED}}


def _cpuinfo() -> list[str]:
    try:
        with open("/proc/cpuinfo") as f:
            return f.read().splitlines()
    except OSError:
        return []
