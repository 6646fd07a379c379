# GridGov application image: the web process (gunicorn), the Celery worker and Celery beat all run
# from it; docker-compose.yml picks the command. See docs/deployment.md.
FROM python:3.11-slim

# WEB_CONCURRENCY is gunicorn's worker count (it reads the variable itself); override it per
# deployment, about 2 per CPU core.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    WEB_CONCURRENCY=3

# Unprivileged runtime user. It has a home directory because gunicorn keeps its control socket there.
RUN groupadd --system gridgov \
    && useradd --system --gid gridgov --create-home --home-dir /home/gridgov --shell /usr/sbin/nologin gridgov

WORKDIR /app

# Dependencies first, so that a code change does not reinstall them. Every pinned package ships a
# binary wheel for Linux (psycopg2-binary bundles libpq), so no compiler is installed.
COPY requirements.txt .
RUN pip install -r requirements.txt

# The code stays owned by root and read-only for the runtime user.
COPY . .

# Static files are collected into the image (whitenoise serves them from STATIC_ROOT=/app/staticfiles).
# The key below exists only for this build step: settings refuse to load with DEBUG off and no key.
# Runtime directories are created here, owned by the runtime user, so that named volumes mounted on
# them (media, beat schedule) start out writable by it.
RUN DEBUG=false \
    SECRET_KEY=build-time-only-throwaway-key-for-collectstatic-never-used-at-runtime \
    python manage.py collectstatic --noinput \
    && mkdir -p /app/var/media /app/var/beat \
    && chown -R gridgov:gridgov /app/var

USER gridgov

EXPOSE 8000

# Workers come from WEB_CONCURRENCY; each has 4 threads. Access and error logs go to stdout/stderr.
# docker-compose.yml runs migrations first and then this same command: keep the two in step.
CMD ["gunicorn", "governance.wsgi:application", \
     "--bind", "0.0.0.0:8000", \
     "--worker-class", "gthread", "--threads", "4", \
     "--timeout", "60", "--graceful-timeout", "30", "--keep-alive", "5", \
     "--max-requests", "1000", "--max-requests-jitter", "100", \
     "--worker-tmp-dir", "/dev/shm", \
     "--access-logfile", "-", "--error-logfile", "-"]
