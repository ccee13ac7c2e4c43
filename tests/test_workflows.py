"""The GitHub Actions workflows: the fast suite on the platforms readers use, the tour built on main
and published to GitHub Pages, every action on a major version that runs on Node 24, and the
schema checks `make lint` runs on the workflows and devcontainer.json (offline)."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))

# The major version of each action that runs on Node 24, read in its action.yml (`runs.using`) at
# the newest tag and in its release notes. actions/checkout v7.0.1, actions/setup-python v7.0.0,
# actions/upload-artifact v7.0.0, actions/deploy-pages v5.0.0: node24 (their majors before v6, v6,
# v6 and v5 ran node20). actions/upload-pages-artifact v5.0.0 is a composite action whose upload
# step is actions/upload-artifact v7.0.0 (its v4 used upload-artifact v4.6.2, node20).
# azure/setup-helm v5.0.0: "Update Node.js runtime from node20 to node24" (v4 ran node20); CI now
# installs Helm with scripts/install-tools.sh, so it is listed only for whoever brings it back.
NODE24 = {
    "actions/checkout": "v7",
    "actions/setup-python": "v7",
    "actions/upload-artifact": "v7",
    "actions/upload-pages-artifact": "v5",
    "actions/deploy-pages": "v5",
    "azure/setup-helm": "v5",
}


def load(name: str) -> dict:
    # PyYAML reads the key `on` as True (YAML 1.1); give it its name back.
    doc = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())
    doc["on"] = doc.pop(True)
    return doc


def uses(doc: dict) -> list[str]:
    return [s["uses"] for job in doc["jobs"].values() for s in job.get("steps", []) if "uses" in s]


def runs(job: dict) -> list[str]:
    return [step.get("run", "") for step in job["steps"]]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_on_its_node24_major(path):
    actions = uses(load(path.name))
    assert actions
    for action in actions:
        name, _, ref = action.partition("@")
        assert NODE24.get(name) == ref, (
            f"{path.name}: {action} is not on the major that runs on Node 24"
        )


def test_the_fast_suite_runs_on_linux_and_apple_silicon():
    fast = load("ci.yml")["jobs"]["fast"]
    entries = fast["strategy"]["matrix"]["include"]
    platforms = {(e["os"], e["python"]) for e in entries}
    assert platforms == {("ubuntu-latest", "3.11"), ("ubuntu-latest", "3.13"), ("macos-14", "3.12")}
    assert fast["strategy"]["fail-fast"] is False  # one platform's failure does not hide another's
    assert fast["runs-on"] == "${{ matrix.os }}"
    assert "make install && make test-fast" in runs(fast)
    setup = next(s for s in fast["steps"] if s.get("uses", "").startswith("actions/setup-python"))
    assert setup["with"]["python-version"] == "${{ matrix.python }}"
    # macos-14 and newer are Apple silicon (arm64); "-large" and "-intel" labels are x86_64.
    for os_label, _ in platforms:
        if os_label.startswith("macos"):
            assert int(os_label.split("-")[1]) >= 14 and not os_label.endswith(("large", "intel"))


def test_the_readme_shows_the_platform_matrix():
    readme = (ROOT / "README.md").read_text()
    for entry in load("ci.yml")["jobs"]["fast"]["strategy"]["matrix"]["include"]:
        row = rf"^\|[^\n]*`{re.escape(entry['os'])}`[^\n]*\|\s*{re.escape(entry['python'])}\s*\|"
        assert re.search(row, readme, re.M), entry


def test_the_tour_is_built_on_main_and_published_to_pages():
    tour = load("tour.yml")
    assert tour["on"]["push"]["branches"] == ["main"] and "workflow_dispatch" in tour["on"]
    assert "pull_request" not in tour["on"]
    assert tour["permissions"] == {"contents": "read"}
    assert tour["concurrency"]["cancel-in-progress"] is False  # never cancel a deployment
    build = tour["jobs"]["tour"]
    steps = build["steps"]
    commands = runs(build)
    assert commands.index("make install") < commands.index("make tour")
    artifact = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert artifact["with"]["path"] == "out/tour/"
    pages_upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-pages"))
    site = pages_upload["with"]["path"].rstrip("/")
    site_step = next(c for c in commands if f"{site}/" in c)
    assert "index.html" in site_step and "*.png" in site_step  # the page and its pictures
    assert steps.index(artifact) < steps.index(pages_upload)
    pages = tour["jobs"]["pages"]
    assert pages["needs"] == "tour"
    assert pages["permissions"] == {"pages": "write", "id-token": "write"}
    assert pages["environment"] == {
        "name": "github-pages",
        "url": "${{ steps.deployment.outputs.page_url }}",
    }
    [deploy] = pages["steps"]
    assert deploy["uses"].startswith("actions/deploy-pages@") and deploy["id"] == "deployment"


def test_the_readme_links_the_tour_page():
    readme = (ROOT / "README.md").read_text()
    assert "GitHub Pages" in readme and ".github/workflows/tour.yml" in readme
    assert "https://<owner>.github.io/<repository>/" in readme


def test_every_job_has_a_time_limit():
    for path in WORKFLOWS:
        for name, job in load(path.name)["jobs"].items():
            assert job.get("timeout-minutes"), f"{path.name}: job {name}"


def lint_commands() -> list[str]:
    """The check-jsonschema lines of `make lint`, as the Makefile writes them."""
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^lint:.*\n((?:\t.*\n)+)", makefile, re.M).group(1)
    variables = dict(re.findall(r"^([A-Z_]+) :?= (.*)$", makefile, re.M))
    lines = [line.strip() for line in recipe.splitlines() if "check-jsonschema" in line]

    def expand(match: re.Match) -> str:
        value = variables[match.group(1)]
        wildcard = re.fullmatch(r"\$\(wildcard (.+)\)", value)
        if wildcard:
            return " ".join(sorted(str(p.relative_to(ROOT)) for p in ROOT.glob(wildcard[1])))
        return value

    return [re.sub(r"\$\((?!BIN)([A-Z_]+)\)", expand, line) for line in lines]


def check_jsonschema() -> str:
    found = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    found = found or shutil.which("check-jsonschema")
    if found is None:
        pytest.skip("check-jsonschema not installed (in the dev extras: make install)")
    return found


def test_make_lint_checks_the_workflows_and_devcontainer_json():
    commands = lint_commands()
    checked = " ".join(commands)
    assert "--builtin-schema vendor.github-workflows" in checked  # shipped inside the package
    for path in [*WORKFLOWS, ROOT / ".devcontainer" / "devcontainer.json"]:
        assert str(path.relative_to(ROOT)) in checked, path
    binary = check_jsonschema()
    for command in commands:
        argv = [binary, *shlex.split(command)[1:]]
        proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, command + "\n" + proc.stdout + proc.stderr


def test_the_workflow_schema_catches_a_mistake(tmp_path):
    """The check has teeth: a step key GitHub does not know fails it."""
    binary = check_jsonschema()
    broken = tmp_path / "broken.yml"
    text = (ROOT / ".github" / "workflows" / "tour.yml").read_text()
    broken.write_text(text.replace("timeout-minutes: 10", "timeout-minute: 10"))
    proc = subprocess.run(
        [binary, "--builtin-schema", "vendor.github-workflows", str(broken)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode != 0 and "timeout-minute" in proc.stdout + proc.stderr
