#!/usr/bin/env bash
# Install Argo Workflows (ARGO_WORKFLOWS_VERSION, versions.env) on the kind cluster: the release's
# install.yaml (its CRDs, the workflow-controller, the argo-server and their RBAC) in namespace argo.
#   bash scripts/install-argo.sh            (after scripts/kind-up.sh)
# - install.yaml does not create its namespace, so this does;
# - server-side apply: since v4.0 the release's CRDs carry their full schemas, too large for the
#   annotation a client-side apply writes;
# - every wait is bounded by $WAIT; the CRDs are Established before anything uses them;
# - the argo-server (the UI and its REST API) is scaled to zero unless ARGO_SERVER=1: nothing here
#   needs it (python -m chapters.common.argo_submit talks to the Kubernetes API).
# What the chapters' workflows need beyond the release is in their manifests, applied by
# `make deploy`: the step pods' service account and its workflowtaskresults rights, and the
# controller's configmaps create/update for the memoization cache (the release's ClusterRole grants
# only get/watch/list) in manifests/ch05/rbac.yaml; the resource steps' rights in
# manifests/ch08/rbac.yaml.
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
need kubectl
need_cluster
url="$ARGO_WORKFLOWS_URL"  # the release asset of ARGO_WORKFLOWS_VERSION (versions.env)

log "installing Argo Workflows $ARGO_WORKFLOWS_VERSION (namespace argo) from $url"
kubectl create namespace argo --dry-run=client -o yaml | kubectl apply -f -
kubectl apply --server-side --force-conflicts -n argo -f "$url"
kubectl wait --for=condition=Established crd/workflows.argoproj.io \
  crd/workflowtaskresults.argoproj.io --timeout="$WAIT"
kubectl -n argo rollout status deployment/workflow-controller --timeout="$WAIT"
if [ "${ARGO_SERVER:-0}" = "1" ]; then
  kubectl -n argo rollout status deployment/argo-server --timeout="$WAIT"
else
  kubectl -n argo scale deployment/argo-server --replicas=0
fi
log "Argo Workflows $ARGO_WORKFLOWS_VERSION ready: submit with python -m chapters.common.argo_submit --file FILE"
