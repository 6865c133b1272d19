# Production image for the web, worker and beat services (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 moodshop
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY --chown=moodshop:moodshop . .
# collectstatic needs settings to load; these throwaway values are not used at run time.
RUN SECRET_KEY=collectstatic-only DEBUG=false python manage.py collectstatic --noinput -v0
USER moodshop
EXPOSE 8000
CMD ["gunicorn", "moodshop.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
