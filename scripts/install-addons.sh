#!/usr/bin/env bash
# Install what the manifests need, each version pinned in versions.env:
#   metrics-server            CPU figures for the HPA and KServe's autoscaler (kind ships none)
#   Kubeflow Training Operator the TFJob CRD and controller (chapter 3)
#   Argo Workflows            the Workflow CRDs and controller (chapter 5), unless INSTALL_ARGO=0
#   Volcano                   gang scheduling, queues, preemption (chapter 6), only with
#                             INSTALL_VOLCANO=1; the Training Operator then runs with
#                             --gang-scheduler-name=volcano, so TFJobs get Volcano PodGroups
# and, unless INSTALL_KSERVE=0 (chapter 4's InferenceServices then stay out):
#   cert-manager              certificates for KServe's webhooks
#   KServe (Standard mode)    kserve-crd, kserve-resources, kserve-runtime-configs (the runtimes)
# Every wait is bounded; CRDs are Established before anything uses them.
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
need kubectl
if [ "$INSTALL_KSERVE" = "1" ]; then need helm; fi
need_cluster

log "installing metrics-server $METRICS_SERVER_VERSION (--kubelet-insecure-tls: kind's kubelets have self-signed certificates)"
kubectl apply -f "$METRICS_SERVER_URL"
args="$(kubectl -n kube-system get deployment metrics-server -o jsonpath='{.spec.template.spec.containers[0].args}')"
if [[ "$args" != *--kubelet-insecure-tls* ]]; then
  kubectl -n kube-system patch deployment metrics-server --type=json \
    -p '[{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--kubelet-insecure-tls"}]'
fi
kubectl -n kube-system rollout status deployment/metrics-server --timeout="$WAIT"
kubectl wait --for=condition=Available apiservice/v1beta1.metrics.k8s.io --timeout="$WAIT"

if [ "$INSTALL_VOLCANO" = "1" ]; then
  # Before the operator: started with the gang-scheduler flag, it needs the PodGroup CRD.
  log "installing Volcano $VOLCANO_VERSION (namespace volcano-system)"
  # Server-side: the CRDs are too large for client-side apply's annotation.
  kubectl apply --server-side --force-conflicts -f "$VOLCANO_URL"
  kubectl wait --for=condition=Established crd/queues.scheduling.volcano.sh \
    crd/podgroups.scheduling.volcano.sh --timeout="$WAIT"
  for deployment in volcano-admission volcano-controllers volcano-scheduler; do
    kubectl -n volcano-system rollout status "deployment/$deployment" --timeout="$WAIT"
  done
  # Chapter 6's scheduler configuration: Volcano's defaults plus the preempt and reclaim actions.
  kubectl apply -k "$ROOT/manifests/ch06/volcano"
  kubectl -n volcano-system rollout restart deployment/volcano-scheduler
  kubectl -n volcano-system rollout status deployment/volcano-scheduler --timeout="$WAIT"
fi

log "installing Kubeflow Training Operator $TRAINING_OPERATOR_VERSION"
kubectl apply --server-side --force-conflicts \
  -k "$TRAINING_OPERATOR_MANIFESTS?ref=$TRAINING_OPERATOR_VERSION"
kubectl wait --for=condition=Established crd/tfjobs.kubeflow.org --timeout="$WAIT"
if [ "$INSTALL_VOLCANO" = "1" ]; then
  # The standalone Deployment runs /manager with no args (kubeflow/trainer v1.9.4,
  # manifests/base/deployment.yaml): give it the flag that turns a TFJob's
  # runPolicy.schedulingPolicy into a Volcano PodGroup.
  args="$(kubectl -n kubeflow get deployment training-operator -o jsonpath='{.spec.template.spec.containers[0].args}')"
  if [[ "$args" != *--gang-scheduler-name=volcano* ]]; then
    kubectl -n kubeflow patch deployment training-operator --type=json \
      -p '[{"op":"add","path":"/spec/template/spec/containers/0/args","value":["--gang-scheduler-name=volcano"]}]'
  fi
fi
kubectl -n kubeflow rollout status deployment/training-operator --timeout="$WAIT"

if [ "$INSTALL_ARGO" = "1" ]; then
  log "installing Argo Workflows $ARGO_WORKFLOWS_VERSION (namespace argo)"
  kubectl create namespace argo --dry-run=client -o yaml | kubectl apply -f -
  # Server-side: the release's CRDs are too large for client-side apply's annotation.
  kubectl apply --server-side --force-conflicts -n argo -f "$ARGO_WORKFLOWS_URL"
  kubectl wait --for=condition=Established crd/workflows.argoproj.io \
    crd/workflowtaskresults.argoproj.io --timeout="$WAIT"
  kubectl -n argo rollout status deployment/workflow-controller --timeout="$WAIT"
  # The UI server is not needed by the chapters: give its CPU back to the workloads.
  kubectl -n argo scale deployment/argo-server --replicas=0
fi

if [ "$INSTALL_KSERVE" = "1" ]; then
  log "installing cert-manager $CERT_MANAGER_VERSION"
  kubectl apply -f "$CERT_MANAGER_URL"
  kubectl wait --for=condition=Established crd/issuers.cert-manager.io crd/certificates.cert-manager.io --timeout="$WAIT"
  for deployment in cert-manager cert-manager-cainjector cert-manager-webhook; do
    kubectl -n cert-manager rollout status "deployment/$deployment" --timeout="$WAIT"
  done
  # Ready pods are not enough: the webhook answers only once the cainjector has put its CA into
  # the webhook configuration. A server-side dry run of an Issuer goes through that webhook (what
  # `cmctl check api` does), so retry it until it passes.
  api_wait="${CERT_MANAGER_API_WAIT:-180}"
  log "waiting until the cert-manager API accepts an Issuer (up to $api_wait s)"
  dry_run_issuer() {
    printf '%s\n' 'apiVersion: cert-manager.io/v1' 'kind: Issuer' \
      'metadata: {name: dmlp-api-check, namespace: cert-manager}' 'spec: {selfSigned: {}}' \
      | kubectl create --dry-run=server -f -
  }
  retry "$api_wait" dry_run_issuer || fail "the cert-manager API did not become ready within $api_wait s"

  log "installing KServe $KSERVE_VERSION (Standard mode, with its ClusterServingRuntimes)"
  helm upgrade --install kserve-crd "$KSERVE_CHARTS/kserve-crd" --version "$KSERVE_VERSION" \
    --namespace kserve --create-namespace --wait --timeout 5m
  kubectl wait --for=condition=Established crd/inferenceservices.serving.kserve.io \
    crd/clusterservingruntimes.serving.kserve.io --timeout="$WAIT"
  # No ingress controller on kind: clients use the predictor Services inside the cluster.
  # Each KServe chart gets two tries, as in KServe's own installer: the second one catches a
  # webhook that was not answering yet.
  attempts 2 kserve-resources \
    helm upgrade --install kserve-resources "$KSERVE_CHARTS/kserve-resources" \
    --version "$KSERVE_VERSION" --namespace kserve --set kserve.version="$KSERVE_VERSION" \
    --set kserve.controller.deploymentMode=Standard \
    --set kserve.controller.gateway.disableIngressCreation=true \
    --wait --timeout 10m || fail "helm could not install kserve-resources (2 tries)"
  kubectl -n kserve rollout status deployment/kserve-controller-manager --timeout="$WAIT"
  # Since v0.17 the runtimes are a chart of their own, installed only with servingruntime.enabled.
  # Its ClusterServingRuntimes go through KServe's validating webhook right after the controller's
  # rollout, before the webhook may answer.
  attempts 2 kserve-runtime-configs \
    helm upgrade --install kserve-runtime-configs "$KSERVE_CHARTS/kserve-runtime-configs" \
    --version "$KSERVE_VERSION" --namespace kserve --set kserve.version="$KSERVE_VERSION" \
    --set kserve.servingruntime.enabled=true --wait --timeout 5m \
    || fail "helm could not install kserve-runtime-configs (2 tries): is KServe's webhook up? (kubectl -n kserve get pods,certificates)"
  kubectl get clusterservingruntime kserve-tensorflow-serving >/dev/null \
    || die "KServe's TensorFlow runtime is missing after kserve-runtime-configs"
fi
log "add-ons ready"
