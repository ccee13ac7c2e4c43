# shellcheck shell=bash
# shellcheck disable=SC2034  # the variables are used by the scripts that source this file
# Shared settings for the kind scripts (sourced, not run). Pinned versions and URLs live in
# versions.env; an environment variable of the same name overrides one.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

while IFS='=' read -r key value; do
  case "$key" in '' | \#*) continue ;; esac
  if [ -z "${!key:-}" ]; then printf -v "$key" '%s' "$value"; fi
done <"$ROOT/versions.env"

CLUSTER_NAME="${CLUSTER_NAME:-dmlp}"
IMAGE="${IMAGE:-dmlp:dev}"
NAMESPACE="${NAMESPACE:-dmlp}"
INSTALL_KSERVE="${INSTALL_KSERVE:-1}"
WAIT="${WAIT:-300s}"   # the bound on each rollout and condition wait of an add-on

log() { printf '[%s] %s\n' "$(basename "$0")" "$*"; }
die() { printf '[%s] error: %s\n' "$(basename "$0")" "$*" >&2; exit 2; }

# need TOOL...: stop at once, with one line, if a tool is missing.
need() {
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' is not installed (see README: Kind path)"
  done
}

# need_cluster: stop at once unless kubectl talks to this kind cluster.
need_cluster() {
  local context
  context="$(kubectl config current-context 2>/dev/null || true)"
  [ "$context" = "kind-$CLUSTER_NAME" ] \
    || die "kubectl's context is '${context:-none}', not kind-$CLUSTER_NAME: run 'make kind-up' first"
  kubectl cluster-info --request-timeout=10s >/dev/null 2>&1 \
    || die "cluster kind-$CLUSTER_NAME does not answer: run 'make kind-up' (is Docker running?)"
}

# retry SECONDS COMMAND...: run COMMAND every 5 s until it succeeds, for at most SECONDS.
retry() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || { "$@" || true; return 1; }
    sleep "${RETRY_SLEEP:-5}"
  done
}

fail() { printf '[%s] FAILED: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

tfjob_diagnostics() {
  kubectl -n "$NAMESPACE" describe "$1" | tail -30 || true
  kubectl -n "$NAMESPACE" logs -l "training.kubeflow.org/job-name=${1#*/}" --tail=30 --prefix || true
}

# wait_tfjobs SECONDS tfjob/NAME...: until every TFJob has succeeded, for at most SECONDS in all;
# stops at the first that fails (kubectl wait would sit out the whole timeout), with its logs.
wait_tfjobs() {
  local limit=$1 deadline=$((SECONDS + $1)) job state
  shift
  for job in "$@"; do
    log "waiting for $job to succeed"
    while :; do
      state="$(kubectl -n "$NAMESPACE" get "$job" -o jsonpath='{.status.conditions[?(@.status=="True")].type}')"
      case " $state " in
        *" Succeeded "*) break ;;
        *" Failed "*) tfjob_diagnostics "$job"; fail "$job failed" ;;
      esac
      [ "$SECONDS" -lt "$deadline" ] || { tfjob_diagnostics "$job"; fail "$job not done after ${limit}s"; }
      sleep "${RETRY_SLEEP:-5}"
    done
  done
}
