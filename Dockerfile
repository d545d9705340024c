# One image for the worker and beat services of compose.yaml.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY config config
COPY documents documents
COPY rules rules
COPY notifications notifications
COPY models models
COPY worker worker
COPY cli cli
COPY web web
RUN pip install --no-cache-dir . && useradd --create-home nianbao && mkdir -p /data && chown nianbao /data
USER nianbao
ENV NIANBAO_HOME=/data
ENTRYPOINT ["nianbao"]
