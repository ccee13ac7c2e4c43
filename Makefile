# dmlp: companion code for "Distributed Machine Learning Patterns". `make help` lists targets.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
PYTEST_ARGS ?=
WORKFLOWS := $(wildcard .github/workflows/*.yml)
DEVCONTAINER_SCHEMA := manifests/schemas/devcontainer/devContainer.base.schema.json

.DEFAULT_GOAL := help
.PHONY: help install test test-fast test-kind lint format bench tour demo validate kind-up kind-down deploy smoke clean

help: ## list every target
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

install: $(PY) ## create .venv and install the project with its dev extras
	$(PY) -m pip install --quiet -e '.[dev]'
	@$(PY) -c "import dmlp.example.tf_setup, tensorflow as tf, tf_keras; print('installed: TensorFlow', tf.__version__, '+ tf-keras', tf_keras.__version__)"

test: ## run the whole test suite (kind tests skip without a cluster)
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: ## the suite without the multi-process TensorFlow runs
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

test-kind: ## the end-to-end suite against a kind cluster (see scripts/)
	$(PY) -m pytest -m kind $(PYTEST_ARGS)

lint: ## ruff; the CI workflows and devcontainer.json against their schemas (offline)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows $(WORKFLOWS)
	$(BIN)/check-jsonschema --builtin-schema custom.github-workflows-require-timeout $(WORKFLOWS)
	$(BIN)/check-jsonschema --schemafile $(DEVCONTAINER_SCHEMA) .devcontainer/devcontainer.json

format: ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: ## speed measurements side by side: a table and JSON in bench-results/
	$(PY) -m chapters.bench $(BENCH_ARGS)

tour: ## every chapter's examples in book order -> one HTML page, out/tour/index.html
	$(PY) -m chapters.tour $(TOUR_ARGS)

demo: ## the end-to-end project on this laptop (DEMO_ARGS=--quick or --full); run twice: cache hit
	$(PY) -m chapters.project.demo $(DEMO_ARGS)

validate: ## validate every manifest offline (core kinds strictly, CRDs against their schemas)
	$(PY) -m dmlp.kube.validate manifests

kind-up: ## create a kind cluster and install the operators (needs docker + kind + kubectl)
	bash scripts/kind-up.sh && bash scripts/install-addons.sh

deploy: ## build the image, load it into kind, apply the manifests
	bash scripts/build-load.sh && bash scripts/deploy.sh

smoke: ## check the deployed jobs and services answer
	bash scripts/smoke.sh

kind-down: ## delete the kind cluster
	bash scripts/kind-down.sh

clean: ## remove outputs, caches and the venv
	rm -rf $(VENV) out bench-results .pytest_cache .ruff_cache build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
