#!/usr/bin/env bash
# Install and run the demo shop at http://127.0.0.1:8000 with a Celery worker (and beat).
# SQLite and an embedded broker by default; set DATABASE_URL / REDIS_URL to use PostgreSQL / Redis.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/venv.sh requirements.txt
bash scripts/write_env.sh .env
export DEBUG=${DEBUG:-true}
py=.venv/bin/python
mkdir -p var

$py manage.py migrate --noinput
$py manage.py seed_demo
# Synthetic reactions (marked as such in the admin and the reports), so the staff reports are not empty.
$py manage.py seed_reactions --events 30000 --days 30 --once
$py manage.py train_recommender
$py manage.py simulate_experiment --once  # a populated experiment report, marked SIMULATED
DJANGO_SUPERUSER_USERNAME=admin DJANGO_SUPERUSER_EMAIL=admin@example.com \
DJANGO_SUPERUSER_PASSWORD=${DEMO_ADMIN_PASSWORD:-moodshop-admin} \
  $py manage.py createsuperuser --noinput >/dev/null 2>&1 || true

$py -m celery -A moodshop worker --beat --schedule var/celerybeat-schedule \
  --queues celery,emotion --concurrency 1 --loglevel INFO > var/worker.log 2>&1 &
worker=$!
trap 'kill $worker 2>/dev/null; wait $worker 2>/dev/null' EXIT INT TERM

echo
echo "Moodshop: http://127.0.0.1:8000  (admin: http://127.0.0.1:8000/admin/, user admin," \
  "password ${DEMO_ADMIN_PASSWORD:-moodshop-admin})"
echo "Celery worker + beat running (pid $worker, log var/worker.log). Ctrl+C stops both."
$py manage.py runserver 127.0.0.1:8000
