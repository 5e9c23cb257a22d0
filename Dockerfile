# pushsecret-temporal image: one image, two processes.
#   default:  python -m worker    (Temporal worker)
#   watcher:  python -m starter   (CR watcher; set as `command` in compose / the Deployment)
# Only runtime dependencies are installed: no [dev] or [local] extras, no emulators' deps.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: install the project into a self-contained venv ------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# .dockerignore whitelists only the package sources, pyproject.toml and README.md
# (pyproject's `readme`), so keys, kubeconfigs, .venv and .git never reach the context.
COPY . .
RUN pip install --no-cache-dir . \
 && pip check

# ---- runtime: the venv only, no source tree, no build tooling ----------------------------
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="pushsecret-temporal" \
      org.opencontainers.image.description="ESO PushSecret as Temporal workflows (worker + CR watcher)"
# Numeric, non-root uid/gid so Kubernetes `runAsNonRoot` can verify it without a passwd lookup.
ARG APP_UID=10001
RUN groupadd --system --gid ${APP_UID} pushsecret \
 && useradd --system --uid ${APP_UID} --gid ${APP_UID} --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin pushsecret
COPY --from=build /opt/venv /opt/venv
# PYTHONDONTWRITEBYTECODE: the root filesystem is read-only in the Deployments.
# HOME=/tmp: libraries that want a home directory get the (writable, emptyDir/tmpfs) /tmp.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
WORKDIR /tmp
USER ${APP_UID}:${APP_UID}
# The entry points must exit cleanly on SIGTERM (graceful worker shutdown): in Kubernetes the
# process is PID 1 and gets no default signal handling.
CMD ["python", "-m", "worker"]
