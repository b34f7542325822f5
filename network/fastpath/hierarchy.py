"""The customised hierarchy of the ``"ch"`` engine (:class:`Hierarchy`), its cache file and
the digest of the arcs it was prepared for."""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

UNREACHED = np.iinfo(np.int64).max  # weight of a missing arc / result cell with no path


@dataclass(frozen=True, slots=True)
class Hierarchy:
    """A customised CCH. Nodes are renumbered by rank (``rank[node]``).

    Attributes
    ----------
    rank : (N,) int64
        Rank of each street node (0 = contracted first).
    parent : (N,) int64
        Elimination-tree parent of each rank, -1 at roots.
    up_ptr, up_head : int64
        Upward arcs of rank ``x``: ``up_head[up_ptr[x]:up_ptr[x + 1]]`` (ascending ranks).
    up_w, down_w : int64
        Weight of arc ``x -> head`` and ``head -> x``; :data:`UNREACHED` when absent.
    digest : (32,) uint8
        :func:`arcs_digest` of the input arcs (a cached hierarchy is used only when it matches).
    """

    rank: np.ndarray
    parent: np.ndarray
    up_ptr: np.ndarray
    up_head: np.ndarray
    up_w: np.ndarray
    down_w: np.ndarray
    digest: np.ndarray

    def save(self, path: Path) -> None:
        """Write to an uncompressed ``.npz`` (atomic replace; concurrent writers are safe)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}-{threading.get_ident()}.tmp.npz")
        np.savez(tmp, **{f.name: getattr(self, f.name) for f in fields(self)})
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Hierarchy:
        """Read a hierarchy written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as data:
            arrays = {f.name: data[f.name] for f in fields(cls)}
        digest = arrays.pop("digest").astype(np.uint8)
        return cls(**{k: v.astype(np.int64) for k, v in arrays.items()}, digest=digest)


def arcs_digest(tail: np.ndarray, head: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """sha256 (as 32 uint8) of the arcs and weights a hierarchy is prepared for."""
    h = hashlib.sha256()
    for arr in (tail, head, weight):
        h.update(np.ascontiguousarray(arr, dtype=np.int64).tobytes())
    return np.frombuffer(h.digest(), dtype=np.uint8).copy()
