# One image for every chapter: the manifests choose the module and flags.
# Build from the repository root: docker build -t dmlp:dev .   (scripts/build-load.sh does this)
FROM python:3.11-slim

# TensorFlow in the image = the minor release TF Serving has (TF_SERVING_VERSION in versions.env),
# so KServe's TensorFlow runtime can load the SavedModel the cluster trains. pyproject.toml allows
# any 2.16-2.21; scripts/build-load.sh passes IMAGE_TENSORFLOW from versions.env.
ARG TENSORFLOW=2.20.*

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_USE_LEGACY_KERAS=1

WORKDIR /app
# LICENSE: pyproject.toml's license-files names it, and the build fails without it.
COPY pyproject.toml README.md LICENSE ./
COPY dmlp ./dmlp
COPY chapters ./chapters
RUN printf 'tensorflow==%s\ntf-keras==%s\ntensorboard==%s\n' "$TENSORFLOW" "$TENSORFLOW" "$TENSORFLOW" \
        > /tmp/tensorflow.txt \
    && pip install --constraint /tmp/tensorflow.txt . \
    && rm /tmp/tensorflow.txt \
    && python -c "import tensorflow as tf; print('TensorFlow', tf.__version__)" \
    && useradd --create-home --uid 1000 dmlp \
    && mkdir -p /data && chown dmlp:dmlp /data

USER 1000
# Manifests override the command; this default just proves the image works.
CMD ["python", "-m", "chapters.ch02_data_ingestion.sharding", "--dataset", "synthetic", "--out", "/tmp/out"]
