"""``make tour``: the page shows every pattern with its claim and pictures, in a real browser."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from chapters import book, tour
from dmlp.example import cli


def fake_stops(tmp_path: Path) -> list[tour.Stop]:
    picture = cli.save_plot(lambda ax: ax.plot([0, 1, 2], [3, 1, 2]), tmp_path / "a" / "plot.png")
    held = tour.Stop(
        "ch02_data_ingestion.sharding",
        "Chapter 2, section 2.4 Sharding pattern",
        seconds=3.0,
        exit_code=0,
        claims=[
            {
                "text": "shards are disjoint",
                "held": True,
                "figures": {"workers": 3, "speedup": 65.08711964821775, "examples": 60000},
            }
        ],
        pictures=[str(picture)],
        sections=["2.4"],
    )
    failed = tour.Stop(
        "ch02_data_ingestion.caching",
        "Chapter 2, section 2.5 Caching pattern",
        seconds=1.0,
        exit_code=1,
        last_lines=["error: something <broke>"],
    )
    return [held, failed]


def test_page_has_a_section_per_example_with_claims_and_pictures(tmp_path):
    stops = fake_stops(tmp_path)
    assert stops[0].held and not stops[1].held
    page = tour.render(stops, tmp_path).read_text()
    assert page.count("<section ") == 2
    assert "1 of 2 claims held" in page
    assert 'src="a/plot.png"' in page
    assert "no claim reported" in page and "&lt;broke&gt;" in page  # escaped, shown
    # figures rounded as the summary tables round them
    assert "speedup = 65.1<" in page and "65.087" not in page and "examples = 60,000<" in page


def test_the_tour_walks_the_book_table_in_order_and_every_module_exists():
    names = tour.examples()
    assert names, "the book table names no module"
    for name in names:
        assert importlib.util.find_spec(f"chapters.{name}") is not None, name
    defined = {v: k for k, v in tour.RUN_INSTEAD.items()}
    order = [book.section_of(f"chapters.{defined.get(n, n)}").number for n in names]
    assert order == sorted(order, key=lambda n: tuple(map(int, n.split("."))))
    assert not set(names) & set(tour.NOT_ON_TOUR)
    # a section's further modules follow its own: 3.4's elasticity right after fault_tolerance
    ft = names.index("ch03_distributed_training.fault_tolerance")
    assert names[ft + 1] == "ch03_distributed_training.elasticity"


def _browser():
    chromium = shutil.which("chromium") or shutil.which("google-chrome") or shutil.which("chrome")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.skip(
            "no Chromium/Chrome with chromedriver on PATH (apt-get install chromium "
            "chromium-driver); the page is still checked as text above"
        )
    webdriver = pytest.importorskip("selenium.webdriver")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--window-size=1200,1600",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=webdriver.ChromeService(driver))


def one_stop_per_example(tmp_path: Path) -> list[tour.Stop]:
    """A held claim and a picture for every example on the tour (what a full run reports)."""
    stops = []
    for i, module in enumerate(tour.examples()):
        png = cli.save_plot(lambda ax, i=i: ax.plot([0, 1], [0, i]), tmp_path / module / "p.png")
        claim = {"text": f"claim of {module}", "held": True, "figures": {"i": i}}
        stops.append(tour.Stop(module, module, 1.0, 0, [claim], [str(png)], []))
    return stops


def test_page_renders_in_a_real_browser_with_every_image_loaded(tmp_path):
    stops = one_stop_per_example(tmp_path)
    page = tour.render(stops, tmp_path)
    browser = _browser()
    try:
        browser.get(page.as_uri())
        sections = browser.execute_script(
            "return [...document.querySelectorAll('section')].map(s => s.dataset.module)"
        )
        assert sections == list(tour.examples())
        images = browser.execute_script(
            "return [...document.images].map(i => [i.complete, i.naturalWidth])"
        )
        assert len(images) == len(stops)
        assert all(done and width > 0 for done, width in images), images
        shot = tmp_path / "tour.png"
        assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 1000
    finally:
        browser.quit()


def test_titles_come_from_docstrings_in_plain_words():
    assert tour.title_of("project.demo").startswith("Chapters 7 and 9")
    assert "``" not in tour.title_of("project.demo")
    assert tour.title_of("ch02_data_ingestion.sharding").startswith("Chapter 2, section 2.4")
