"""Memory readings of training: the peak of a device since a reset (CUDA's allocator, or this process's
resident memory on CPU), the machine's total, and giving freed memory back to the OS between tries."""

from __future__ import annotations

import os
from pathlib import Path


def release_free_memory() -> None:
    """Hand memory that Python/torch freed back to the OS (glibc keeps it otherwise), so that a
    later peak-RSS reading measures the next piece of work and not the heap left by the last."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS counter (VmHWM) of this process; False where unsupported.

    Writing "5" to /proc/self/clear_refs resets VmHWM (Linux >= 4.0), which lets one process
    measure the peak of several tries honestly instead of reporting the first try's peak forever.
    """
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss_bytes() -> int:
    """Peak resident memory of this process since start or the last `reset_peak_rss`."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def reset_peak_memory(device) -> None:
    """Start a new peak-memory reading on `device`: CUDA's allocator peak, or this process's peak RSS."""
    if device.type == "cuda":
        import torch

        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    else:
        reset_peak_rss()


def peak_memory_bytes(device, reserved: bool = False) -> int:
    """Peak memory on `device` since `reset_peak_memory`: CUDA's allocated (or, with `reserved`, the
    allocator's reserved) peak, or this process's peak RSS on CPU."""
    if device.type == "cuda":
        import torch

        return (torch.cuda.max_memory_reserved if reserved else torch.cuda.max_memory_allocated)(device)
    return peak_rss_bytes()


def total_memory_bytes() -> int:
    """Physical memory of this machine (or the cgroup limit, when lower)."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for p in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            v = Path(p).read_text().strip()
            if v.isdigit():
                total = min(total, int(v))
        except OSError:
            pass
    return total
