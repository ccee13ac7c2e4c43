"""The project workflow's script steps (chapter 9, section 9.4), apart from the workflow itself.

In a pod, Hera's runner imports the module a step is defined in
(``-e chapters.project.steps:ingest``); this one needs nothing but the project's code, while
``workflow.py`` also reads ``versions.env`` (not in the image) to write the InferenceService.
"""

from hera.workflows import script

from chapters.ch05_workflows.memoization import MEMOIZE  # section 5.4's memoize spec
from dmlp.argo import conventions


@script(**conventions.script_options(cpu="100m", memory="256Mi", data=False))
def fingerprint(dataset: str, num_examples: int, num_validation: int, seed: int, num_files: int):
    """Ingestion's cache key (and folder name): a hash of everything that changes its output."""
    from chapters.project.config import ingest_key

    print(ingest_key(dataset, num_examples, num_validation, seed, num_files))


@script(
    constructor="runner", memoize=MEMOIZE, **conventions.script_options(cpu="250m", memory="1Gi")
)
def ingest(key: str, max_age: str, data: str, dataset: str, num_examples: int,
           num_validation: int, seed: int, num_files: int) -> dict:  # fmt: skip
    """9.1: write the TFRecords once; a second run with the same inputs is a cache hit."""
    from chapters.project.data_pipeline import ingest as write

    return write(data, dataset, num_examples, num_validation, seed, num_files)


@script(constructor="runner", **conventions.script_options(cpu="250m", memory="1Gi"))
def select(out: str, data: str) -> dict:
    """9.2: score every trained model on held-out data; publish the best as the next version."""
    from chapters.project.model_selection import select_and_publish

    return select_and_publish(out, data)
