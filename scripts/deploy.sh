#!/usr/bin/env bash
# Apply the manifests chapter by chapter: base (namespace, PVC), then each manifests/chNN in order.
# A chapter's TFJobs must succeed before the next chapter is applied: chapter 4 serves the model
# chapter 3 trains (KServe mounts pvc:// paths as subPaths, which must exist), and a 4-vCPU runner
# then never holds the training and the serving pods at once. Re-running replaces finished jobs.
#   bash scripts/deploy.sh [ch03 ch04 ...]     (default: every manifests/chNN)
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
need kubectl
need_cluster
timeout="${DEPLOY_TIMEOUT:-900}"   # seconds, for each chapter's TFJobs
if [ "$#" -gt 0 ]; then
  chapters=("$@")
else
  chapters=()
  IFS=$'\n' read -r -d '' -a chapters < <(cd "$ROOT/manifests" && ls -d ch[0-9][0-9]) || true
fi

kubectl get crd tfjobs.kubeflow.org >/dev/null 2>&1 || die "no TFJob CRD: run 'make kind-up' (install-addons.sh) first"
served="$(kubectl api-versions)"

kubectl apply -k "$ROOT/manifests/base"
# TFJobs are immutable once done: delete old runs so a redeploy starts fresh.
kubectl -n "$NAMESPACE" delete tfjobs --all --ignore-not-found --wait=true --timeout=120s
if grep -qxF "argoproj.io/v1alpha1" <<<"$served"; then  # finished Workflows never run again
  kubectl -n "$NAMESPACE" delete workflows --all --ignore-not-found --wait=true --timeout=120s
fi
for chapter in "${chapters[@]}"; do
  dir="$ROOT/manifests/$chapter"
  [ -f "$dir/kustomization.yaml" ] || die "no $dir/kustomization.yaml"
  rendered="$(kubectl kustomize "$dir")"
  missing=()
  while read -r api; do
    grep -qxF "$api" <<<"$served" || missing+=("$api")
  done < <(sed -n 's/^apiVersion: //p' <<<"$rendered" | sort -u)
  if [ "${missing[*]:-}" = "serving.kserve.io/v1beta1" ]; then
    log "applying $chapter without its InferenceServices (KServe not installed: INSTALL_KSERVE=0)"
    rendered="$("${PYTHON:-$ROOT/.venv/bin/python}" -c '
import sys, yaml
docs = [d for d in yaml.safe_load_all(sys.stdin) if d and d.get("kind") != "InferenceService"]
print(yaml.safe_dump_all(docs))' <<<"$rendered")"
  elif [ "${#missing[@]}" -gt 0 ]; then
    log "skipping $chapter: the cluster serves no ${missing[*]} (install its operator in scripts/install-addons.sh)"
    continue
  else
    log "applying $chapter"
  fi
  kubectl apply -f - <<<"$rendered"
  wait_listed "$timeout" "$TFJOB_STATE" tfjobs -l "dmlp/chapter=$chapter"
  # A chapter's Workflows finish before the next chapter starts: the 4-vCPU budget is per chapter.
  wait_listed --quiet "$timeout" "$WORKFLOW_STATE" workflows -l "dmlp/chapter=$chapter"
done
log "deployed: ${chapters[*]}"
