#!/usr/bin/env bash
# Wait (bounded) for every TFJob to succeed and show the summary lines of their logs.
source "$(dirname "$0")/lib.sh"
need kubectl
timeout="${SMOKE_TIMEOUT:-900s}"
for job in $(kubectl -n "$NAMESPACE" get tfjobs -o name); do
  log "waiting for $job (up to $timeout)"
  if ! kubectl -n "$NAMESPACE" wait --for=condition=Succeeded "$job" --timeout="$timeout"; then
    kubectl -n "$NAMESPACE" describe "$job" | tail -30
    kubectl -n "$NAMESPACE" logs -l "training.kubeflow.org/job-name=${job#*/}" --tail=30 --prefix || true
    exit 1
  fi
  kubectl -n "$NAMESPACE" logs -l "training.kubeflow.org/job-name=${job#*/}" --tail=200 --prefix \
    | grep -E "EPOCH_END|SERVING" | tail -6 || true
done
log "all TFJobs succeeded"
