"""Chapter 3, section 3.3 "Collective communication pattern" (all-reduce).

Claim: with ``MultiWorkerMirroredStrategy`` every worker holds a full replica of the model, each
trains on its own shard of every global batch, and an all-reduce sums the gradients so that all
replicas apply the same update: after training, every worker's weights are bit-for-bit identical.

Without ``TF_CONFIG`` (on a laptop) this module is the launcher: it starts ``--num-workers``
processes of itself on free localhost ports, each with its own ``TF_CONFIG``, waits for them, and
prints each worker's weights digest side by side. With ``TF_CONFIG`` set (as in the TFJob of
``manifests/ch03/collective-communication.yaml``) it is one worker: it trains, the chief writes the
checkpoint and the SavedModel under ``--out``, the other workers write to temporary directories.

Run: python -m chapters.ch03_distributed_training.collective_communication [--num-workers 2]
     [--model-type cnn] [--num-epochs 2] [--steps-per-epoch 20]
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from chapters.ch03_distributed_training.training import (
    TrainConfig,
    add_training_flags,
    train_collective,
)
from chapters.common import cli
from chapters.common.cluster import LocalCluster, cluster_spec, task_from_env

MODULE = "chapters.ch03_distributed_training.collective_communication"


def read_reports(out: str | Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(Path(out, "reports").glob("*.json"))}


def evaluate_saved_model(
    path: str | Path, dataset: str, data_dir: str | None, seed: int, num_examples: int = 500
) -> float:
    """Load the chief's SavedModel and return its accuracy on the first test examples."""
    import numpy as np
    import tensorflow as tf

    from chapters.common.data import load_fashion_mnist

    model = tf.keras.models.load_model(str(path))
    test = load_fashion_mnist("test", dataset, data_dir, num_examples, seed)
    logits = model.predict(test.images.astype("float32") / 255.0, verbose=0)
    return float(np.mean(np.argmax(logits, axis=1) == test.labels))


def main(
    num_workers: int = 2,
    model_type: str = "cnn",
    num_epochs: int = 2,
    steps_per_epoch: int = 20,
    batch_size: int = 32,
    dataset: str = "auto",
    data_dir: str | None = None,
    num_examples: int | None = 4000,
    out: str = "out/ch03_collective",
    timeout: float = 600,
    seed: int = 42,
    verbose: bool = False,
    backup_dir: str | None = None,
) -> dict:
    """Launch (or, under ``TF_CONFIG``, be one worker of) an all-reduce training job."""
    config = TrainConfig.pick(locals())
    if task_from_env() is not None:
        return train_collective(config, backup_dir)

    log = cli.Progress("ch03.collective")
    shutil.rmtree(Path(out, "reports"), ignore_errors=True)
    spec = cluster_spec(num_workers=num_workers)
    log(
        f"starting {num_workers} workers on {', '.join(spec['worker'])} "
        f"(global batch = {batch_size} x {num_workers})"
    )
    with LocalCluster(spec, MODULE, config.argv(backup_dir=backup_dir)) as cluster:
        cluster.wait(timeout)
    reports = read_reports(out)
    if len(reports) != num_workers:
        raise RuntimeError(f"expected {num_workers} worker reports, found {sorted(reports)}")
    chief = next(r for r in reports.values() if r["chief"])
    accuracy = evaluate_saved_model(chief["saved_model"], dataset, data_dir, seed)
    digests = {r["weights_sha256"] for r in reports.values()}
    rows = [
        (
            name,
            "yes" if r["chief"] else "",
            r["losses"][0],
            r["losses"][-1],
            r["weights_sha256"],
            r["weights_norm"],
            r["examples_per_s"],
        )
        for name, r in reports.items()
    ]
    cli.print_table(
        rows,
        [
            "task",
            "chief",
            "first loss",
            "final loss",
            "weights sha256",
            "weights norm",
            "examples/s",
        ],
        title=f"All-reduce across {num_workers} workers, model {model_type}, "
        f"global batch {chief['global_batch_size']}",
    )
    print(
        f"Claim: every replica ends with identical weights: "
        f"{'yes' if len(digests) == 1 else 'NO'} ({len(digests)} distinct digest(s)); "
        f"the chief's SavedModel ({chief['saved_model']}) scores {accuracy:.1%} on 500 "
        "test images."
    )
    return {
        "reports": reports,
        "identical": len(digests) == 1,
        "accuracy": accuracy,
        "saved_model": chief["saved_model"],
    }


def build_parser():
    p = cli.parser(__doc__, model=True, out="out/ch03_collective")
    p.set_defaults(num_examples=4000)
    p.add_argument(
        "--num-workers",
        type=cli.positive_int,
        default=2,
        help="worker processes to launch locally (default: 2)",
    )
    add_training_flags(
        p,
        num_epochs=2,
        steps_per_epoch=20,
        batch_help="per-replica batch size; global = this x workers",
    )
    p.add_argument(
        "--backup-dir",
        default=None,
        help="BackupAndRestore directory: resume from it after a failure "
        "(see fault_tolerance.py; default: no backups)",
    )
    return p


if __name__ == "__main__":
    raise SystemExit(cli.run(main, build_parser()))
