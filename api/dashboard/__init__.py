"""The dispatcher dashboard: static page (no build step) + a street base-map endpoint."""

from api.dashboard.router import router

__all__ = ["router"]
