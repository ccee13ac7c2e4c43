"""Chapter 6: operation patterns (scheduling, metadata)."""
