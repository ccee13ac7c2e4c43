# shellcheck shell=bash
# shellcheck disable=SC2034  # the variables are used by the scripts that source this file
# Shared settings for the kind scripts (sourced, not run). Written for bash 3.2 too (macOS's
# /bin/bash): no mapfile, no namerefs, no empty "${array[@]}" under set -u. Pinned versions and URLs live in
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
INSTALL_ARGO="${INSTALL_ARGO:-1}"
# Volcano (chapter 6) is opt-in: v1.15 supports Kubernetes up to 1.35 (volcano v1.15.1 README.md)
# while the node is 1.36, and with it every TFJob becomes a Volcano gang job.
INSTALL_VOLCANO="${INSTALL_VOLCANO:-0}"
WAIT="${WAIT:-300s}"
# The project's --quick sizes on the cluster (the same as tests/project/test_kind_project.py).
PROJECT_QUICK_ARGUMENTS="${PROJECT_QUICK_ARGUMENTS:-num_examples=512,num_validation=256,num_epochs=1,steps_per_epoch=4,batch_size=16}"   # the bound on each rollout and condition wait of an add-on

log() { printf '[%s] %s\n' "$(basename "$0")" "$*"; }
die() { printf '[%s] error: %s\n' "$(basename "$0")" "$*" >&2; exit 2; }

# need TOOL...: stop at once, with one line, if a tool is missing.
need() {
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' is not installed (see README: Kind path)"
  done
}

# need_docker: stop at once unless the Docker engine answers.
need_docker() {
  docker info >/dev/null 2>&1 || die "the Docker engine is not running"
}

# kind_cluster_exists: whether kind knows a cluster named $CLUSTER_NAME.
kind_cluster_exists() {
  kind get clusters | grep -qx "$CLUSTER_NAME"
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

# attempts TIMES WHAT COMMAND...: run COMMAND up to TIMES times, RETRY_SLEEP (5) s apart, with its
# output each time; returns 1 when the last try fails too. WHAT names it in the log line. KServe's
# own installer tries each chart twice this way (hack/setup/infra/manage.kserve-helm.sh, v0.20.0).
attempts() {
  local times=$1 what=$2 try=1
  shift 2
  until "$@"; do
    [ "$try" -lt "$times" ] || return 1
    log "$what: try $try of $times failed; trying again in ${RETRY_SLEEP:-5} s"
    try=$((try + 1))
    sleep "${RETRY_SLEEP:-5}"
  done
}

fail() { printf '[%s] FAILED: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

# diagnose OBJECT: what a failed TFJob or Workflow left behind.
diagnose() {
  case "$1" in
    tfjob*)
      kubectl -n "$NAMESPACE" describe "$1" | tail -30 || true
      kubectl -n "$NAMESPACE" logs -l "training.kubeflow.org/job-name=${1#*/}" --tail=30 --prefix || true ;;
    workflow*)
      kubectl -n "$NAMESPACE" get "$1" \
        -o jsonpath='{range .status.nodes.*}{.displayName}: {.phase} {.message}{"\n"}{end}' || true ;;
  esac
}

# wait_succeeded SECONDS JSONPATH OBJECT...: until JSONPATH of every object reads Succeeded, for
# at most SECONDS in all; stops at the first Failed or Error (kubectl wait would sit out the whole
# timeout), with diagnose's output. JSONPATH: a TFJob's true conditions, a Workflow's phase.
wait_succeeded() {
  local limit=$1 jsonpath=$2 deadline=$((SECONDS + $1)) object state
  shift 2
  for object in "$@"; do
    log "waiting for $object to succeed"
    while :; do
      state=" $(kubectl -n "$NAMESPACE" get "$object" -o "jsonpath=$jsonpath") "
      case "$state" in
        *" Succeeded "*) break ;;
        *" Failed "* | *" Error "*) diagnose "$object"; fail "$object failed" ;;
      esac
      [ "$SECONDS" -lt "$deadline" ] || { diagnose "$object"; fail "$object not done after ${limit}s"; }
      sleep "${RETRY_SLEEP:-5}"
    done
  done
}

# wait_listed [--quiet] SECONDS JSONPATH GET-ARGUMENTS...: wait_succeeded for every object that
# `kubectl get GET-ARGUMENTS -o name` lists (none: nothing to wait for); LISTED holds them after.
# --quiet drops the listing's errors (a kind the cluster may not serve).
wait_listed() {
  local quiet=0
  if [ "$1" = --quiet ]; then quiet=1; shift; fi
  local limit=$1 jsonpath=$2
  shift 2
  LISTED=()
  IFS=$'\n' read -r -d '' -a LISTED < <(
    if [ "$quiet" = 1 ]; then exec 2>/dev/null; fi
    kubectl -n "$NAMESPACE" get "$@" -o name
  ) || true
  if [ "${#LISTED[@]}" -gt 0 ]; then
    wait_succeeded "$limit" "$jsonpath" "${LISTED[@]}"
  fi
}
TFJOB_STATE='{.status.conditions[?(@.status=="True")].type}'
WORKFLOW_STATE='{.status.phase}'
