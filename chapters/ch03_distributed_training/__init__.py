"""Chapter 3: distributed training patterns (parameter server, collective communication, fault tolerance)."""
