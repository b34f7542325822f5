"""binroute scenarios package."""
