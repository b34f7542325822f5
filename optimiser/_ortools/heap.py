"""glibc's heap pad for OR-Tools' copies of the time matrix (see the package's "Memory"
note): how much free heap memory a model of ``n`` nodes asks glibc to keep, asked once per
growth, process wide. Needs no ``ortools``.
"""

from __future__ import annotations

import ctypes
import platform
import threading
from typing import Any

M_TOP_PAD = -2  # glibc mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 32 * 2**20  # glibc's own ceiling for its moving threshold (64-bit)
HEAP_PAD_MAX_BYTES = 2**30


class _Heap:
    """The heap pad asked of glibc so far (bytes; 0: none), and its ``mallopt``."""

    lock = threading.Lock()
    pad_bytes = 0
    mallopt: Any = None


def _glibc_mallopt() -> Any:
    """glibc's ``mallopt`` (None elsewhere: musl, macOS, Windows)."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return None


def heap_pad_bytes(n_nodes: int) -> int:
    """Free heap memory to keep for a model of ``n_nodes`` nodes: two copies of its time
    matrix (int64, with each row's vector header), at most ``HEAP_PAD_MAX_BYTES``."""
    return min(2 * n_nodes * (8 * n_nodes + 32), HEAP_PAD_MAX_BYTES)


def _keep_heap(n_nodes: int) -> None:
    """Have glibc keep enough free heap memory for the time matrix copies of a model of
    ``n_nodes`` nodes (see the package's "Memory" note), instead of returning it to the
    system after each copy and faulting it in again. The pad only grows (it is process
    wide); the allocations glibc serves from the heap stay those below its usual 32 MB
    ceiling (``M_TOP_PAD`` stops that threshold from moving by itself)."""
    want = heap_pad_bytes(n_nodes)
    with _Heap.lock:
        if want <= _Heap.pad_bytes:
            return
        if _Heap.mallopt is None:
            _Heap.mallopt = _glibc_mallopt() or False
        if _Heap.mallopt and _Heap.mallopt(M_TOP_PAD, want) == 1:
            _Heap.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
        _Heap.pad_bytes = want
