# One image for the scorecard's worker, exporter, simulator and deploy-config (docker-compose.yml builds it once).
# The dependencies (with the `worker` extra) are installed from pyproject.toml alone, before the code is copied, so a
# code change rebuilds only the last layers. It runs as the unprivileged user `scorecard`; the definition is mounted
# at run time, not baked in.
FROM python:3.11-slim

RUN useradd --system --uid 10001 --home-dir /var/lib/scorecard --create-home --shell /usr/sbin/nologin scorecard \
    && mkdir -p /etc/scorecard /var/lib/scorecard/deploy-config \
    && chown scorecard:scorecard /var/lib/scorecard/deploy-config

WORKDIR /opt/scorecard
COPY pyproject.toml ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print('\n'.join(p['dependencies'] + p['optional-dependencies']['worker']))" \
        > requirements.txt \
    && pip install --no-cache-dir -r requirements.txt

COPY README.md ./
COPY scorecard ./scorecard
COPY streams ./streams
# Every requirement is met by the layer above already: this installs the code alone.
RUN pip install --no-cache-dir '.[worker]' && rm -rf build

# The worker's Faust data folder and anything else written at run time go under its home, which it owns.
USER scorecard
WORKDIR /var/lib/scorecard
ENTRYPOINT ["scorecard"]
CMD ["--help"]
