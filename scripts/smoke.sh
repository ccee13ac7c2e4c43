#!/usr/bin/env bash
# Bounded checks that what `make deploy` applied works: every TFJob succeeds (chapter 3), then the
# model services answer a real client (chapter 4), from a pod inside the cluster.
# shellcheck source=scripts/lib.sh
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

for workload in deployment/fashion-mnist statefulset/fashion-mnist-shard deployment/fashion-mnist-router; do
  kubectl -n "$NAMESPACE" rollout status "$workload" --timeout="$timeout"
done
client() {  # a one-off pod running the chapter 4 client against a URL inside the cluster
  kubectl -n "$NAMESPACE" run "smoke-client-$1" --rm -i --restart=Never --quiet \
    --image="$IMAGE" --image-pull-policy=IfNotPresent --command -- \
    python -m chapters.ch04_model_serving.client --url "$2" --dataset synthetic --num-examples 20
}
client replicated http://fashion-mnist
client router http://fashion-mnist-router
if kubectl get crd inferenceservices.serving.kserve.io >/dev/null 2>&1; then
  kubectl -n "$NAMESPACE" wait --for=condition=Ready inferenceservice/fashion-mnist-custom --timeout="$timeout"
  client kserve http://fashion-mnist-custom-predictor
fi
log "model services answer"
