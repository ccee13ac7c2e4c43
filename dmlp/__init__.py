"""The machinery the book's examples run on, one sub-package per sub-system; it never imports
:mod:`chapters` (the book).

* :mod:`dmlp.example`: how every example runs: settings, the command line, the closing report,
  the one error for bad input, TensorFlow's set-up, the bench harness;
* :mod:`dmlp.launch`: one process supervisor, and a local TensorFlow cluster built on it;
* :mod:`dmlp.argo`: the local Argo Workflows runner (Argo's answer, or a refusal before the
  first step) and submitting to a cluster;
* :mod:`dmlp.kube`: Kubernetes objects: the TFJob builder, generated manifests, pinned versions,
  and the offline validator.
"""
