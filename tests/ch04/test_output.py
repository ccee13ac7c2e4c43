"""What a reader sees: each example prints its own lines, ends with its claim, book section and
what it wrote, and writes only under --out."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import run_module

NOISE = re.compile(r"absl|cuda|Deprecat|Traceback|kserve|uvicorn| INFO|^[EWI]0000")


def check(proc, out: Path, section: str, written: list[str]) -> list[str]:
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = (proc.stdout + proc.stderr).splitlines()  # TF's start-up too: tf_setup keeps it out
    assert not [line for line in lines if NOISE.search(line)], lines
    ending = proc.stdout.strip().splitlines()[-4:]  # claim, picture, what it wrote, section
    assert any(line.startswith("Claim: ") for line in ending), ending
    assert ending[-1].startswith("Book: chapter 4") and section in ending[-1], ending
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert files == written, files
    return lines


def scratch_dir(tmp_path: Path) -> dict[str, str]:
    """A TMPDIR of the test's own (the example and its servers inherit it): it must end empty."""
    (tmp_path / "tmp").mkdir()
    return {"TMPDIR": str(tmp_path / "tmp")}


def test_event_driven_output(tmp_path):
    out = tmp_path / "out"
    proc = run_module(
        "chapters.ch04_model_serving.event_driven",
        *("--duration", "2", "--spike-start", "0.5", "--spike-end", "1", "--tail", "0.5"),
        *("--images-per-event", "0", "--io-ms", "20", "--out", str(out)),
        timeout=180,
        env=scratch_dir(tmp_path),
    )
    check(proc, out, "4.4", ["ch04_event_driven.png"])
    assert list((tmp_path / "tmp").iterdir()) == [], "temporary files left behind"
    assert f"Wrote: {out / 'ch04_event_driven.png'}" in proc.stdout


@pytest.mark.slow
def test_sharded_services_output(tmp_path, model_dir):
    out = tmp_path / "out"
    proc = run_module(
        "chapters.ch04_model_serving.sharded_services",
        *("--num-shards", "2", "--request-size", "40", "--max-instances", "16"),
        *("--model-dir", model_dir, "--dataset", "synthetic", "--out", str(out)),
        timeout=600,
        env=scratch_dir(tmp_path),
    )
    lines = check(proc, out, "4.3", [])
    assert list((tmp_path / "tmp").iterdir()) == [], "temporary files left behind"
    assert "Claim: the merged sharded answer equals the unsharded one: yes" in "\n".join(lines)
