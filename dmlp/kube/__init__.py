"""Kubernetes objects: the TFJob builder (``tfjob``) and compact YAML for Argo resource templates
(``compact``), the generated manifests and their drift check (``generated``), the pinned versions
of the kind path (``versions``), the API clients (``client``), and the offline validator behind
``make validate`` (``validate``, one module per stage)."""
