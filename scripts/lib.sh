# shellcheck shell=bash
# shellcheck disable=SC2034  # the variables are used by the scripts that source this file
# Shared settings for the kind scripts (sourced, not run).
set -euo pipefail
CLUSTER_NAME="${CLUSTER_NAME:-dmlp}"
KIND_NODE_IMAGE="${KIND_NODE_IMAGE:-kindest/node:v1.36.1}"   # kind v0.32.0
IMAGE="${IMAGE:-dmlp:dev}"
NAMESPACE="${NAMESPACE:-dmlp}"
TRAINING_OPERATOR_REF="${TRAINING_OPERATOR_REF:-v1.9.4}"     # v1.9.x still serves TFJob
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

need() {
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || { echo "error: '$tool' is not installed (see README: kind path)" >&2; exit 2; }
  done
}
log() { printf '[%s] %s\n' "$(basename "$0")" "$*"; }
CERT_MANAGER_VERSION="${CERT_MANAGER_VERSION:-v1.16.2}"
KSERVE_VERSION="${KSERVE_VERSION:-v0.20.0}"                   # Standard (raw Deployment) mode
INSTALL_KSERVE="${INSTALL_KSERVE:-1}"
