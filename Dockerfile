FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain domain
COPY commands commands
COPY projections projections
COPY consumers consumers
COPY api api
COPY runtime runtime
COPY storage storage
RUN pip install --no-cache-dir . && useradd --system campaign
USER campaign
ENV HOST=0.0.0.0
ENTRYPOINT ["campaign-service"]
CMD ["api"]
