# The scorecard worker and exporter image used by docker-compose.yml (`scorecard worker`, `scorecard exporter`).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY scorecard ./scorecard
COPY streams ./streams
COPY examples ./examples
RUN pip install --no-cache-dir '.[worker]'
ENTRYPOINT ["scorecard"]
