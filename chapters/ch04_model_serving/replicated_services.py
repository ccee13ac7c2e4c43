"""Chapter 4, section 4.2 "Replicated services pattern".

Claim: identical, stateless replicas of the model server behind a load balancer share the
requests, and when a replica dies the balancer routes around it: no request is lost.

The example starts ``--num-replicas`` server processes (the program a Deployment's pods run),
puts the round-robin balancer below in front (in the cluster: a Service over ready pods), and
drives a bounded load (``--num-requests`` requests, ``--concurrency`` in flight, to 127.0.0.1
only) through one replica, then through all of them. Then it SIGKILLs one replica a third of
the way into a run and counts the requests that still succeed. It draws the latency of every
request over time (OUT/ch04_replicated_latency.png).

Run: python -m chapters.ch04_model_serving.replicated_services [--num-replicas 2]
     [--num-requests 300] [--concurrency 8] [--batch-size 8]
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
from pathlib import Path

import requests

from chapters.ch04_model_serving.inference import to_instances
from chapters.ch04_model_serving.loadtest import LoadResult, drive
from chapters.ch04_model_serving.replicas import ServerReplicas, is_ready
from chapters.ch04_model_serving.served import ModelSettings
from chapters.common.data import load_fashion_mnist
from dmlp.example import cli
from dmlp.example.report import finish
from dmlp.example.settings import option


class NoHealthyReplica(RuntimeError):
    pass


class RoundRobinBalancer:
    """Round-robin over ``replicas`` (name -> (predict URL, ready URL)), skipping unhealthy ones.

    A background thread asks each replica's readiness URL every ``check_interval`` seconds (a
    Service's readiness probe); a request that cannot connect marks its replica down and is
    sent to the next one, so losing a replica loses no request.
    """

    def __init__(self, replicas: dict[str, tuple[str, str]], check_interval: float = 0.25):
        self.replicas = dict(replicas)
        self.healthy = set(self.replicas)
        self.failovers = 0
        self._order = itertools.cycle(sorted(self.replicas))
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._interval = check_interval
        self._checker = threading.Thread(target=self._check_loop, daemon=True)

    def post(self, body: dict, session: requests.Session, timeout: float = 30):
        """Send to the next healthy replica; on a connection failure mark it down and retry."""
        tried: set[str] = set()
        while True:
            name = self._next(tried)
            try:
                return name, session.post(self.replicas[name][0], json=body, timeout=timeout)
            except requests.ConnectionError:
                with self._lock:
                    self.healthy.discard(name)
                    self.failovers += 1
                tried.add(name)

    def sender(self, bodies: list[dict]):
        """A ``send`` for :func:`loadtest.drive`: request i carries ``bodies[i % len(bodies)]``."""
        return lambda session, i: self.post(bodies[i % len(bodies)], session)

    def _next(self, exclude: set[str]) -> str:
        with self._lock:
            for _ in range(len(self.replicas)):
                name = next(self._order)
                if name in self.healthy and name not in exclude:
                    return name
        raise NoHealthyReplica(f"no healthy replica left (tried {sorted(exclude)})")

    def _check_loop(self) -> None:
        while not self._stop.wait(self._interval):
            for name, (_, ready_url) in self.replicas.items():
                ok = is_ready(ready_url, timeout=self._interval)
                with self._lock:
                    (self.healthy.add if ok else self.healthy.discard)(name)

    def __enter__(self) -> RoundRobinBalancer:
        self._checker.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._checker.join(timeout=5)


# ---------------------------------------------------------------------------- the example


@dataclasses.dataclass(frozen=True)
class Settings(ModelSettings):
    num_replicas: int = option(2, "model server processes behind the balancer", minimum=2)
    num_requests: int = option(300, "requests in each run", minimum=1)
    concurrency: int = option(8, "requests in flight at once", minimum=1)
    batch_size: int = option(8, "images per request", minimum=1)
    no_kill: bool = option(False, "skip the run that kills a replica")


@dataclasses.dataclass
class Result:
    runs: dict[str, LoadResult]  # "1 replica", "N replicas", and "killed" unless --no-kill
    failovers: int  # requests the balancer re-sent after a replica refused the connection
    lost: int | None  # requests that failed in the killed run (the claim: 0)
    plot: Path

    @property
    def claim_holds(self) -> bool:
        """With a replica killed mid-load, no request was lost."""
        return self.lost == 0


def main(settings: Settings) -> Result:
    log = cli.Progress("ch04.replicated")
    path = settings.model(log)
    n = settings.batch_size
    test = load_fashion_mnist("test", settings.dataset, settings.data_dir, n * 8, settings.seed)
    bodies = [{"instances": to_instances(test.images[i : i + n])} for i in range(0, n * 8, n)]
    runs: dict[str, LoadResult] = {}
    failovers, kill_at = 0, settings.num_requests // 3

    def load(replicas: ServerReplicas, names: list[str], label: str, kill: str | None = None):
        chosen = {name: (replicas.predict_url(name), replicas.ready_url(name)) for name in names}

        def progress(done: int) -> None:
            if kill and done == kill_at:
                log(f"SIGKILL {kill} after {done} requests")
                threading.Thread(target=replicas.kill, args=(kill,)).start()
            elif done % max(1, settings.num_requests // 4) == 0:
                log(f"{label}: {done}/{settings.num_requests} requests")

        with RoundRobinBalancer(chosen) as balancer:
            runs[label] = drive(
                balancer.sender(bodies), settings.num_requests, settings.concurrency, progress
            )
        run = runs[label]
        log(
            f"{label}: {run.ok} ok, {len(run.errors)} failed, {run.rps:.0f} req/s, p50 "
            f"{run.percentile(50):.1f} ms, p99 {run.percentile(99):.1f} ms, "
            f"served by {dict(sorted(run.served_by.items()))}"
        )
        return balancer.failovers

    log(f"starting {settings.num_replicas} replicas of the model server")
    with ServerReplicas(settings.num_replicas, str(path), echo=settings.verbose) as replicas:
        replicas.wait_ready(log=log)
        log("all replicas ready: " + ", ".join(replicas.urls.values()))
        load(replicas, replicas.names[:1], "1 replica")
        load(replicas, replicas.names, f"{settings.num_replicas} replicas")
        if not settings.no_kill:
            failovers = load(replicas, replicas.names, "killed", kill=replicas.names[-1])
    lost = None if settings.no_kill else len(runs["killed"].errors)
    plot = draw_latency(runs, Path(settings.out) / "ch04_replicated_latency.png", kill_at)
    report(settings, runs, failovers, lost, plot)
    return Result(runs, failovers, lost, plot)


def report(settings: Settings, runs: dict, failovers: int, lost: int | None, plot: Path) -> None:
    rows = [
        (label, run.ok, len(run.errors), run.rps, run.percentile(50), run.percentile(99),
         " ".join(f"{k}:{v}" for k, v in sorted(run.served_by.items())))
        for label, run in runs.items()
    ]  # fmt: skip
    cli.print_table(
        rows,
        ["run", "ok", "failed", "req/s", "p50 ms", "p99 ms", "served by"],
        title=f"Replicated services: {settings.num_requests} requests of {settings.batch_size} "
        f"images, {settings.concurrency} in flight",
    )
    survived = None  # the claim, when a replica was killed
    if lost is not None:
        survived = (
            f"with a replica killed mid-load, {runs['killed'].ok} of {settings.num_requests} "
            f"requests still succeeded ({lost} lost; the balancer re-sent {failovers} to the "
            "survivor)."
        )
    finish(
        "4.2",
        survived,
        lost == 0,
        pictures=[plot],
        wrote=f"{plot}" + ("" if settings.model_dir else f" (model: {settings.out}/model/1)"),
        lost=lost,
        failovers=failovers,
    )


def draw_latency(runs: dict[str, LoadResult], path: Path, kill_at: int) -> Path:
    def draw(ax) -> None:
        for label, run in runs.items():
            ax.plot([t for t, _ in run.timeline], run.latencies_ms, ".", ms=3, label=label)
        if "killed" in runs and len(runs["killed"].timeline) > kill_at:
            at = runs["killed"].timeline[kill_at][0]
            ax.axvline(at, color="red", linestyle="--", label="replica killed")
        ax.set_xlabel("seconds into the run")
        ax.set_ylabel("request latency (ms)")
        ax.legend()

    return cli.save_plot(draw, path, "Replicated services: latency of each request")


if __name__ == "__main__":
    raise SystemExit(cli.run(main, Settings))
