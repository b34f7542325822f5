"""binroute optimiser package."""
