# syntax=docker/dockerfile:1
# Build: docker build -t gw2optimizer .
# Run:   docker run -d --name gw2optimizer --env-file .env -v gw2opt-data:/data -p 9108:9108 gw2optimizer
# Or the bot with Prometheus, Alertmanager and Grafana: docker compose up -d (docker-compose.yml).

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# Dependencies first, pinned with hashes (requirements.lock), so code changes do not reinstall them.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY cogs ./cogs
COPY services ./services
COPY migrations ./migrations
# A regular (wheel) install: the SQL migrations ship as package data, no source tree needed.
RUN pip install --no-deps .

FROM python:3.11-slim
# The container's paths and listen address. They win over a .env passed with --env-file only
# when .env does not set them: .env.example leaves DATABASE_PATH, METRICS_HOST and LOG_FORMAT
# commented out for that reason.
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PATH=/opt/venv/bin:$PATH \
    DATABASE_PATH=/data/gw2optimizer.sqlite3 METRICS_HOST=0.0.0.0 METRICS_PORT=9108 \
    LOG_FORMAT=json
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin gw2opt \
    && mkdir -p /app /data && chown gw2opt /data && chmod 700 /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
USER gw2opt
VOLUME ["/data"]
EXPOSE 9108
# Passes with METRICS_PORT=0 (no sidecar to ask); see bot/healthcheck.py.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-m", "bot.healthcheck"]
STOPSIGNAL SIGTERM
CMD ["gw2optimizer"]
