# Aftercare bot image. Stage 1 builds the project into a virtualenv; stage 2 copies only that
# virtualenv into a slim image and runs it as an unprivileged user.
#
# Mount points (edit without rebuilding):
#   /data    SQLite database (default AFTERCARE_DATABASE_URL); unused with PostgreSQL
#   /config  a clinic's own knowledge base and care plan, e.g.
#            -v ./kb:/config/kb -e AFTERCARE_KB_PATH=/config/kb
#            -v ./careplan.yaml:/config/careplan.yaml -e AFTERCARE_CAREPLAN_PATH=/config/careplan.yaml
# Ports: 8080 /healthz /readyz /metrics (AFTERCARE_HTTP_PORT); 8443 webhook when configured.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/aftercare
COPY pyproject.toml README.md ./
COPY knowledge ./knowledge
COPY scheduler ./scheduler
COPY storage ./storage
COPY bot ./bot
RUN /opt/aftercare/bin/pip install --no-cache-dir . \
    && /opt/aftercare/bin/aftercare kb check

FROM python:3.11-slim
ENV PATH=/opt/aftercare/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    AFTERCARE_DATABASE_URL=sqlite+aiosqlite:////data/aftercare.db \
    AFTERCARE_HTTP_PORT=8080
RUN useradd --no-log-init --create-home --uid 10001 --user-group aftercare \
    && mkdir -p /data /config \
    && chown aftercare:aftercare /data /config
COPY --from=build /opt/aftercare /opt/aftercare
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080 8443
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; r.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('AFTERCARE_HTTP_PORT', '8080'), timeout=4)"]
STOPSIGNAL SIGTERM
CMD ["aftercare", "run"]
