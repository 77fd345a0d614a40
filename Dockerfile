# Smart Upload container image.
# Build stage: compiles wheels for the project and every dependency (with a compiler at
# hand for any dependency that has no binary wheel). Runtime stage: installs those wheels
# only, so no compiler, headers or pip cache reach the final image. Configuration comes
# from the environment alone (DD_URL, DD_API_TOKEN or DD_API_TOKEN_FILE, DATABASE_URL,
# SMART_UPLOAD_*); see docs/cli.md and deploy/README.md.

ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml ./
COPY app/ ./app/
RUN pip wheel --wheel-dir /wheels .

FROM ${PYTHON_IMAGE} AS runtime
# The uid is fixed so that files written for the service by other containers (the
# DefectDojo token of the compose stack) can be given to it; see docker-compose.yml.
ARG APP_UID=10001
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FORWARDED_ALLOW_IPS=127.0.0.1
RUN groupadd --system --gid "${APP_UID}" smartupload \
    && useradd --system --uid "${APP_UID}" --gid smartupload --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin smartupload
# The wheels are mounted, not copied, so they never land in a layer of this image.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels smart-upload
WORKDIR /app
COPY alembic.ini ./
COPY alembic/ ./alembic/
COPY --chmod=0755 deploy/entrypoint.sh /usr/local/bin/smart-upload-entrypoint
USER smartupload
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
ENTRYPOINT ["smart-upload-entrypoint"]
# uvicorn reads FORWARDED_ALLOW_IPS: the proxies whose X-Forwarded-* headers it trusts.
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers"]
