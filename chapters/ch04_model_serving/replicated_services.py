"""Chapter 4, section 4.2 "Replicated services pattern".

Claim: several identical, stateless replicas of the model server behind a load balancer serve
more requests at once than one replica, and when a replica dies the balancer routes around it:
no request is lost.

The example starts ``--num-replicas`` server processes (the same program as the Deployment's
pods), puts a round-robin balancer with health checks in front (in the cluster: a Service), and
drives a bounded concurrent load (``--num-requests`` requests, ``--concurrency`` in flight, to
localhost only) first through one replica, then through all of them. Finally it kills one
replica in the middle of a run and counts the requests that still succeed.

Run: python -m chapters.ch04_model_serving.replicated_services [--num-replicas 2]
     [--num-requests 300] [--concurrency 8] [--batch-size 8]
"""

from __future__ import annotations

import threading

from chapters.ch04_model_serving.inference import to_instances
from chapters.ch04_model_serving.loadbalancer import RoundRobinBalancer, drive, via
from chapters.ch04_model_serving.replicas import ServerReplicas
from chapters.ch04_model_serving.server import add_model_dir_flag, ensure_model
from chapters.common import cli
from chapters.common.data import load_fashion_mnist


def main(
    num_replicas: int = 2,
    num_requests: int = 300,
    concurrency: int = 8,
    batch_size: int = 8,
    model_dir: str | None = None,
    kill: bool = True,
    dataset: str = "auto",
    data_dir: str | None = None,
    num_examples: int | None = None,
    out: str = "out/ch04",
    seed: int = 42,
    verbose: bool = False,
) -> dict:
    if num_replicas < 2 and kill:
        raise cli.UsageError(
            "--num-replicas must be at least 2 to survive a killed replica (or pass --no-kill)"
        )
    log = cli.Progress("ch04.replicated")
    path = ensure_model(model_dir, out, dataset, data_dir, seed=seed, log=log)
    test = load_fashion_mnist("test", dataset, data_dir, max(batch_size * 8, 64), seed)
    bodies = [
        {"instances": to_instances(test.images[i : i + batch_size])}
        for i in range(0, len(test) - batch_size + 1, batch_size)
    ]
    results: dict = {"num_replicas": num_replicas, "batch_size": batch_size}
    log(f"starting {num_replicas} replicas of the model server")
    with ServerReplicas(num_replicas, str(path), echo=verbose) as replicas:
        replicas.wait_ready()
        log("all replicas ready: " + ", ".join(replicas.urls.values()))
        endpoints = {n: (replicas.predict_url(n), replicas.ready_url(n)) for n in replicas.names}
        for label, chosen in (
            ("1 replica", replicas.names[:1]),
            (f"{num_replicas} replicas", replicas.names),
        ):
            with RoundRobinBalancer({n: endpoints[n] for n in chosen}) as balancer:
                run = drive(via(balancer, bodies), num_requests, concurrency)
            results[label] = run
            log(
                f"{label}: {run.ok}/{num_requests} ok, {run.rps:.0f} req/s, "
                f"p50 {run.percentile(50):.1f} ms, p99 {run.percentile(99):.1f} ms, "
                f"served by {dict(sorted(run.served_by.items()))}"
            )
        if kill:
            victim = replicas.names[-1]
            with RoundRobinBalancer(endpoints) as balancer:

                def progress(done: int) -> None:
                    if done == num_requests // 3:
                        log(f"SIGKILL {victim} after {done} requests")
                        threading.Thread(target=replicas.kill, args=(victim,)).start()

                run = drive(via(balancer, bodies), num_requests, concurrency, progress)
            results["killed"] = run
            results["failovers"] = balancer.failovers
            log(
                f"with {victim} killed mid-run: {run.ok}/{num_requests} ok, "
                f"{len(run.errors)} failed, {balancer.failovers} request(s) retried elsewhere"
            )
    rows = [
        (
            label,
            results[label].ok,
            len(results[label].errors),
            results[label].rps,
            results[label].percentile(50),
            results[label].percentile(99),
            " ".join(f"{k}:{v}" for k, v in sorted(results[label].served_by.items())),
        )
        for label in ("1 replica", f"{num_replicas} replicas", "killed")
        if label in results
    ]
    cli.print_table(
        rows,
        ["run", "ok", "failed", "req/s", "p50 ms", "p99 ms", "served by"],
        title=f"Replicated services: {num_requests} requests of {batch_size} images, "
        f"{concurrency} in flight",
    )
    if kill:
        print(
            f"Claim: with a replica killed mid-load, {results['killed'].ok} of {num_requests} "
            f"requests still succeeded ({len(results['killed'].errors)} lost)."
        )
    return results


def build_parser():
    p = cli.parser(__doc__, out="out/ch04")
    p.add_argument("--num-replicas", type=cli.positive_int, default=2, help="(default: 2)")
    p.add_argument("--num-requests", type=cli.positive_int, default=300, help="(default: 300)")
    p.add_argument(
        "--concurrency",
        type=cli.positive_int,
        default=8,
        help="requests in flight at once (default: 8)",
    )
    p.add_argument(
        "--batch-size", type=cli.positive_int, default=8, help="images per request (default: 8)"
    )
    add_model_dir_flag(p)
    p.add_argument(
        "--no-kill", dest="kill", action="store_false", help="skip the killed-replica run"
    )
    return p


if __name__ == "__main__":
    raise SystemExit(cli.run(main, build_parser()))
