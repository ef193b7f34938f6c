FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain ./domain
COPY commands ./commands
COPY projections ./projections
COPY read_api ./read_api
COPY workers ./workers
COPY web ./web
COPY chatassist ./chatassist
COPY migrations ./migrations
RUN pip install --no-cache-dir -e . && useradd --create-home chatassist
USER chatassist
EXPOSE 8000
CMD ["chatassist", "web", "--host", "0.0.0.0", "--port", "8000"]
