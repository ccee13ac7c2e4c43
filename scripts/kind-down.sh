#!/usr/bin/env bash
# Delete the kind cluster and everything in it.
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
need kind
kind delete cluster --name "$CLUSTER_NAME"
