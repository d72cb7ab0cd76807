"""Performance benchmarks; ``python -m benchmarks`` (``just bench``) runs them all."""
