"""Chapter 3, section 3.4 "Elasticity and fault-tolerance pattern": workers that come and go.

Claim: a job whose number of workers changes while it trains keeps every finished step.

* Parameter server (``coordinator``): TensorFlow's ``ClusterCoordinator`` sends each scheduled
  step to whichever worker is free. A worker leaves (SIGKILL): its unfinished steps go back in
  the queue and the others run them, so training never stops. The worker comes back at the same
  address: the coordinator rebuilds its dataset and sends it steps again.
* All-reduce (``all_reduce_worker``): the group of a running ``MultiWorkerMirroredStrategy`` is
  fixed, so the job is stopped and started again with another number of workers. Its
  ``BackupAndRestore`` backup resumes it at the first unfinished epoch, and each run's workers
  split the data between them (``input_context``: one shard per worker of *this* run).

Run: python -m chapters.ch03_distributed_training.elasticity [--part both|ps|all-reduce]
     [--num-workers 2] [--new-num-workers 3]
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from dataclasses import dataclass

from chapters.ch03_distributed_training import elasticity_report as reporting
from chapters.ch03_distributed_training.parameter_server import ps_strategy, serve
from chapters.common import distributed as dist
from chapters.common.data import load_fashion_mnist, normalize
from chapters.common.models import build_model
from dmlp.example import cli
from dmlp.example.errors import UsageError
from dmlp.example.settings import option
from dmlp.example.tf_setup import tf as import_tf

MODULE = "chapters.ch03_distributed_training.elasticity"


def coordinator(settings: Settings, task: dist.Task) -> dict:
    """Parameter server: schedule rounds of steps on whichever workers are there."""
    tf = import_tf(settings.verbose, settings.seed)
    strategy = ps_strategy(tf, task)  # the cluster TF_CONFIG names, fixed from here on
    num_workers = len(task[2]["worker"])  # any of them may leave and come back
    coord = tf.distribute.experimental.coordinator.ClusterCoordinator(strategy)
    split = load_fashion_mnist(
        "train", settings.dataset, settings.data_dir, settings.num_examples, settings.seed
    )

    def dataset_fn(_):  # built on every worker, and built again on a worker that comes back
        data = split.to_dataset().shuffle(len(split)).repeat().batch(settings.batch_size)
        return data.map(normalize).prefetch(2)

    @tf.function
    def per_worker_dataset():
        return strategy.distribute_datasets_from_function(dataset_fn)

    iterator = iter(coord.create_per_worker_dataset(per_worker_dataset))
    with strategy.scope():  # the variables live on the ps task
        model = build_model(settings.model_type, compile=False)
        optimizer = tf.keras.optimizers.legacy.Adam(1e-3)
    loss_of = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="none")

    @tf.function
    def step(iterator):  # runs on one worker; returns the loss and which worker ran it
        def replica_step(images, labels):
            with tf.GradientTape() as tape:
                loss = tf.nn.compute_average_loss(loss_of(labels, model(images, training=True)))
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
            return loss

        loss = strategy.run(replica_step, args=next(iterator))
        worker = tf.distribute.coordinator.experimental_get_current_worker_index()
        return strategy.reduce("SUM", loss, axis=None), worker

    stop = threading.Event()  # SIGTERM (a deleted pod, or the launcher): end after this round
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    rounds = []
    while len(rounds) < settings.num_rounds and not stop.is_set():
        start = time.time()
        steps = [coord.schedule(step, args=(iterator,)) for _ in range(settings.steps_per_epoch)]
        coord.join()  # every scheduled step has run, on some worker
        done = [step.fetch() for step in steps]
        by_worker = [sum(int(w) == i for _, w in done) for i in range(num_workers)]
        loss = sum(float(loss) for loss, _ in done) / len(done)
        rounds.append({"start": start, "end": time.time(), "by_worker": by_worker, "loss": loss})
        print(f"ROUND {len(rounds) - 1}: steps by worker {by_worker}, loss {loss:.3f}", flush=True)
    applied = int(optimizer.iterations.numpy())  # updates the ps task received
    scheduled = len(rounds) * settings.steps_per_epoch
    report = {"rounds": rounds, "steps_scheduled": scheduled, "optimizer_steps": applied}
    return dist.write_report(settings.out, "chief-0", report)


def all_reduce_worker(settings: Settings, task: dist.Task) -> None:
    """All-reduce: one worker of this run; resumes from the backup a previous run left."""
    tf = import_tf(settings.verbose, settings.seed)
    strategy = tf.distribute.MultiWorkerMirroredStrategy()  # its group: this run's TF_CONFIG
    global_batch = settings.batch_size * strategy.num_replicas_in_sync
    split = load_fashion_mnist(
        "train", settings.dataset, settings.data_dir, settings.num_examples, settings.seed
    )
    name = f"{task[0]}-{task[1]}"

    def dataset_fn(context):  # fit calls it on every worker of this run
        shard = split.to_dataset(with_ids=True).shard(
            context.num_input_pipelines, context.input_pipeline_id
        )
        ids = [int(i) for i in shard.map(lambda i, image, label: i).as_numpy_iterator()]
        shards = {"workers": context.num_input_pipelines, "examples": len(split), "ids": ids}
        dist.write_report(settings.out, name, shards)  # what this worker trains on
        batch = context.get_per_replica_batch_size(global_batch)
        data = shard.shuffle(len(ids)).repeat().batch(batch)
        return data.map(lambda i, image, label: normalize(image, label)).prefetch(2)

    with strategy.scope():
        model = build_model(settings.model_type)
    backup = tf.keras.callbacks.BackupAndRestore(backup_dir=settings.backup_dir)
    model.fit(
        tf.keras.utils.experimental.DatasetCreator(dataset_fn),
        epochs=settings.num_epochs,
        steps_per_epoch=settings.steps_per_epoch,
        callbacks=[backup, dist.epoch_log()],  # the backup first: EPOCH_END follows a backup
        verbose=0,
    )


@dataclass(frozen=True)
class Settings(dist.ClusterSettings):
    out: str = option("out/ch03_elasticity")
    num_examples: int | None = option(2000)
    steps_per_epoch: int = option(10)
    part: str = option("both", "which strategy to show", choices=("both", "ps", "all-reduce"))
    num_rounds: int = option(
        500, "parameter server: rounds of --steps-per-epoch steps at most (or until SIGTERM)"
    )
    leave_at_round: int = option(5, "parameter server: the last worker leaves after this round")
    return_at_round: int = option(6, "parameter server: it is started again after this round")
    rounds_back: int = option(
        10, "parameter server: stop the job once the worker is back for this many rounds", minimum=1
    )
    num_epochs: int = option(5)
    stop_at_epoch: int = option(2, "all-reduce: stop the job when this epoch begins", minimum=1)
    new_num_workers: int = option(3, "all-reduce: workers of the restarted job", minimum=1)
    backup_dir: str | None = option(None, "all-reduce: the BackupAndRestore folder (a task's)")

    def check(self) -> None:
        if self.num_workers < 2:
            raise UsageError("--num-workers must be at least 2: one leaves, one carries on")
        if not 0 <= self.leave_at_round <= self.return_at_round < self.num_rounds - 1:
            raise UsageError(
                "need 0 <= --leave-at-round <= --return-at-round < --num-rounds - 1, got "
                f"{self.leave_at_round}, {self.return_at_round}, {self.num_rounds}"
            )
        if self.stop_at_epoch >= self.num_epochs:
            raise UsageError(f"--stop-at-epoch must be below --num-epochs ({self.num_epochs})")
        if self.new_num_workers == self.num_workers:
            raise UsageError("--new-num-workers must differ from --num-workers")


def task(settings: Settings, me: dist.Task) -> None:
    """One task of either job: the launcher passes --part ps or --part all-reduce."""
    if settings.part == "all-reduce":
        return all_reduce_worker(settings, me)
    if me[0] != "chief":
        return serve(me)  # ps and workers serve until they are stopped (or killed)
    coordinator(settings, me)
    sys.stdout.flush()
    os._exit(0)  # the coordinator's gRPC threads can hang a normal interpreter exit


def launch(settings: Settings) -> reporting.Result:
    log = cli.Progress("ch03.elasticity")
    settings = dist.resolve_dataset(settings)
    ps = reporting.run_ps(settings, MODULE, log) if settings.part != "all-reduce" else None
    ar = reporting.run_all_reduce(settings, MODULE, log) if settings.part != "ps" else None
    return reporting.summarise(settings, ps, ar)


def main(settings: Settings) -> reporting.Result | None:
    return dist.launch_or_run(settings, task, launch)


if __name__ == "__main__":
    raise SystemExit(cli.run(main, Settings))
