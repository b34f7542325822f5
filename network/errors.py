"""Errors raised by the street network layer."""


class NetworkError(ValueError):
    """The street network cannot be loaded or used (bad file, empty area, bad settings)."""


class SnapError(NetworkError):
    """A point is too far from any drivable street; the message names the point."""


class UnreachableError(NetworkError):
    """Some pairs of points have no route between them; the message names the points."""
