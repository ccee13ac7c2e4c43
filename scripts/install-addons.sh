#!/usr/bin/env bash
# Install the operators the manifests need: Kubeflow Training Operator (TFJob, chapter 3) and,
# unless INSTALL_KSERVE=0, cert-manager + KServe in Standard mode (InferenceService, chapter 4).
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
need kubectl
log "installing Kubeflow Training Operator $TRAINING_OPERATOR_REF"
kubectl apply --server-side --force-conflicts \
  -k "github.com/kubeflow/training-operator.git/manifests/overlays/standalone?ref=$TRAINING_OPERATOR_REF"
kubectl -n kubeflow rollout status deployment/training-operator --timeout=300s
kubectl wait --for=condition=Established crd/tfjobs.kubeflow.org --timeout=120s

if [ "$INSTALL_KSERVE" = "1" ]; then
  need helm
  log "installing cert-manager $CERT_MANAGER_VERSION"
  kubectl apply -f "https://github.com/cert-manager/cert-manager/releases/download/$CERT_MANAGER_VERSION/cert-manager.yaml"
  kubectl -n cert-manager rollout status deployment/cert-manager-webhook --timeout=300s
  log "installing KServe $KSERVE_VERSION (Standard mode)"
  helm upgrade --install kserve-crd oci://ghcr.io/kserve/charts/kserve-crd \
    --version "$KSERVE_VERSION" --namespace kserve --create-namespace --wait --timeout 5m
  helm upgrade --install kserve oci://ghcr.io/kserve/charts/kserve \
    --version "$KSERVE_VERSION" --namespace kserve \
    --set kserve.controller.deploymentMode=Standard --wait --timeout 10m
  kubectl wait --for=condition=Established crd/inferenceservices.serving.kserve.io --timeout=120s
fi
log "addons ready"
