"""Test settings: the real settings module, fed test-friendly environment defaults.

Tests run with DEBUG off, as production does; only the HTTPS redirect and secure cookies
are relaxed because the test client speaks plain HTTP.
"""

import os

for key, value in {
    "SECRET_KEY": "test-secret-key-not-for-production-0123456789abcdefghijklmnop",
    "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "false",
    "SESSION_COOKIE_SECURE": "false",
    "CSRF_COOKIE_SECURE": "false",
    "SECURE_HSTS_SECONDS": "0",
    "STATICFILES_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
    "CELERY_TASK_ALWAYS_EAGER": "true",  # unit tests only; the worker tests start a real worker
    "LOG_LEVEL": "WARNING",
}.items():
    os.environ.setdefault(key, value)

from moodshop.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only
