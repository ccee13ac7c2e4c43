"""dmlp.example.report: an example's closing lines come in one order, and the tour gets them."""

from __future__ import annotations

import json

import pytest

from dmlp.example import report


@pytest.fixture(autouse=True)
def plain_citations(monkeypatch):
    """Cite as the library does on its own (the book's titles are chapters' business)."""
    monkeypatch.setattr(report, "_reference", report._plain_reference)


def test_finish_prints_claim_pictures_section_then_what_was_written(capsys, tmp_path):
    made = report.finish(
        "2.3", "streams hold little", True, [tmp_path / "a.png", tmp_path / "b.png"],
        wrote="out/x.json", in_flight_mib=0.5,
    )  # fmt: skip
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "Claim: streams hold little",
        f"Picture: {tmp_path / 'a.png'}",
        f"Picture: {tmp_path / 'b.png'}",
        "Book: section 2.3.",
        "Wrote: out/x.json",
    ]
    assert made == report.Claim("streams hold little", True, {"in_flight_mib": 0.5})


def test_finish_without_a_claim_prints_no_claim_line(capsys):
    assert report.finish("2.5", held=True, figure=1) is None
    assert capsys.readouterr().out.splitlines() == ["Book: section 2.5."]


def test_a_claim_that_did_not_hold_says_so(capsys):
    report.finish("2.4", "shards are disjoint", False)
    assert capsys.readouterr().out.splitlines()[0] == (
        "Claim: shards are disjoint  [this run did NOT show it]"
    )


def test_the_summary_file_gathers_what_finish_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "_CLAIMS", [])
    monkeypatch.setattr(report, "_PICTURES", [])
    monkeypatch.setattr(report, "_SECTIONS", [])
    monkeypatch.setenv(report.SUMMARY_ENV, str(tmp_path / "summary.json"))
    report.finish("5.2", "steps overlap", True, [tmp_path / "t.png"], overlap=True)
    report.write_summary(0)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary == {
        "exit_code": 0,
        "claims": [{"text": "steps overlap", "held": True, "figures": {"overlap": True}}],
        "pictures": [str((tmp_path / "t.png").resolve())],
        "sections": ["5.2"],
    }
