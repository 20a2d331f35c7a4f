# Genre classifier: Streamlit app on http://localhost:8501
#
#   CPU:  docker build -t genre .
#         docker run --rm -p 8501:8501 genre
#   GPU:  docker build -t genre:gpu --build-arg TF_PACKAGE="tensorflow[and-cuda]==2.21.0" .
#         docker run --rm --gpus all -p 8501:8501 genre:gpu
#         (the host needs the NVIDIA driver and the NVIDIA Container Toolkit)
#
# Options (all optional; the defaults build the image users get):
#   --build-arg BASE_IMAGE=...   another Debian/Ubuntu base; without Python, python3 comes from apt
#   ./pip-cert.pem               a CA bundle for pip, for networks that re-sign TLS (a company proxy):
#                                  cp /etc/ssl/certs/ca-certificates.crt pip-cert.pem
#                                pip uses it in the dependency stage only; it never reaches the image.
#   -e STREAMLIT_SERVER_PORT=N   listen on another port (the health check follows it)
#
# Works with the classic builder and with BuildKit; nothing is downloaded when the app starts
# (the model in model/ is copied in).
ARG BASE_IMAGE=python:3.12-slim

# --- base: the system packages and the user, shared by the stages below ----------------------
FROM ${BASE_IMAGE} AS base

ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# Python: python:3.12-slim has it; a plain Debian/Ubuntu base gets python3 and venv from apt.
# ffmpeg is the static build in the imageio-ffmpeg wheel (see deps), not Debian's ffmpeg package:
# a quarter of the size (about 550 MB less), and it starts faster.
RUN set -eux; \
    if ! command -v python3 >/dev/null; then \
        apt-get update; \
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv; \
        rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb; \
    fi

# Unprivileged user; numba and matplotlib need writable cache directories.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app

# --- deps: the Python packages, in a virtual environment of their own --------------------------
FROM base AS deps

# TF_PACKAGE defaults to the CPU build already pinned in requirements.txt;
# "tensorflow[and-cuda]==2.21.0" adds the CUDA libraries for the GPU image.
ARG TF_PACKAGE=tensorflow
# pip-cert.pe[m]: copied only when it exists (a glob that matches nothing copies nothing).
COPY requirements.txt pip-cert.pe[m] /tmp/deps/
# tensorflow/include (C++ headers for building custom ops, about 430 MB) is not used at run time.
# The wheel's ffmpeg goes on PATH as `ffmpeg`, for the package and for pydub.
RUN set -eu; \
    if [ -f /tmp/deps/pip-cert.pem ]; then export PIP_CERT=/tmp/deps/pip-cert.pem; fi; \
    python3 -m venv /opt/venv; \
    pip install --no-cache-dir -r /tmp/deps/requirements.txt "${TF_PACKAGE}"; \
    rm -rf /tmp/deps /opt/venv/lib/python3*/site-packages/tensorflow/include; \
    ln -s "$(python -c 'import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())')" /opt/venv/bin/ffmpeg; \
    ffmpeg -hide_banner -version | head -n 1

# --- src: the code, the model and the demos, without the build-only CA file ---------------------
FROM base AS src
COPY . /app
RUN rm -f /app/pip-cert.pem

# --- the image ---------------------------------------------------------------------------------
FROM base

COPY --from=deps /opt/venv /opt/venv

WORKDIR /app
# The app's user writes only its caches and tag's journal (~/.local/state); the code and the model
# stay root's, so a hole in the app cannot rewrite them.
RUN mkdir -p /app/.cache/numba /app/.cache/matplotlib /app/.local/state \
    && chown -R app:app /app/.cache /app/.local
ENV HOME=/app \
    NUMBA_CACHE_DIR=/app/.cache/numba \
    MPLCONFIGDIR=/app/.cache/matplotlib \
    STREAMLIT_SERVER_HEADLESS=true \
    STREAMLIT_SERVER_ADDRESS=0.0.0.0 \
    STREAMLIT_SERVER_PORT=8501 \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false

# app.py, genre/, the whole model/ directory (weights and their JSON), assets/, .streamlit/,
# pyproject.toml and the README; .dockerignore leaves out the tests, benchmarks, tools, docs,
# deploy files and any training data.
COPY --from=src /app /app
RUN python -m compileall -q /app/genre  # the bytecode the app's user could not write itself

USER app

# Compile librosa's numba kernels now, as the runtime user, so the first upload is not slow.
RUN python -m genre warmup

EXPOSE 8501

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; url = 'http://127.0.0.1:%s/_stcore/health' % os.environ.get('STREAMLIT_SERVER_PORT', '8501'); sys.exit(0 if urllib.request.urlopen(url, timeout=4).read().strip() == b'ok' else 1)"]

CMD ["streamlit", "run", "app.py"]
