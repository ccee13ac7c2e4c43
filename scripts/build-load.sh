#!/usr/bin/env bash
# Build the one image from the repository root and load it into the kind nodes.
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
need docker kind
need_docker
kind_cluster_exists || die "no kind cluster $CLUSTER_NAME: run 'make kind-up' first"
log "building $IMAGE (TensorFlow $IMAGE_TENSORFLOW, to match TF Serving $TF_SERVING_VERSION)"
docker build --build-arg "TENSORFLOW=$IMAGE_TENSORFLOW" -t "$IMAGE" "$ROOT"
log "loading $IMAGE into kind cluster $CLUSTER_NAME"
kind load docker-image "$IMAGE" --name "$CLUSTER_NAME"
