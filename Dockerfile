# syntax=docker/dockerfile:1
# Build: docker build -t gw2optimizer .
# Run:   docker run -d --name gw2optimizer --env-file .env -v gw2opt-data:/data -p 9108:9108 gw2optimizer

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# Dependencies first, so code changes do not reinstall them.
COPY pyproject.toml README.md ./
RUN mkdir -p bot cogs services && touch bot/__init__.py cogs/__init__.py services/__init__.py \
    && pip install . && pip uninstall -y gw2optimizer
COPY bot ./bot
COPY cogs ./cogs
COPY services ./services
COPY migrations ./migrations
# The README's install command, same as a developer's.
RUN pip install -e .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PATH=/opt/venv/bin:$PATH \
    DATABASE_PATH=/data/gw2optimizer.sqlite3 METRICS_HOST=0.0.0.0 METRICS_PORT=9108 \
    LOG_FORMAT=json
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin gw2opt \
    && mkdir -p /data && chown gw2opt /data
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=root:root /app /app
WORKDIR /app
USER gw2opt
VOLUME ["/data"]
EXPOSE 9108
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('METRICS_PORT', '9108')}/healthz\", timeout=4)"]
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot"]
