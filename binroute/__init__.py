"""binroute binroute package."""
