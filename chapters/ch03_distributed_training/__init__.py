"""Chapter 3: distributed training (parameter server, collective communication, fault tolerance)."""
