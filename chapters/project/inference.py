"""Chapter 9, section 9.3 "Model serving": one model server, then replicated servers.

Claim: the selected model, served from TF Serving's layout (the highest version folder), answers
the sample images from one server and from replicas sharing the requests round-robin with the
same classes as the winner's SavedModel gives in process.

The servers are chapter 4's (``python -m chapters.ch04_model_serving.server``, the program a
Deployment's pods run) and its round-robin balancer; in the cluster the workflow's last step
creates a KServe InferenceService (TensorFlow runtime) over the same folder instead.

Run: python -m chapters.project.inference [--served-dir out/project/served/fashion-mnist]
     [--num-replicas 2] [--num-samples 8]
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import requests

from chapters.ch04_model_serving.client import predict
from chapters.ch04_model_serving.inference import to_instances
from chapters.ch04_model_serving.replicas import ServerReplicas
from chapters.ch04_model_serving.replicated_services import RoundRobinBalancer
from chapters.common.data import CLASS_NAMES, load_fashion_mnist
from chapters.project import config
from dmlp.example import cli, report
from dmlp.example.errors import UsageError
from dmlp.example.settings import option


def latest_version(base: Path) -> Path:
    """The version folder TF Serving would load: the highest number under ``base``."""
    versions = sorted((int(p.name), p) for p in base.glob("*") if p.name.isdigit())
    if not versions or not (versions[-1][1] / "saved_model.pb").is_file():
        raise UsageError(f"no served model under {base} (run model selection first)")
    return versions[-1][1]


def serve_and_query(version: Path, images: np.ndarray, num_replicas: int, verbose=False) -> dict:
    """Start ``num_replicas`` servers of ``version``; query one, then all of them round-robin."""
    log = cli.Progress("project.serve")
    log(f"starting {num_replicas} replicas of the model server for {version}")
    with ServerReplicas(num_replicas, str(version), echo=verbose) as replicas:
        replicas.wait_ready(timeout=240)
        start = time.perf_counter()
        single = predict(replicas.predict_url(replicas.names[0]), images)
        single_seconds = time.perf_counter() - start
        urls = {n: (replicas.predict_url(n), replicas.ready_url(n)) for n in replicas.names}
        replicated, served_by = [], []
        with RoundRobinBalancer(urls) as balancer, requests.Session() as session:
            for image in images:  # one request per image: the balancer spreads them
                name, response = balancer.post({"instances": to_instances(image[None])}, session)
                response.raise_for_status()
                replicated += response.json()["predictions"]
                served_by.append(name)
    return {
        "single": [p["class_id"] for p in single],
        "replicated": [p["class_id"] for p in replicated],
        "served_by": served_by,
        "single_seconds": single_seconds,
    }


def serve_report(out: str, served: str, num_replicas: int, num_samples: int, dataset: str,
                 seed: int, verbose: bool = False) -> dict:  # fmt: skip
    """The workflow's local serving step: query the servers, write reports/serving.json."""
    from chapters.common.export import load_serving_function

    version = latest_version(Path(served))
    test = load_fashion_mnist("test", dataset, None, num_samples, seed)
    answers = serve_and_query(version, test.images, num_replicas, verbose)
    in_process = load_serving_function(version)(test.images)["class_id"].tolist()
    summary = {
        "version": str(version),
        "labels": test.labels.tolist(),
        "in_process": in_process,
        **answers,
        "agree": answers["single"] == answers["replicated"] == in_process,
        "replicas_used": sorted(set(answers["served_by"])),
    }
    folder = config.reports_dir(out)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "serving.json").write_text(json.dumps(summary, indent=2))
    return summary


def print_samples(summary: dict) -> None:
    rows = [
        (i, CLASS_NAMES[label], CLASS_NAMES[got], "yes" if got == label else "no", by)
        for i, (label, got, by) in enumerate(
            zip(summary["labels"], summary["replicated"], summary["served_by"], strict=True)
        )
    ]
    cli.print_table(rows, ["sample", "label", "predicted", "right", "served by"],
                    f"Sample predictions from {summary['version']}")  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Settings(config.ProjectSettings):
    served_dir: str | None = option(None, "the served model's folder (default: OUT/served/...)")
    num_replicas: int = option(2, "model server processes", minimum=1)
    num_samples: int = option(8, "test images to send", minimum=1, maximum=256)


def main(settings: Settings) -> dict:
    served = settings.served_dir or str(config.served_dir(settings.out))
    summary = serve_report(settings.out, served, settings.num_replicas, settings.num_samples,
                           settings.dataset, settings.seed, settings.verbose)  # fmt: skip
    print_samples(summary)
    report.finish(
        "9.3",
        f"one server, {settings.num_replicas} replicas ({', '.join(summary['replicas_used'])}) "
        f"and the SavedModel in process give the same classes: "
        f"{'yes' if summary['agree'] else 'NO'}",
        summary["agree"],
        wrote=str(config.reports_dir(settings.out) / "serving.json"),
        replicas_used=summary["replicas_used"],
    )
    return summary


if __name__ == "__main__":
    raise SystemExit(cli.run(main, Settings))
