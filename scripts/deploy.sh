#!/usr/bin/env bash
# Apply every chapter's manifests (kustomize overlay for kind). Re-running replaces finished jobs.
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
need kubectl
overlay="${1:-$ROOT/manifests/overlays/kind}"
kubectl apply -f "$ROOT/manifests/base/namespace.yaml"
# TFJobs are immutable once done: delete old runs so a redeploy starts fresh.
kubectl -n "$NAMESPACE" delete tfjobs --all --ignore-not-found --wait=true --timeout=120s
log "applying $overlay"
if kubectl get crd inferenceservices.serving.kserve.io >/dev/null 2>&1; then
  kubectl apply -k "$overlay"
else  # without KServe (INSTALL_KSERVE=0) leave the InferenceServices out
  kubectl kustomize "$overlay" | "${PYTHON:-$ROOT/.venv/bin/python}" -c '
import sys, yaml
docs = [d for d in yaml.safe_load_all(sys.stdin) if d and d.get("kind") != "InferenceService"]
print(yaml.safe_dump_all(docs))' | kubectl apply -f -
fi
