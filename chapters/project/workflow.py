"""Chapter 9, section 9.4 "The end-to-end workflow": one Argo Workflow, written with Hera.

Claim: one workflow definition runs the whole project. Ingestion is memoized (its cache key is a
hash of its inputs), three TFJobs train ``cnn``, ``dropout`` and ``batch_norm`` in parallel with
2-worker all-reduce, model selection serves the best, and the serving step puts it behind a
model server. Argo runs this definition (``manifests/project/workflow.yaml`` is generated from
it); ``make demo`` runs the same definition with chapter 5's local runner (see ``demo.py``).

The one step a laptop cannot run as written is the InferenceService: :func:`for_laptop` swaps
that single template for chapter 4's replicated servers (``chapters.project.inference``); every
other template, argument and dependency is the one Argo gets.

Run: python -m chapters.project.demo    (this module only defines the workflow)
"""

import copy
from pathlib import Path

from hera.workflows import DAG, Parameter, Resource, Workflow

from chapters.common.models import MODEL_TYPES
from chapters.project import config
from chapters.project.steps import fingerprint, ingest, select
from dmlp.argo import conventions
from dmlp.kube import compact, versions
from dmlp.kube.tfjob import NON_ROOT, Replica, build

ROOT = Path(__file__).resolve().parents[2]
TF_SERVING_VERSION = versions.pinned()["TF_SERVING_VERSION"]
SERVICE_ACCOUNT = "dmlp-project"  # manifests/project/rbac.yaml
OUT = "{{workflow.parameters.data_root}}/{{workflow.parameters.run_dir}}"
DATA = OUT + "/data/{{tasks.fingerprint.outputs.result}}"  # ingestion writes, training reads
JOBS = [{"model_type": t, "job": t.replace("_", "-")} for t in MODEL_TYPES]  # DNS-safe names
SIZE_FLAGS = (
    "num_epochs",
    "steps_per_epoch",
    "batch_size",
    "batch_norm_momentum",
    "dataset",
    "seed",
)
TRAIN_ARGS = [
    "--model-type={{inputs.parameters.model_type}}",
    "--tfrecords={{inputs.parameters.data}}",
    f"--out={OUT}",
    *(
        f"--{name.replace('_', '-')}={value}"
        for name, value in conventions.from_workflow(*SIZE_FLAGS).items()
    ),
]

# A TFJob per model: both workers succeed -> the step succeeds; any failed replica -> it fails.
# Argo fills in the placeholders as text, so the manifest is compact YAML with the worker count
# bare (an integer once filled in), not yaml.safe_dump's quoted string.
TFJOB = compact.dump(
    build(
        "{{workflow.name}}-{{inputs.parameters.job}}",
        {
            "Worker": Replica(
                ["python", "-m", "chapters.project.model_training"],
                TRAIN_ARGS,
                compact.Bare("{{workflow.parameters.num_workers}}"),
            )
        },
        run_policy={"cleanPodPolicy": "None", "backoffLimit": 1},
        security_context={**NON_ROOT, "allowPrivilegeEscalation": False},
        **conventions.tfjob_options("project"),
    )
)

# KServe v0.20, Standard mode, TensorFlow runtime (TF Serving, V1): it loads the highest
# numbered version under storageUri, the folder model selection publishes into.
INFERENCE_SERVICE = f"""\
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: {config.MODEL_NAME}-project
  namespace: {conventions.NAMESPACE}
  labels: {{app.kubernetes.io/part-of: dmlp, dmlp/chapter: project}}
  annotations: {{serving.kserve.io/deploymentMode: Standard}}
spec:
  predictor:
    minReplicas: {{{{workflow.parameters.num_replicas}}}}
    maxReplicas: {{{{workflow.parameters.num_replicas}}}}
    model:
      modelFormat: {{name: tensorflow}}
      runtimeVersion: "{TF_SERVING_VERSION}"
      protocolVersion: v1
      storageUri: pvc://{conventions.DATA_PVC}/{{{{workflow.parameters.run_dir}}}}/served/{config.MODEL_NAME}
      resources:
        requests: {{cpu: 100m, memory: 256Mi}}
        limits: {{cpu: "1", memory: 1Gi}}
"""


_TRAIN = Resource(
    name="train",
    inputs=[Parameter(name="model_type"), Parameter(name="job"), Parameter(name="data")],
    action="create",
    set_owner_reference=True,  # the TFJobs go when the workflow is deleted
    success_condition="status.replicaStatuses.Worker.succeeded == "
    "{{workflow.parameters.num_workers}}",
    failure_condition="status.replicaStatuses.Worker.failed > 0",
    manifest=TFJOB,
)
_SERVE = Resource(
    name="serve",
    action="apply",  # the service outlives the workflow; a new run updates it
    success_condition="status.modelStatus.states.activeModelState == Loaded",  # = Ready
    failure_condition="status.modelStatus.states.activeModelState == FailedToLoad",
    manifest=INFERENCE_SERVICE,
)
PARAMETERS = ("dataset", "num_examples", "num_validation", "num_files", "seed", "num_epochs",
              "steps_per_epoch", "batch_size", "batch_norm_momentum", "num_workers")  # fmt: skip


def arguments(settings: config.ProjectSettings, **overrides: str) -> dict[str, str]:
    """The workflow's parameters for ``settings`` (sizes resolved from --quick/--full)."""
    values = {name: str(settings.size(name)) if name in config.SIZES["quick"]
              else str(getattr(settings, name)) for name in PARAMETERS}  # fmt: skip
    return {**values, **overrides}


OPTIONS = {  # the repository's workflow settings, with the project's own service account
    **conventions.workflow_options("project", chapter="project"),
    "service_account_name": SERVICE_ACCOUNT,
}

with Workflow(
    **OPTIONS,
    entrypoint="pipeline",
    arguments={
        **arguments(config.ProjectSettings(), dataset="synthetic"),
        "data_root": conventions.DATA_MOUNT,
        "run_dir": "project",
        "max_age": "24h",
        "num_replicas": "2",
        "num_samples": "8",
    },
) as WORKFLOW:
    with DAG(name="pipeline"):
        key = fingerprint(
            arguments=conventions.from_workflow(
                "dataset", "num_examples", "num_validation", "seed", "num_files"
            )
        )
        data = ingest(
            arguments={
                "key": key.result,
                "data": DATA,
                **conventions.from_workflow(
                    "max_age", "dataset", "num_examples", "num_validation", "seed", "num_files"
                ),
            }
        )
        models = _TRAIN(
            name="train",
            with_items=JOBS,  # fan-out: three TFJobs at once
            arguments={"model_type": "{{item.model_type}}", "job": "{{item.job}}", "data": DATA},
        )
        best = select(
            arguments={"out": OUT, "data": DATA},
            depends="train.AnySucceeded || train.Failed",  # a failed model is skipped, not fatal
        )
        served = _SERVE(name="serve")
        key >> data >> models
        best >> served


def for_laptop(definition=WORKFLOW) -> dict:
    """The workflow as the local runner takes it: only the ``serve`` template is different."""
    data = copy.deepcopy(definition.to_dict())
    templates = data["spec"]["templates"]
    index = next(i for i, t in enumerate(templates) if t["name"] == "serve")
    templates[index] = {
        "name": "serve",
        "container": {
            "image": conventions.IMAGE,
            "command": ["python", "-m", "chapters.project.inference"],
            "args": [
                f"--out={OUT}",
                f"--served-dir={OUT}/served/{config.MODEL_NAME}",
                "--num-replicas={{workflow.parameters.num_replicas}}",
                "--num-samples={{workflow.parameters.num_samples}}",
                "--dataset={{workflow.parameters.dataset}}",
                "--seed={{workflow.parameters.seed}}",
            ],
        },
    }
    return data
