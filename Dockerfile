# Runs the app on the embedded demo: docker build -t pgssl . && docker run -p 8501:8501 pgssl
FROM python:3.11-slim-bookworm

# GDAL comes inside the rasterio/pyogrio wheels; libgl/libglib are for OpenCV-free image stacks (Pillow only).
RUN apt-get update && apt-get install -y --no-install-recommends make && rm -rf /var/lib/apt/lists/*

WORKDIR /srv/pgssl
COPY requirements.txt ./
RUN python -m venv .venv && .venv/bin/pip install --no-cache-dir --upgrade pip \
    && .venv/bin/pip install --no-cache-dir -r requirements.txt && touch .venv/.stamp-runtime
COPY . .
# Keep the stamp newer than requirements.txt so `make demo` does not reinstall.
RUN touch .venv/.stamp-runtime

ENV PGSSL_PROJECTS_DIR=/data/projects PYTHON=python3
VOLUME ["/data"]
EXPOSE 8501
CMD ["make", "demo", "PYTHON=python3"]
