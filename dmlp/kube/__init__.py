"""Kubernetes objects: the TFJob builder, the generated manifests and their drift check, the
pinned versions of the kind path, and the offline validator behind ``make validate``."""
