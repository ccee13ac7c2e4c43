"""The book's sections that this repository illustrates: ONE table, checked by a test.

Each pattern module's docstring opens with ``Chapter N, section N.M "<title>"``, and each example's
summary ends with :func:`reference`. ``tests/common/test_book.py`` checks every module's docstring
against this table, so a wrong section number cannot creep back in.

``module`` names the file that holds the pattern's code (``None`` until it exists); the tour and the
tests walk the table in book order.
"""

from __future__ import annotations

import dataclasses

CHAPTERS = {
    2: "Data ingestion patterns",
    3: "Distributed training patterns",
    4: "Model serving patterns",
    5: "Workflow patterns",
    6: "Operation patterns",
    8: "Overview of relevant technologies",
    9: "A complete implementation",
}


@dataclasses.dataclass(frozen=True)
class Section:
    number: str  # "2.3"
    title: str  # as in the book's table of contents, e.g. "Batching pattern"
    module: str | None = None  # the pattern's module, e.g. "chapters.ch02_data_ingestion.batching"

    @property
    def chapter(self) -> int:
        return int(self.number.split(".")[0])


CH2, CH3, CH4, CH5 = (
    f"chapters.{c}."
    for c in (
        "ch02_data_ingestion",
        "ch03_distributed_training",
        "ch04_model_serving",
        "ch05_workflows",
    )
)

CH8 = "chapters.ch08_basics."

SECTIONS: tuple[Section, ...] = (
    Section("2.3", "Batching pattern", CH2 + "batching"),
    Section("2.4", "Sharding pattern", CH2 + "sharding"),
    Section("2.5", "Caching pattern", CH2 + "caching"),
    Section("3.2", "Parameter server pattern", CH3 + "parameter_server"),
    Section("3.3", "Collective communication pattern", CH3 + "collective_communication"),
    Section("3.4", "Elasticity and fault-tolerance pattern", CH3 + "fault_tolerance"),
    Section("4.1", "What is model serving?", CH4 + "server"),
    Section("4.2", "Replicated services pattern", CH4 + "replicated_services"),
    Section("4.3", "Sharded services pattern", CH4 + "sharded_services"),
    Section("4.4", "Event-driven processing pattern", CH4 + "event_driven"),
    Section("5.2", "Fan-in and fan-out patterns", CH5 + "fan_in_fan_out"),
    Section("5.3", "Synchronous and asynchronous patterns", CH5 + "sync_async"),
    Section("5.4", "Step memoization pattern", CH5 + "memoization"),
    Section("6.2", "Scheduling patterns", "chapters.ch06_operations.scheduling"),
    Section("6.3", "Metadata pattern", "chapters.ch06_operations.metadata"),
    Section("8.1", "TensorFlow: The machine learning framework", CH8 + "tensorflow_basics"),
    Section(
        "8.2",
        "Kubernetes: The distributed container orchestration system",
        CH8 + "kubernetes_basics",
    ),
    Section("8.3", "Kubeflow: Machine learning workloads on Kubernetes", CH8 + "kubeflow_tfjob"),
    Section("8.4", "Argo Workflows: Container-native workflow engine", CH8 + "argo_basics"),
    Section("9.1", "Data ingestion"),
    Section("9.2", "Model training"),
    Section("9.3", "Model serving"),
    Section("9.4", "End-to-end workflow"),
)

BY_NUMBER = {s.number: s for s in SECTIONS}


def section(number: str) -> Section:
    """The section numbered ``number`` ("2.3"); a KeyError names the known ones."""
    try:
        return BY_NUMBER[number]
    except KeyError:
        known = ", ".join(BY_NUMBER)
        raise KeyError(f"no section {number!r} in the book table; known: {known}") from None


def reference(number: str) -> str:
    """The last line of an example's summary: where in the book to read about it."""
    s = section(number)
    return f'Book: chapter {s.chapter} ("{CHAPTERS[s.chapter]}"), section {s.number} "{s.title}".'


def section_of(module: str) -> Section:
    """The section whose pattern lives in ``module`` (``chapters.ch02_data_ingestion.batching``)."""
    for s in SECTIONS:
        if s.module == module:
            return s
    raise KeyError(f"{module} is not in the book table (chapters/common/book.py)")
