#!/usr/bin/env bash
# Create the kind cluster (idempotent).
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
need docker kind kubectl
if kind get clusters | grep -qx "$CLUSTER_NAME"; then
  log "cluster $CLUSTER_NAME exists"
else
  log "creating cluster $CLUSTER_NAME ($KIND_NODE_IMAGE)"
  kind create cluster --name "$CLUSTER_NAME" --image "$KIND_NODE_IMAGE" --wait 180s
fi
kubectl cluster-info --context "kind-$CLUSTER_NAME"
