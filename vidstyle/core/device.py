"""Device, precision, threads and memory, decided once at the edge and followed by everything else."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import torch

from ..config import SettingError
from ..config import RunConfig

DEVICES = ("auto", "cpu", "cuda", "mps")
# Measured peak memory of one optimisation step per pixel of the image: VGG19 forward+backward
# to relu5_1 (about 3.0 KB/px in fp32, 2.7 KB/px in bf16) plus L-BFGS's 50-step history
# (2 x 50 x 3 floats = 1.2 KB/px).
BYTES_PER_PIXEL = {"lbfgs": 4400, "adam": 3300}
FIXED_BYTES = 1 << 30  # torch, OpenCV and the model itself


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then MPS, then CPU; an explicit device must be present."""
    if name not in DEVICES and not (name.startswith("cuda:") and name[5:].isdigit()):
        close = difflib.get_close_matches(name, DEVICES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise SettingError("device", f"unknown device {name!r}{hint}: expected one of {', '.join(DEVICES)} or cuda:N")
    mps = getattr(torch.backends, "mps", None)
    has_mps = bool(mps and mps.is_available())
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise SettingError("device", "expected a CUDA device, got none: use cpu or auto")
        if ":" in name and int(name[5:]) >= torch.cuda.device_count():
            raise SettingError("device", f"expected a CUDA device index below {torch.cuda.device_count()}, got {name!r}")
    if name == "mps" and not has_mps:
        raise SettingError("device", "expected an Apple MPS device, got none: use cpu or auto")
    return torch.device(name)


def cpu_has_bf16() -> bool:
    """Whether the CPU has native bf16 matrix instructions (AVX-512 BF16 or AMX)."""
    try:
        with open("/proc/cpuinfo") as handle:
            flags = handle.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def cuda_has_bf16(device: torch.device) -> bool:
    """Native bf16 tensor cores: compute capability 8.0 (Ampere) or newer.

    ``torch.cuda.is_bf16_supported()`` also says yes where bf16 is only
    emulated (e.g. on a T4 or V100), which runs slower than fp32 there.
    """
    major, _ = torch.cuda.get_device_capability(device)
    return major >= 8


def resolve_precision(name: str, device: torch.device) -> str:
    """``auto`` -> bf16 where it measured faster (CUDA with native bf16, CPUs with native bf16), else fp32.

    See BENCHMARKS.md for the measurements behind this rule.
    """
    if name in ("fp32", "bf16"):
        return name
    if name != "auto":
        raise ValueError(f"expected precision auto, fp32 or bf16, got {name!r}")
    if device.type == "cuda":
        return "bf16" if cuda_has_bf16(device) else "fp32"
    if device.type == "cpu":
        return "bf16" if cpu_has_bf16() else "fp32"
    return "fp32"


def resolve_config(config: RunConfig, device: torch.device) -> RunConfig:
    """The config with everything device-dependent decided (so run hashes are concrete)."""
    return replace(config, precision=resolve_precision(config.precision, device))


def available_cpus() -> int:
    """The cores this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def set_threads(threads: int | None) -> int:
    """Pin torch's intra-op threads (default: the cores this process may use); returns the count.

    Two torch processes that each start a thread per core spin against each
    other; give each its share instead (see BENCHMARKS.md, threads).
    """
    count = available_cpus() if threads is None else threads
    if count < 1:
        raise SettingError("threads", f"expected a value >= 1, got {count}")
    torch.set_num_threads(count)
    return count


@contextmanager
def side_thread() -> Iterator[None]:
    """Run the block, in a thread beside the optimisation's (the prefetch), with torch's CPU ops on one thread.

    A thread that calls torch keeps its own OpenMP team for as long as it lives, and while it lives the
    optimisation's own team runs slower: a shot's first frame at 512 px took 33 s with the prefetch thread alive and
    26 s without it, later frames 2.15 s and 2.0 s (BENCHMARKS.md, whole clip, read by hand). OpenMP's thread
    count is per thread, so the limit (``threadpoolctl``) leaves the optimisation's threads as they are. It is set
    after torch's own first use in this thread: that first use sets the thread's count to the process's
    (``torch.set_num_threads``) and would undo a limit set before it.
    """
    from threadpoolctl import threadpool_limits

    torch.get_num_threads()  # torch's per-thread set-up, before the limit
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


def estimate_bytes(height: int, width: int, optimizer: str = "lbfgs") -> int:
    """Peak memory of optimising a ``height x width`` image (see ``BYTES_PER_PIXEL``)."""
    return FIXED_BYTES + BYTES_PER_PIXEL.get(optimizer, BYTES_PER_PIXEL["lbfgs"]) * height * width


def available_bytes(device: torch.device) -> int | None:
    """Free memory on ``device`` (None where it cannot be read)."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free) + FIXED_BYTES  # torch's own libraries live in host memory
    if device.type == "cpu":
        try:
            with open("/proc/meminfo") as handle:
                for line in handle:
                    if line.startswith("MemAvailable:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            return None
    return None


def check_memory(height: int, width: int, device: torch.device, optimizer: str = "lbfgs",
                 key: str = "max_size") -> None:
    """Refuse a size that cannot fit, before anything is allocated; the error names the size setting ``key``."""
    needed = estimate_bytes(height, width, optimizer)
    free = available_bytes(device)
    if free is not None and needed > free:
        raise SettingError(key, f"a {width}x{height} image needs about {needed / 2**30:.1f} GiB on {device.type}, "
                                f"{free / 2**30:.1f} GiB are available: use a smaller one")
