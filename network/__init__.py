"""binroute network package."""
