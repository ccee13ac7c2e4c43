"""Chapter 4: model serving patterns (replicated services, sharded services, event-driven)."""
