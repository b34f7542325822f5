"""Alembic migration environment of the binroute service (run by ``api.migrate``)."""
