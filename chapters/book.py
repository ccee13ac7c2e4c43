"""The table of contents: which module shows which of the book's sections, checked by a test.

Each pattern module's docstring opens with ``Chapter N, section N.M "<title>"``;
``tests/test_book.py`` checks every module's docstring against this table and the titles in
:mod:`chapters.common.sections`, so a wrong section number cannot creep back in. The tour and the
tests walk :data:`SECTIONS` in book order, each section's module (:data:`MODULES`) and then any
further ones (:data:`MORE`; :func:`modules_of` gives both). This module, :mod:`chapters.tour` and
:mod:`chapters.bench` are the only ones that name chapter modules.
"""

from __future__ import annotations

import dataclasses

from chapters.common.sections import BY_NUMBER as _TITLES
from chapters.common.sections import (  # noqa: F401  (the book's API, re-exported)
    CHAPTERS,
    Section,
    reference,
    section,
)

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

# section number -> the module that holds the pattern's code
MODULES: dict[str, str] = {
    "2.2": "chapters.common.data",
    "2.3": CH2 + "batching",
    "2.4": CH2 + "sharding",
    "2.5": CH2 + "caching",
    "3.2": CH3 + "parameter_server",
    "3.3": CH3 + "collective_communication",
    "3.4": CH3 + "fault_tolerance",
    "4.1": CH4 + "server",
    "4.2": CH4 + "replicated_services",
    "4.3": CH4 + "sharded_services",
    "4.4": CH4 + "event_driven",
    "5.2": CH5 + "fan_in_fan_out",
    "5.3": CH5 + "sync_async",
    "5.4": CH5 + "memoization",
    "6.2": "chapters.ch06_operations.scheduling",
    "6.3": "chapters.ch06_operations.metadata",
    "7.1": "chapters.project",  # the design (7.2-7.5): the project's README, section by section
    "8.1": CH8 + "tensorflow_basics",
    "8.2": CH8 + "kubernetes_basics",
    "8.3": CH8 + "kubeflow_tfjob",
    "8.4": CH8 + "argo_basics",
    "9.1": "chapters.project.data_pipeline",
    "9.2": "chapters.project.model_training",
    "9.3": "chapters.project.inference",
    "9.4": "chapters.project.workflow",
}

# section number -> more modules that show it, after the one above (the tour runs each in turn)
MORE: dict[str, tuple[str, ...]] = {
    "3.4": (CH3 + "elasticity",),  # fault_tolerance shows a lost worker; this, a changing count
}

SECTIONS = tuple(dataclasses.replace(s, module=MODULES.get(n)) for n, s in _TITLES.items())
BY_NUMBER = {s.number: s for s in SECTIONS}


def modules_of(number: str) -> tuple[str, ...]:
    """Every module that shows section ``number``: its :data:`MODULES` entry, then :data:`MORE`."""
    main = MODULES.get(number)
    return ((main,) if main else ()) + MORE.get(number, ())


def section_of(module: str) -> Section:
    """The section whose pattern lives in ``module`` (``chapters.ch02_data_ingestion.batching``)."""
    for s in SECTIONS:
        if module in modules_of(s.number):
            return s
    raise KeyError(f"{module} is not in the book table (chapters/book.py)")
