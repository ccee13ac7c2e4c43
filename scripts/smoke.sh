#!/usr/bin/env bash
# Bounded checks that what `make deploy` applied works:
#   chapter 3: every TFJob succeeded; chapter 5 (with Argo): every Workflow succeeded;
#   chapter 4: every serving path (replicated Deployment, sharded router and, with KServe, the
#   TF Serving and custom InferenceServices) answers the same 20 images with the same classes,
#   from a client pod inside the cluster; the HPA reports a current CPU figure (metrics-server).
#   With KServe: cert-manager has issued the certificate of KServe's webhook (Ready).
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
need kubectl
need_cluster
timeout="${SMOKE_TIMEOUT:-900}"   # seconds, for each wait

wait_listed "$timeout" "$TFJOB_STATE" tfjobs
[ "${#LISTED[@]}" -gt 0 ] || fail "no TFJobs in namespace $NAMESPACE: run 'make deploy' first"
jobs=("${LISTED[@]}")
for job in "${jobs[@]}"; do
  kubectl -n "$NAMESPACE" logs -l "training.kubeflow.org/job-name=${job#*/}" --tail=200 --prefix \
    | grep -E "EPOCH_END|SERVING" | tail -3 || true
done
log "all ${#jobs[@]} TFJobs succeeded"

if kubectl get crd workflows.argoproj.io >/dev/null 2>&1; then
  wait_listed "$timeout" "$WORKFLOW_STATE" workflows
  if [ "${#LISTED[@]}" -gt 0 ]; then
    log "all ${#LISTED[@]} Workflows succeeded"
  fi
fi

for workload in deployment/fashion-mnist statefulset/fashion-mnist-shard deployment/fashion-mnist-router; do
  kubectl -n "$NAMESPACE" rollout status "$workload" --timeout="${timeout}s"
done
# name=URL=model name, for each serving path
paths=(replicated=http://fashion-mnist=fashion-mnist router=http://fashion-mnist-router=fashion-mnist)
if kubectl get crd inferenceservices.serving.kserve.io >/dev/null 2>&1; then
  # KServe's webhook serves with the certificate cert-manager issues for it (the kserve-resources
  # chart's Certificate serving-cert): not Ready, and every InferenceService call through the
  # webhook fails. Say so in one line instead of waiting out the InferenceServices.
  cert_wait="${CERT_WAIT:-120}"
  kubectl -n kserve wait --for=condition=Ready certificate/serving-cert --timeout="${cert_wait}s" \
    >/dev/null 2>&1 || fail "KServe's webhook certificate kserve/serving-cert is not Ready after ${cert_wait} s: is cert-manager issuing it? (kubectl -n kserve describe certificate serving-cert)"
  log "KServe's webhook certificate is Ready"
  for isvc in fashion-mnist-tf fashion-mnist-custom; do
    kubectl -n "$NAMESPACE" wait --for=condition=Ready "inferenceservice/$isvc" --timeout="${timeout}s"
  done
  # TF Serving names the model after the InferenceService (--model_name={{.Name}}).
  paths+=(kserve-tf=http://fashion-mnist-tf-predictor=fashion-mnist-tf
    kserve-custom=http://fashion-mnist-custom-predictor=fashion-mnist)
else
  log "KServe not installed (INSTALL_KSERVE=0): skipping the InferenceServices"
fi

# One client pod asks every path for the same images (synthetic, seed 42) and prints, per path,
# a line "== name" and the client's "CLASSES id,id,..." line.
# shellcheck disable=SC2016  # expanded by sh inside the pod
script='set -e
for spec in "$@"; do
  name=${spec%%=*}; rest=${spec#*=}; url=${rest%=*}; model=${rest##*=}
  echo "== $name"
  python -m chapters.ch04_model_serving.client --url "$url" --model-name "$model" \
    --dataset synthetic --num-examples 20 --print-classes
done'
log "querying ${#paths[@]} serving paths with the same 20 images"
output="$(kubectl -n "$NAMESPACE" run smoke-client --rm -i --restart=Never --quiet \
  --pod-running-timeout="${timeout}s" --image="$IMAGE" --image-pull-policy=IfNotPresent \
  --command -- sh -c "$script" smoke "${paths[@]}")" || { printf '%s\n' "$output"; fail "a client request failed"; }
printf '%s\n' "$output"
answers=()
IFS=$'\n' read -r -d '' -a answers < <(printf '%s\n' "$output" | awk '/^== /{name=$2} /^CLASSES /{print name, $2}') || true
[ "${#answers[@]}" -eq "${#paths[@]}" ] || fail "expected ${#paths[@]} answers, got ${#answers[@]}"
first="${answers[0]#* }"
for answer in "${answers[@]}"; do
  [ "${answer#* }" = "$first" ] || fail "classes differ: ${answers[0]%% *}=$first, ${answer%% *}=${answer#* }"
done
log "all ${#paths[@]} serving paths gave the same classes: $first"

# The project (chapters 7 and 9) with --quick sizes: ingestion -> three 2-worker TFJobs ->
# selection -> InferenceService, submitted and followed by dmlp.argo.submit (it prints
# each step, and the failing step's logs on failure); then one prediction from the served model.
if [ "${SMOKE_PROJECT:-1}" = "1" ] && kubectl get crd workflows.argoproj.io >/dev/null 2>&1 \
   && kubectl get crd inferenceservices.serving.kserve.io >/dev/null 2>&1; then
  log "the project workflow with --quick sizes (up to ${timeout} s)"
  kubectl apply -f "$ROOT/manifests/project/rbac.yaml"
  "${PYTHON:-$ROOT/.venv/bin/python}" -m dmlp.argo.submit \
    --file "$ROOT/manifests/project/workflow.yaml" --generate-name --timeout "$timeout" \
    --arguments "$PROJECT_QUICK_ARGUMENTS" || fail "the project workflow failed"
  kubectl -n "$NAMESPACE" wait --for=condition=Ready inferenceservice/fashion-mnist-project \
    --timeout="${timeout}s"
  kubectl -n "$NAMESPACE" run smoke-project --rm -i --restart=Never --quiet \
    --pod-running-timeout="${timeout}s" --image="$IMAGE" --image-pull-policy=IfNotPresent \
    --command -- python -m chapters.ch04_model_serving.client \
    --url http://fashion-mnist-project-predictor --model-name fashion-mnist-project \
    --dataset synthetic --num-examples 20 --print-classes || fail "the project's model did not answer"
  log "the project's served model answered"
fi

log "waiting for the HPA's CPU figure from metrics-server (up to ${HPA_WAIT:-180} s)"
hpa_cpu() {
  kubectl -n "$NAMESPACE" get hpa fashion-mnist \
    -o jsonpath='{.status.currentMetrics[0].resource.current.averageUtilization}'
}
hpa_has_cpu() { [ -n "$(hpa_cpu)" ]; }
retry "${HPA_WAIT:-180}" hpa_has_cpu \
  || { kubectl -n "$NAMESPACE" describe hpa fashion-mnist | tail -15; fail "the HPA has no CPU figure: is metrics-server running?"; }
log "HPA fashion-mnist: current CPU $(hpa_cpu)% of requests"
log "smoke test passed"
