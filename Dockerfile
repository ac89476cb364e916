# One image for every role (docker-compose.yml). Two stages: the first installs the locked
# dependencies (requirements.lock: exact versions, hash-checked, the same scripts/bootstrap.sh
# installs) and then the service into a virtual environment; the second carries that environment
# alone, without pip's caches or the build tools, and runs as an unprivileged user.
FROM python:3.11-slim AS build
RUN python -m venv /venv
COPY requirements.lock /tmp/requirements.lock
RUN /venv/bin/pip install --no-cache-dir --require-hashes -r /tmp/requirements.lock
WORKDIR /src
COPY pyproject.toml README.md ./
COPY domain domain
COPY commands commands
COPY projections projections
COPY consumers consumers
COPY api api
COPY runtime runtime
COPY storage storage
RUN /venv/bin/pip install --no-cache-dir --no-deps . && /venv/bin/pip check

FROM python:3.11-slim
RUN useradd --system --create-home --home-dir /home/campaign campaign
COPY --from=build /venv /venv
ENV PATH=/venv/bin:$PATH HOST=0.0.0.0 PYTHONUNBUFFERED=1 LOG_FORMAT=json
USER campaign
WORKDIR /home/campaign
# /healthz on METRICS_PORT when set (every role), else the API's /readyz on PORT.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 CMD ["campaign-service", "health"]
ENTRYPOINT ["campaign-service"]
CMD ["api"]
