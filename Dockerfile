# One image for every chapter: the manifests choose the module and flags.
# Build from the repository root: docker build -t dmlp:dev .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_USE_LEGACY_KERAS=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY chapters ./chapters
RUN pip install . \
    && useradd --create-home --uid 1000 dmlp \
    && mkdir -p /data && chown dmlp:dmlp /data

USER 1000
# Manifests override the command; this default just proves the image works.
CMD ["python", "-m", "chapters.ch02_data_ingestion.sharding", "--dataset", "synthetic", "--out", "/tmp/out"]
