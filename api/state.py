"""Stored day plans: pickles whose dataclasses are kept by field name, so a plan stored by
one version of binroute is rerouted by the next.

A day plan is stored when its job finishes and loaded again when an alert comes, maybe after
an upgrade of the service in between. Python pickles a slotted dataclass as the tuple of its
field values, in order: a field added since leaves the loaded object without it (an
``AttributeError`` later, in the middle of a reroute). Here each dataclass instance is
stored as its class and a mapping of field names to values instead; loading gives a field
missing from the mapping its default, and drops names the class no longer has. Plans
pickled before this module existed still load (plain pickles).
"""

from __future__ import annotations

import dataclasses
import io
import pickle
from typing import Any

PROTOCOL = pickle.HIGHEST_PROTOCOL


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


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            values = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
            return _rebuild, (type(obj), values)
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
