#!/usr/bin/env bash
# Create the kind cluster (idempotent), then point kubectl at it.
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
need docker kind kubectl
need_docker
if kind_cluster_exists; then
  log "cluster $CLUSTER_NAME exists"
else
  log "creating cluster $CLUSTER_NAME ($KIND_NODE_IMAGE)"
  kind create cluster --name "$CLUSTER_NAME" --image "$KIND_NODE_IMAGE" --wait 180s
fi
kubectl config use-context "kind-$CLUSTER_NAME" >/dev/null
need_cluster
log "cluster kind-$CLUSTER_NAME is up"
