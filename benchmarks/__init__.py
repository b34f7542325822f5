"""binroute benchmarks package."""
