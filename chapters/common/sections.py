"""The book's chapters and sections that this repository illustrates, with their titles.

Book content every chapter shares: each example's summary ends with :func:`reference`, the line
that sends the reader to the section it illustrates. Which module shows which section is the table
of contents, :mod:`chapters.book`, the one place that names chapter modules.
"""

from __future__ import annotations

import dataclasses

CHAPTERS = {
    2: "Data ingestion patterns",
    3: "Distributed training patterns",
    4: "Model serving patterns",
    5: "Workflow patterns",
    6: "Operation patterns",
    7: "Project overview and system architecture",
    8: "Overview of relevant technologies",
    9: "A complete implementation",
}


@dataclasses.dataclass(frozen=True)
class Section:
    number: str  # "2.3"
    title: str  # as in the book's table of contents, e.g. "Batching pattern"
    module: str | None = None  # set in chapters.book: the module that shows the pattern

    @property
    def chapter(self) -> int:
        return int(self.number.split(".")[0])


SECTIONS: tuple[Section, ...] = (
    Section("2.2", "The Fashion-MNIST dataset"),
    Section("2.3", "Batching pattern"),
    Section("2.4", "Sharding pattern"),
    Section("2.5", "Caching pattern"),
    Section("3.2", "Parameter server pattern"),
    Section("3.3", "Collective communication pattern"),
    Section("3.4", "Elasticity and fault-tolerance pattern"),
    Section("4.1", "What is model serving?"),
    Section("4.2", "Replicated services pattern"),
    Section("4.3", "Sharded services pattern"),
    Section("4.4", "Event-driven processing pattern"),
    Section("5.2", "Fan-in and fan-out patterns"),
    Section("5.3", "Synchronous and asynchronous patterns"),
    Section("5.4", "Step memoization pattern"),
    Section("6.2", "Scheduling patterns"),
    Section("6.3", "Metadata pattern"),
    Section("7.1", "Project overview"),
    Section("7.2", "Data ingestion"),
    Section("7.3", "Model training"),
    Section("7.4", "Model serving"),
    Section("7.5", "End-to-end workflow"),
    Section("8.1", "TensorFlow: The machine learning framework"),
    Section("8.2", "Kubernetes: The distributed container orchestration system"),
    Section("8.3", "Kubeflow: Machine learning workloads on Kubernetes"),
    Section("8.4", "Argo Workflows: Container-native workflow engine"),
    Section("9.1", "Data ingestion"),
    Section("9.2", "Model training"),
    Section("9.3", "Model serving"),
    Section("9.4", "The end-to-end workflow"),
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
