# The app on the embedded demo, installed from the lock file, as a non-root user, projects on a volume:
#   docker build -t pgssl .
#   docker run -p 8501:8501 -v pgssl-projects:/data pgssl                 # CPU
#   docker run --gpus all -p 8501:8501 -v pgssl-projects:/data pgssl      # NVIDIA GPU
# --gpus all needs the NVIDIA driver and the NVIDIA Container Toolkit on the host; the image needs nothing more:
# the locked torch is PyPI's CUDA build, whose nvidia-* wheels carry the CUDA runtime (it also runs on the CPU).
# The CLI runs in the same image: docker run --rm -v pgssl-projects:/data pgssl pgssl --help
FROM python:3.11-slim-bookworm

ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1 \
    VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH

# GDAL, GEOS and PROJ come inside the rasterio/pyogrio/shapely/pyproj wheels: no system libraries needed.
# Dependencies first, from the lock file only, so this layer is rebuilt only when the lock changes.
COPY requirements.lock /tmp/requirements.lock
RUN python -m venv /opt/venv \
    && pip install --no-deps -r /tmp/requirements.lock \
    && pip check

WORKDIR /srv/pgssl
COPY pyproject.toml setup.py README.md requirements.txt requirements-app.txt requirements-dev.txt ./
COPY .streamlit ./.streamlit
COPY pgssl_core ./pgssl_core
COPY assets ./assets
COPY app ./app
COPY pages ./pages
# Editable: `app/main.py` finds the page scripts next to it, and the package is this folder (no second copy).
RUN pip install --no-deps --no-build-isolation -e . \
    && useradd --create-home --uid 10001 --user-group pgssl \
    && mkdir -p /data/projects && chown -R pgssl:pgssl /data

# Projects (catalogs, tiles, labels, runs) live on the volume, never in the image.
ENV PGSSL_PROJECTS_DIR=/data/projects
VOLUME ["/data"]
USER 10001:10001
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"]
CMD ["streamlit", "run", "app/main.py", "--server.port", "8501", "--server.address", "0.0.0.0", "--server.headless", "true", "--browser.gatherUsageStats", "false"]
