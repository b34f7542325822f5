"""Stored day plans: pickles whose dataclasses are kept by field name, so a plan stored by
one version of binroute is rerouted by the next.

A day plan is stored when its job finishes and loaded again when an alert comes, maybe after
an upgrade of the service in between. Python pickles a slotted dataclass as the tuple of its
field values, in order: a field added since leaves the loaded object without it (an
``AttributeError`` later, in the middle of a reroute). Here each dataclass instance is
stored as its class and a mapping of field names to values instead; loading gives a field
missing from the mapping its default, and drops names the class no longer has. Plans
pickled before this module existed still load (plain pickles).

Large int64 arrays (the travel matrices: seconds and metres, 2 x 8 bytes x n^2, 64 MB of a
65 MB day plan at 2000 bins) are stored in the narrowest integer type that holds their
values (int16 or int32), and read back as the int64 arrays they were: a city's matrices
in seconds and metres fit in int16 or int32, so a stored day plan is a quarter to a half of
its size, and is written and read the faster.
"""

from __future__ import annotations

import dataclasses
import io
import pickle
from typing import Any

import numpy as np

PROTOCOL = pickle.HIGHEST_PROTOCOL
NARROW_MIN_SIZE = 4096  # int64 arrays of fewer elements are stored as they are
NARROWER = (np.int16, np.int32)


class StateError(TypeError):
    """A stored object cannot be rebuilt with the current code (a field without default)."""


def _rebuild(cls: Any, values: dict[str, Any]) -> Any:
    """An instance of dataclass ``cls`` from stored field values (defaults for the new)."""
    obj = cls.__new__(cls)
    for f in dataclasses.fields(cls):
        if f.name in values:
            value = values[f.name]
        elif f.default is not dataclasses.MISSING:
            value = f.default
        elif f.default_factory is not dataclasses.MISSING:
            value = f.default_factory()
        else:
            raise StateError(
                f"a stored {cls.__name__} has no {f.name!r}, which this version needs and "
                "has no default for; plan the day again"
            )
        object.__setattr__(obj, f.name, value)
    return obj


def _widened(narrow: np.ndarray, writeable: bool) -> np.ndarray:
    """The int64 array stored narrower (:func:`_narrowed`), writeable as it was."""
    wide = narrow.astype(np.int64)
    wide.setflags(write=writeable)
    return wide


def _narrowed(arr: np.ndarray) -> Any:
    """``arr`` (int64) stored in the narrowest of ``NARROWER`` that holds its values, or
    NotImplemented (stored as it is) when none does or it is small."""
    if arr.size < NARROW_MIN_SIZE:
        return NotImplemented
    lo, hi = int(arr.min()), int(arr.max())
    for dtype in NARROWER:
        info = np.iinfo(dtype)
        if info.min <= lo and hi <= info.max:
            return _widened, (arr.astype(dtype), bool(arr.flags.writeable))
    return NotImplemented


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            values = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
            return _rebuild, (type(obj), values)
        if type(obj) is np.ndarray and obj.dtype == np.int64:
            return _narrowed(obj)
        return NotImplemented


def dumps(obj: Any) -> bytes:
    """Pickle ``obj``, its dataclasses by field name."""
    buf = io.BytesIO()
    _Pickler(buf, protocol=PROTOCOL).dump(obj)
    return buf.getvalue()


def loads(data: bytes) -> Any:
    """Unpickle what :func:`dumps` (or plain ``pickle``) wrote; raises StateError when a
    stored object lacks a field the current code needs without a default."""
    return pickle.loads(data)
