"""Helpers shared by two or more chapters: TF set-up, data, models, CLI, cluster launcher, bench.

Importing this package sets ``TF_USE_LEGACY_KERAS=1`` before anything can import TensorFlow, and
makes TensorFlow's start-up quiet unless ``--verbose`` (see :mod:`chapters.common.tf_setup`).
"""

from chapters.common import tf_setup  # noqa: F401  (sets the environment first)
