#!/usr/bin/env bash
# Build the one image from the repository root and load it into the kind nodes.
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
need docker kind
log "building $IMAGE"
docker build -t "$IMAGE" "$ROOT"
log "loading $IMAGE into kind cluster $CLUSTER_NAME"
kind load docker-image "$IMAGE" --name "$CLUSTER_NAME"
