#!/usr/bin/env bash
# Delete the kind cluster and everything in it.
source "$(dirname "$0")/lib.sh"
need kind
kind delete cluster --name "$CLUSTER_NAME"
