FROM python:3.11-slim
# DejaVu Sans for the audit export's PDF transcripts (every script; docs/audit.md)
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Exact, hashed versions from the lock first (a layer that changes only when the lock does), then the project.
COPY requirements/app.lock ./requirements/app.lock
RUN pip install --no-cache-dir pip==26.3 && pip install --no-cache-dir --require-hashes -r requirements/app.lock
COPY pyproject.toml README.md ./
# The dashboard's browser code (htmx, its SSE extension, Swagger UI): the locked npm tarballs, integrity-checked.
COPY package.json package-lock.json ./
COPY scripts/vendor.py ./scripts/vendor.py
RUN mkdir -p web/static && python scripts/vendor.py
COPY domain ./domain
COPY commands ./commands
COPY projections ./projections
COPY read_api ./read_api
COPY workers ./workers
COPY web ./web
COPY chatassist ./chatassist
COPY migrations ./migrations
RUN pip install --no-cache-dir --no-deps --no-build-isolation -e . && useradd --create-home chatassist
USER chatassist
EXPOSE 8000
CMD ["chatassist", "web", "--host", "0.0.0.0", "--port", "8000"]
