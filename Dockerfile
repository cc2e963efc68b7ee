FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY releasemgr ./releasemgr
COPY trains ./trains
COPY approvals ./approvals
COPY applications ./applications
RUN pip install .
COPY . .
RUN DJANGO_ENV=development python manage.py collectstatic --noinput \
    && useradd --system --uid 1000 --home /app releasemgr \
    && chown -R releasemgr /app/var
USER releasemgr
EXPOSE 8000
CMD ["gunicorn", "releasemgr.wsgi", "--bind", "0.0.0.0:8000", "--workers", "2"]
