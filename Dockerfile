# deep-health as a container (ECS/EKS/EC2 behind a load balancer): the same engine as the Lambda.
#   docker build --build-arg VERSION=0.1.0 --build-arg REVISION="$(git rev-parse HEAD)" -t deep-health .
#   docker run -p 8080:8080 -v "$PWD/health.toml:/app/health.toml:ro" deep-health
ARG PYTHON_IMAGE=python:3.12-slim-bookworm

# ---- build: install the project and its runtime dependencies into a virtualenv
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /opt/deep-health
# Only what the package build needs: no tests, deploy tooling or dev extras (see .dockerignore).
COPY pyproject.toml README.md ./
COPY checks ./checks
COPY service ./service
RUN /opt/deep-health/bin/pip install --no-cache-dir .

# ---- runtime: the virtualenv only, as a non-root user
FROM ${PYTHON_IMAGE} AS runtime
ARG VERSION=0.0.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="deep-health" \
      org.opencontainers.image.description="Deep health checks that drive Route 53 DNS failover" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
ENV PATH=/opt/deep-health/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    AWS_STS_REGIONAL_ENDPOINTS=regional \
    DEEP_HEALTH_RELEASE_ID=${REVISION}
RUN useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin deephealth
COPY --from=build /opt/deep-health /opt/deep-health
# A default config driven by environment variables; mount your own over it.
COPY deploy/health.lambda.toml /app/health.toml
WORKDIR /app
USER 10001:10001
EXPOSE 8080
# Liveness only: the process answers /livez. Never the deep checks (`deep-health check`): a
# container's health tied to DynamoDB would make the orchestrator restart healthy containers
# when a dependency fails, which failing over (Route 53 reading /health) handles instead.
# Exec form, no shell and no curl: the image's own Python; a non-2xx or no answer exits 1.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/livez', timeout=4)"]
ENTRYPOINT ["deep-health"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080", "--config", "/app/health.toml"]
