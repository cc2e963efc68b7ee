# The releasemgr image: web (gunicorn, the default command), Celery worker and beat all
# run from it; docker-compose.yml shows how. Static files are collected at build time.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Dependencies in their own layer, rebuilt only when pyproject.toml changes: installing
# the project with no code installs just its dependencies (the code runs from /app).
COPY pyproject.toml README.md ./
RUN pip install . \
    && pip uninstall --yes releasemgr \
    && rm -rf build ./*.egg-info

COPY . .
# Hashed, compressed static files for WhiteNoise; var/ is the only place the app writes
# (the beat schedule), so it alone belongs to the unprivileged user.
RUN STATIC_MANIFEST=true python manage.py collectstatic --noinput --verbosity 0 \
    && groupadd --system --gid 1000 releasemgr \
    && useradd --system --uid 1000 --gid releasemgr --home-dir /app --no-create-home releasemgr \
    && mkdir -p var \
    && chown -R releasemgr:releasemgr var

ENV DJANGO_ENV=production
USER 1000:1000
EXPOSE 8000
# gunicorn.conf.py: bind 0.0.0.0:$PORT (8000), $WEB_CONCURRENCY sync workers (2).
CMD ["gunicorn", "releasemgr.wsgi"]
