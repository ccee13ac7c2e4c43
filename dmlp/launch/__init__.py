"""Processes on this machine: one supervisor (start, die with the parent, kill the group, free
ports), and the local TensorFlow cluster built on it (one process per task, ``TF_CONFIG`` each)."""
