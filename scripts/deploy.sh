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
  mapfile -t chapters < <(cd "$ROOT/manifests" && ls -d ch[0-9][0-9])
fi

kubectl get crd tfjobs.kubeflow.org >/dev/null 2>&1 || die "no TFJob CRD: run 'make kind-up' (install-addons.sh) first"
kserve=1
kubectl get crd inferenceservices.serving.kserve.io >/dev/null 2>&1 || kserve=0

kubectl apply -k "$ROOT/manifests/base"
# TFJobs are immutable once done: delete old runs so a redeploy starts fresh.
kubectl -n "$NAMESPACE" delete tfjobs --all --ignore-not-found --wait=true --timeout=120s
for chapter in "${chapters[@]}"; do
  dir="$ROOT/manifests/$chapter"
  [ -f "$dir/kustomization.yaml" ] || die "no $dir/kustomization.yaml"
  log "applying $chapter"
  if [ "$kserve" = 1 ]; then
    kubectl apply -k "$dir"
  else  # without KServe (INSTALL_KSERVE=0) leave the InferenceServices out
    kubectl kustomize "$dir" | "${PYTHON:-$ROOT/.venv/bin/python}" -c '
import sys, yaml
docs = [d for d in yaml.safe_load_all(sys.stdin) if d and d.get("kind") != "InferenceService"]
print(yaml.safe_dump_all(docs))' | kubectl apply -f -
  fi
  mapfile -t jobs < <(kubectl -n "$NAMESPACE" get tfjobs -l "dmlp/chapter=$chapter" -o name)
  if [ "${#jobs[@]}" -gt 0 ]; then
    wait_tfjobs "$timeout" "${jobs[@]}"
  fi
done
log "deployed: ${chapters[*]}"
