#!/usr/bin/env bash
# Apply every chapter's manifests (kustomize overlay for kind). Re-running replaces finished jobs.
source "$(dirname "$0")/lib.sh"
need kubectl
overlay="${1:-$ROOT/manifests/overlays/kind}"
kubectl apply -f "$ROOT/manifests/base/namespace.yaml"
# TFJobs are immutable once done: delete old runs so a redeploy starts fresh.
kubectl -n "$NAMESPACE" delete tfjobs --all --ignore-not-found --wait=true --timeout=120s
log "applying $overlay"
kubectl apply -k "$overlay"
