#!/usr/bin/env bash
# Chapter 6: install Volcano (batch scheduler: gang scheduling, queues, preemption) on the
# current kubectl context, switch on the preempt and reclaim actions, and restart the Kubeflow
# Training Operator with --gang-scheduler-name=volcano. Then `kubectl apply -k manifests/ch06`.
#
#   VOLCANO_VERSION   Volcano release tag (default v1.15.1); its installer/volcano-development.yaml
#   TRAINER_REF       kubeflow/trainer tag for the Training Operator (default v1.9.4)
#   WAIT              time limit for each wait (default 300s)
#   SKIP_OPERATOR=1   leave the Training Operator alone
set -euo pipefail

VOLCANO_VERSION="${VOLCANO_VERSION:-v1.15.1}"
TRAINER_REF="${TRAINER_REF:-v1.9.4}"
WAIT="${WAIT:-300s}"
SKIP_OPERATOR="${SKIP_OPERATOR:-0}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VOLCANO_URL="https://raw.githubusercontent.com/volcano-sh/volcano/${VOLCANO_VERSION}/installer/volcano-development.yaml"

log() { printf '[install-volcano] %s\n' "$*"; }
command -v kubectl >/dev/null 2>&1 || { echo "error: 'kubectl' is not installed" >&2; exit 2; }
kubectl version --request-timeout=10s >/dev/null || { echo "error: no cluster answers (kubectl context: $(kubectl config current-context 2>/dev/null || echo none))" >&2; exit 2; }

log "installing Volcano ${VOLCANO_VERSION} from ${VOLCANO_URL}"
# Server-side apply: the CRDs are too large for the last-applied annotation of client-side apply.
kubectl apply --server-side --force-conflicts -f "$VOLCANO_URL"
for crd in queues.scheduling.volcano.sh podgroups.scheduling.volcano.sh; do
  kubectl wait --for=condition=Established "crd/$crd" --timeout="$WAIT"
done
kubectl -n volcano-system wait --for=condition=complete job/volcano-admission-init --timeout="$WAIT" || true
for deployment in volcano-admission volcano-controllers volcano-scheduler; do
  kubectl -n volcano-system rollout status "deployment/$deployment" --timeout="$WAIT"
done

log "scheduler actions: enqueue, allocate, preempt, reclaim, backfill"
kubectl apply -k "$ROOT/manifests/ch06/volcano"
kubectl -n volcano-system rollout restart deployment/volcano-scheduler
kubectl -n volcano-system rollout status deployment/volcano-scheduler --timeout="$WAIT"

if [ "$SKIP_OPERATOR" != "1" ]; then
  # A kustomize overlay on the operator's standalone install (kubeflow/trainer at TRAINER_REF,
  # manifests/overlays/standalone): upstream's Deployment "training-operator" (namespace
  # kubeflow) runs /manager in container 0 with no args; the patch gives it the flag that turns
  # a TFJob's runPolicy.schedulingPolicy into a Volcano PodGroup. Written to a temporary folder,
  # so the repository holds no copy of upstream and `make validate` stays offline.
  overlay="$(mktemp -d)"
  trap 'rm -rf "$overlay"' EXIT
  cat >"$overlay/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - https://github.com/kubeflow/trainer//manifests/overlays/standalone?ref=${TRAINER_REF}
patches:
  - target: {group: apps, version: v1, kind: Deployment, name: training-operator, namespace: kubeflow}
    patch: |-
      - op: add
        path: /spec/template/spec/containers/0/args
        value: ["--gang-scheduler-name=volcano"]
YAML
  log "Training Operator ${TRAINER_REF} with --gang-scheduler-name=volcano"
  kubectl apply --server-side --force-conflicts -k "$overlay"
  kubectl -n kubeflow rollout status deployment/training-operator --timeout="$WAIT"
  kubectl wait --for=condition=Established crd/tfjobs.kubeflow.org --timeout="$WAIT"
  kubectl -n kubeflow get deployment training-operator \
    -o jsonpath='{.spec.template.spec.containers[0].args}' | grep -q -- '--gang-scheduler-name=volcano' \
    || { echo "error: the training-operator Deployment did not get --gang-scheduler-name=volcano" >&2; exit 1; }
fi
log "Volcano ready: kubectl apply -k manifests/ch06"
