#!/usr/bin/env bash
# The dev container's post-create step (GitHub Codespaces, VS Code Dev Containers): kind, kubectl
# and Helm at the versions pinned in versions.env, checksums verified (scripts/install-tools.sh),
# then the project's venv (make install). Docker comes from the Docker-in-Docker feature in
# devcontainer.json, so `make kind-up deploy smoke` runs as soon as this has finished.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-tools.sh
make install
