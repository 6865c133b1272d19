"""Test settings: the real settings module, fed test-friendly environment defaults.

Tests run with DEBUG off, as production does; only the HTTPS redirect and secure cookies
are relaxed because the test client speaks plain HTTP.
"""

import os
import tempfile
from pathlib import Path

for key, value in {
    "ENV_FILE": "",  # never a developer's .env (the demo's turns DEBUG on)
    "SECRET_KEY": "test-secret-key-not-for-production-0123456789abcdefghijklmnop",
    "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "false",
    "SESSION_COOKIE_SECURE": "false",
    "CSRF_COOKIE_SECURE": "false",
    "SECURE_HSTS_SECONDS": "0",
    "STATICFILES_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
    "LOG_LEVEL": "WARNING",
}.items():
    os.environ.setdefault(key, value)

from moodshop.settings import *  # noqa: E402, F403

# A run may name its own test database (TEST_DATABASE_NAME), so two runs can share a server.
if os.environ.get("TEST_DATABASE_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["TEST_DATABASE_NAME"]}  # noqa: F405

# Never pick up a recommender model trained on the developer's demo data.
RECOMMENDER_MODEL_DIR = Path(tempfile.mkdtemp(prefix="moodshop-test-recommender-"))

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only

# Tasks go to a real Redis broker (its own database number), consumed by the real worker
# processes that the integration tests start; unit tests replace the enqueue call instead.
CELERY_BROKER_URL = CELERY_RESULT_BACKEND = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
CELERY_BROKER_TRANSPORT = None  # the URL's (Redis), not the embedded broker's
EMOTION_CAPTURE_PROBLEM = ""  # frames go to Redis, whatever the machine's /dev/shm
# Redeliver a killed worker's messages within seconds, not minutes.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 5,
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}

# Impressions are written when a test calls recommender.tracking.flush(), never by a thread.
RECOMMENDER_IMPRESSION_FLUSH_SECONDS = 0
RECOMMENDER_EXPERIMENT_CACHE_SECONDS = 0
