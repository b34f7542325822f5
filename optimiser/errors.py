"""Errors raised by the optimiser (input errors: HTTP 422 at the API edge)."""


class InvalidProblemError(ValueError):
    """The routing problem is malformed; the message names the offending ref and the fix."""
