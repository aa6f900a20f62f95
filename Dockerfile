# Aftercare bot image: build wheels in one stage, run as a non-root user in a slim second stage.
# The knowledge base and care plan ship inside the package; mount a clinic's own copy and set
# AFTERCARE_KB_PATH (e.g. -v ./kb:/config/kb -e AFTERCARE_KB_PATH=/config/kb) to override it.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY knowledge ./knowledge
COPY scheduler ./scheduler
COPY storage ./storage
COPY bot ./bot
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    AFTERCARE_DATABASE_URL=sqlite+aiosqlite:////data/aftercare.db
RUN useradd --create-home --uid 10001 aftercare \
    && mkdir -p /data /config \
    && chown aftercare:aftercare /data /config
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER aftercare
WORKDIR /data
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["aftercare", "kb", "check"]
CMD ["aftercare", "run"]
