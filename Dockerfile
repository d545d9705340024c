# One image for every nianbao service of compose.yaml (migrate, worker, beat, web).
# Reading must come out as in the tests: the same library versions (constraints.txt, as
# `make install` uses), UTF-8 whatever the host's locale, and no system library, font or
# time zone database to depend on (the wheels carry lexbor, pdfium and libxml2; tzdata
# comes from PyPI). tests/test_deploy.py checks this file. One exception: OpenCV (which the
# OCR engine, rapidocr-onnxruntime, uses to cut text lines out of a page) links libGL and
# glib, which the slim image lacks.
FROM python:3.11-slim
ENV LANG=C.UTF-8 PYTHONUTF8=1 PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md constraints.txt ./
COPY config config
COPY documents documents
COPY rules rules
COPY notifications notifications
COPY models models
COPY worker worker
COPY cli cli
COPY web web
RUN pip install --no-cache-dir -c constraints.txt . \
    && useradd --create-home nianbao \
    && mkdir -p /data/blobs && chown -R nianbao /data   # a new blobs volume takes this owner
USER nianbao
ENV NIANBAO_HOME=/data
ENTRYPOINT ["nianbao"]
