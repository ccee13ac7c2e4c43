"""Chapter 2: data ingestion patterns (batching, sharding, caching) on Fashion-MNIST."""
