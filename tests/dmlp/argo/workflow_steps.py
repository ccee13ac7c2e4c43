"""Steps for the local workflow runner's tests, run through Hera's own runner (no TensorFlow)."""

import json
from typing import Annotated

from hera.workflows import DAG, Artifact, ArtifactLoader, Parameter, Workflow, script


@script(constructor="runner", image="dmlp:dev")
def make(n: int) -> Annotated[str, Artifact(name="numbers")]:
    return json.dumps(list(range(n)))


@script(constructor="runner", image="dmlp:dev")
def total(numbers: Annotated[str, Artifact(name="numbers", loader=ArtifactLoader.file)]) -> int:
    return sum(json.loads(numbers))


@script(constructor="runner", image="dmlp:dev")
def square(x: int) -> Annotated[int, Parameter(name="squared")]:
    return x * x


with Workflow(name="hera-steps", entrypoint="main", arguments={"n": "5"}) as WORKFLOW:
    with DAG(name="main"):
        made = make(arguments={"n": "{{workflow.parameters.n}}"})
        summed = total(arguments=[made.get_artifact("numbers").with_name("numbers")])
        squares = square(arguments={"x": "{{item}}"}, with_items=[1, 2, 3])
        made >> [summed, squares]
