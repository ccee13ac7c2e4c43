#!/usr/bin/env bash
# Install the operators the manifests need: Kubeflow Training Operator (TFJob).
source "$(dirname "$0")/lib.sh"
need kubectl
log "installing Kubeflow Training Operator $TRAINING_OPERATOR_REF"
kubectl apply --server-side --force-conflicts \
  -k "github.com/kubeflow/training-operator.git/manifests/overlays/standalone?ref=$TRAINING_OPERATOR_REF"
kubectl -n kubeflow rollout status deployment/training-operator --timeout=300s
kubectl wait --for=condition=Established crd/tfjobs.kubeflow.org --timeout=120s
log "addons ready"
