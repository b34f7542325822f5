"""binroute api package."""
