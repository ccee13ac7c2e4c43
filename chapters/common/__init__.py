"""Book content that two or more chapters share (the library they run on is :mod:`dmlp`).

* :mod:`~chapters.common.data`: Fashion-MNIST (TFDS or synthetic) and its TFRecord files (ch02);
* :mod:`~chapters.common.models`: the book's three Keras models (ch03, ch07, ch09);
* :mod:`~chapters.common.export`: the serving signature every server loads (ch03, ch04, ch09);
* :mod:`~chapters.common.flags`: the dataset and training flags (ch02, ch03, ch05, ch09);
* :mod:`~chapters.common.distributed`: what the distributed-training examples share (ch03, ch09);
* :mod:`~chapters.common.sections`: the book's section titles, cited at the end of every example.

Importing this package sets ``TF_USE_LEGACY_KERAS=1`` before anything can import TensorFlow, and
makes TensorFlow's start-up quiet unless ``--verbose`` (see :mod:`dmlp.example.tf_setup`).
"""

from chapters.common import sections
from dmlp.example import (
    report,
    tf_setup,  # noqa: F401  (sets the environment first)
)

report.cite_with(sections.reference)
