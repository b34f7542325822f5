"""Errors raised by the street network layer."""

from __future__ import annotations


class NetworkError(ValueError):
    """The street network cannot be loaded or used (bad file, empty area, bad settings)."""


class SnapError(NetworkError):
    """A point is too far from any drivable street; the message names the point.

    ``index`` is the point's position among the points given, when known, and ``detail``
    what is wrong with it, so that a caller that knows what the point stands for can name
    it (:meth:`named`).
    """

    def __init__(self, message: str, *, index: int | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.index = index
        self.detail = detail

    @classmethod
    def of_point(cls, index: int, detail: str) -> SnapError:
        """The error of point ``index`` of those given: "point <index> <detail>"."""
        return cls(f"point {index} {detail}", index=index, detail=detail)

    def named(self, name: str) -> SnapError:
        """This error naming the point ``name`` (e.g. "bin b7") instead of its index."""
        if not self.detail:
            return self
        return SnapError(f"{name} {self.detail}", index=self.index, detail=self.detail)


class UnreachableError(NetworkError):
    """Some pairs of points have no route between them; the message names the points."""
