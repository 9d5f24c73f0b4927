# The project's own services (dependency stand-ins, reference backend, and later the Locust load runner)
# in one image; docker-compose.yml picks the service with the command.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Dependencies first (cached while only the code changes): install the project's metadata alone.
COPY pyproject.toml README.md ./
RUN mkdir -p harness mocks && touch harness/__init__.py mocks/__init__.py \
    && pip install . && pip uninstall -y agent-chaos-harness

COPY harness ./harness
COPY mocks ./mocks
RUN pip install --no-deps . \
    && useradd --system --uid 10001 --home-dir /app harness
USER harness

ENTRYPOINT ["harness"]
CMD ["--help"]
