"""Every module's docstring names the book section it illustrates, as the one table says."""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import pytest

from chapters import book

ROOT = Path(__file__).resolve().parents[1]
CITED = re.compile(r"section (\d+\.\d+)(?: \"([^\"]+)\")?")


def first_line(path: Path) -> str:
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def module_path(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    return Path(spec.origin) if spec is not None and spec.origin else None


SHOWN = [(s, m) for s in book.SECTIONS for m in book.modules_of(s.number)]


@pytest.mark.parametrize("section, module", SHOWN, ids=[f"{s.number}-{m}" for s, m in SHOWN])
def test_each_pattern_module_opens_with_its_section(section, module):
    path = module_path(module)
    assert path is not None and path.is_relative_to(ROOT / "chapters"), module
    line = first_line(path)
    expected = f'Chapter {section.chapter}, section {section.number} "{section.title}"'
    assert line.startswith(expected), f"{path.relative_to(ROOT)}: {line!r}, expected {expected!r}"


MODULES = sorted(ROOT.glob("chapters/ch*/**/*.py"))


def test_the_chapters_modules_are_found():
    assert len(MODULES) > 40, ROOT  # every chapter's modules, not an empty list


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_section_a_module_cites_is_in_the_table(path):
    for number, title in CITED.findall(first_line(path)):
        assert number in book.BY_NUMBER, f"{path.name} cites section {number}, not in the table"
        if title:
            assert title == book.section(number).title, f"{path.name}: {title!r}"


def test_a_section_may_have_more_modules_after_its_own():
    assert book.modules_of("3.4") == (
        "chapters.ch03_distributed_training.fault_tolerance",
        "chapters.ch03_distributed_training.elasticity",
    )
    assert book.section_of("chapters.ch03_distributed_training.elasticity").number == "3.4"
    assert book.modules_of("3.3") == (
        "chapters.ch03_distributed_training.collective_communication",
    )
    assert set(book.MORE) <= set(book.MODULES)  # more modules follow a section's own
    with pytest.raises(KeyError, match="not in the book table"):
        book.section_of("chapters.ch03_distributed_training.elasticity_report")


def test_table_is_in_book_order_and_names_real_chapters():
    numbers = [tuple(map(int, s.number.split("."))) for s in book.SECTIONS]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    assert {s.chapter for s in book.SECTIONS} <= set(book.CHAPTERS)
    assert book.reference("2.3") == (
        'Book: chapter 2 ("Data ingestion patterns"), section 2.3 "Batching pattern".'
    )
    with pytest.raises(KeyError, match="no section '2.9'"):
        book.section("2.9")


# A README table cell that names a section ("9.1 Data ingestion") or, in the first column of the
# top README's table, a chapter ("2 Data ingestion patterns"), spells it as the book does; a
# section's title may stop at its colon ("8.1 TensorFlow" for "TensorFlow: The machine ...").
READMES = [ROOT / "README.md", *sorted(ROOT.glob("chapters/**/README.md"))]
SECTION_CELL = re.compile(r"^(\d+\.\d+) (?!(?:GiB|MiB)$)([A-Z].*)$")  # "4.3 GiB" is a size
CHAPTER_CELL = re.compile(r"^(\d+) ([A-Z].*)$")


def table_cells(path: Path):
    for line in path.read_text().splitlines():
        if line.startswith("|") and not set(line) <= set("|- "):
            yield from (cell.strip() for cell in line.strip("|").split("|"))


@pytest.mark.parametrize("readme", READMES, ids=lambda p: str(p.relative_to(ROOT)))
def test_readme_tables_spell_sections_and_chapters_as_the_book(readme):
    for cell in table_cells(readme):
        for part in cell.split(", "):
            if match := SECTION_CELL.match(part):
                number, title = match.groups()
                full = book.section(number).title
                assert title in (full, full.split(":")[0]), f"{readme.name}: {part!r}"
            elif (match := CHAPTER_CELL.match(part)) and int(match.group(1)) in book.CHAPTERS:
                number, title = match.groups()
                assert title == book.CHAPTERS[int(number)], f"{readme.name}: {part!r}"


def test_the_table_has_the_books_spelling_of_chapters_7_and_9():
    assert book.CHAPTERS[7] == "Project overview and system architecture"
    assert book.section("2.2").title == "The Fashion-MNIST dataset"
    assert [book.section(f"7.{n}").title for n in range(1, 6)] == [
        "Project overview", "Data ingestion", "Model training", "Model serving",
        "End-to-end workflow",
    ]  # fmt: skip
    assert book.section("9.4").title == "The end-to-end workflow"
