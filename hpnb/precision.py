"""Numeric precision of training and evaluation, chosen in one place.

``Config.precision`` is ``"auto"``, ``"fp32"`` or ``"bf16"``. ``bf16`` means bfloat16 autocast with
channels-last activations (the loss, the prototypes and the optimiser stay float32); ``fp32`` means
neither. ``auto`` picks bf16 on CUDA, and on a CPU only where the CPU reports native bfloat16
arithmetic (the ``avx512_bf16`` or ``amx_bf16`` flag of Linux's ``/proc/cpuinfo``): there, one
thread trains ResNet-20 at about 1.9 times and the digits CNN at about 1.6 times its float32 rate
(benchmarks/README.md (a)); without it, bfloat16 is emulated and slower, so float32 stays. The
choice depends only on the hardware, never on a timing, so the same machine always makes the same
choice; results record it (``provenance.precision``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

PRECISIONS = ("auto", "fp32", "bf16")
_NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


@dataclass(frozen=True)
class Precision:
    """What a run does: bf16 autocast or not, channels-last or not, and why."""

    bf16: bool
    reason: str

    @property
    def channels_last(self) -> bool:
        return self.bf16

    @property
    def name(self) -> str:
        return "bf16" if self.bf16 else "fp32"

    def autocast(self, device: torch.device) -> torch.autocast:
        """The autocast context of one forward pass on ``device``."""
        return torch.autocast(device.type, dtype=torch.bfloat16, enabled=self.bf16)

    def record(self) -> dict[str, str]:
        return {"precision": self.name, "channels_last": str(self.channels_last).lower(), "reason": self.reason}


def cpu_bf16_flags(cpuinfo: str | Path = "/proc/cpuinfo") -> list[str]:
    """The native-bfloat16 flags the CPU reports (empty where there are none or no /proc/cpuinfo)."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return []
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return [f for f in _NATIVE_BF16_FLAGS if f in flags]


def choose(precision: str, device: torch.device, cpuinfo: str | Path = "/proc/cpuinfo") -> Precision:
    """Resolve ``precision`` (one of :data:`PRECISIONS`) for ``device``."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision != "auto":
        return Precision(precision == "bf16", f"asked for ({precision})")
    if device.type == "cuda":
        return Precision(True, "auto: CUDA")
    if device.type != "cpu":
        return Precision(False, f"auto: {device.type} is neither CUDA nor a CPU")
    flags = cpu_bf16_flags(cpuinfo)
    if flags:
        return Precision(True, f"auto: the CPU reports {' and '.join(flags)}")
    return Precision(False, "auto: the CPU reports no native bfloat16 (avx512_bf16, amx_bf16)")


def describe(device: str | torch.device, precision: str = "auto") -> str:
    """One line for a chapter's hardware print: the precision ``precision`` resolves to, and why."""
    chosen = choose(precision, torch.device(device))
    return f"{chosen.name} ({chosen.reason})"
