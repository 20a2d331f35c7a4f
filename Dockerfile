# syntax=docker/dockerfile:1
# Genre classifier: Streamlit app on http://localhost:8501
#
#   CPU:  docker build -t genre .
#         docker run --rm -p 8501:8501 genre
#   GPU:  docker build -t genre:gpu --build-arg TF_PACKAGE="tensorflow[and-cuda]==2.21.0" .
#         docker run --rm --gpus all -p 8501:8501 genre:gpu
#         (the host needs the NVIDIA driver and the NVIDIA Container Toolkit)
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# ffmpeg decodes mp3/m4a/ogg/... uploads (pydub, librosa's audioread fallback).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first, in their own layer, so editing the code does not reinstall them.
# TF_PACKAGE defaults to the CPU build already pinned in requirements.txt;
# "tensorflow[and-cuda]==2.21.0" adds the CUDA libraries for the GPU image.
ARG TF_PACKAGE=tensorflow
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt "${TF_PACKAGE}"

# Unprivileged user; numba and matplotlib need writable cache directories.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app \
    && mkdir -p /app/.cache/numba /app/.cache/matplotlib \
    && chown -R app:app /app
ENV HOME=/app \
    NUMBA_CACHE_DIR=/app/.cache/numba \
    MPLCONFIGDIR=/app/.cache/matplotlib \
    STREAMLIT_SERVER_HEADLESS=true \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false

COPY --chown=app:app . .

USER app

# Compile librosa's numba kernels now, as the runtime user, so the first upload is not slow.
RUN python -m genre warmup

EXPOSE 8501

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://localhost:8501/_stcore/health', timeout=4).read().strip() == b'ok' else 1)"]

CMD ["streamlit", "run", "app.py", "--server.address=0.0.0.0", "--server.port=8501"]
