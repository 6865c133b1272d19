"""Django settings for Moodshop.

Every deployment-specific value comes from the environment (django-environ), so the same
code runs the SQLite demo, the test suite and the docker-compose production stack.
"""

import os
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from moodshop import broker as embedded_broker

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# The environment wins over the .env file (scripts/demo.sh writes one); ENV_FILE names another
# file, and an empty ENV_FILE reads none (the test suite's choice, so a demo .env never leaks in).
_env_file = os.environ.get("ENV_FILE", str(BASE_DIR / ".env"))
if _env_file:
    environ.Env.read_env(_env_file, overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

_DEV_SECRET = "insecure-dev-key-only-for-debug-and-tests"
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "axes",
    "shop",
    "emotion",
    "recommender",
    "insights",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "moodshop.middleware.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "recommender.middleware.ClickMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "emotion.on_device.RuntimePageCsp",  # after django-csp: it adds to the policy django-csp then builds
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "axes.middleware.AxesMiddleware",  # last: it answers a locked-out login
]

ROOT_URLCONF = "moodshop.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "shop.context_processors.shop",
                "emotion.context_processors.capture",
            ],
        },
    },
]

WSGI_APPLICATION = "moodshop.wsgi.application"

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite ignores SELECT ... FOR UPDATE, the lock that orders a withdrawal after a frame
    # being stored on PostgreSQL. Taking the write lock at the start of every transaction
    # serialises them here instead: the worker storing a frame and the web process erasing
    # the shopper's data can no longer interleave (and no transaction fails half-way on a
    # lock upgrade).
    DATABASES["default"].setdefault("OPTIONS", {})["transaction_mode"] = "IMMEDIATE"
    # Write-ahead log, synced at checkpoints: a commit no longer waits for two fsyncs of the
    # disk (the worker commits one per frame), and readers do not block the writer. A power
    # cut may lose the last commits, never corrupt the file; PostgreSQL is for production.
    DATABASES["default"]["OPTIONS"]["init_command"] = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Login throttling (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one account from
# one client address, that pair is refused (429, no password hashed) for the cool-off. Keyed on
# the pair, so neither a shared address (a NAT, a proxy) nor an attacker naming a victim's
# account locks anyone else out. Attempts live in the database: they work with Redis down.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "moodshop.clients.client_address"
# The request header (META name) carrying the client's address, set only where a trusted
# reverse proxy overwrites it (compose: HTTP_X_REAL_IP); empty: the socket address is used.
CLIENT_ADDRESS_HEADER = env.str("CLIENT_ADDRESS_HEADER", default="")

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "shop:home"
LOGOUT_REDIRECT_URL = "shop:home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
# Product images are generated locally; gunicorn serves them itself unless a proxy does.
SERVE_MEDIA = env.bool("SERVE_MEDIA", default=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_BACKEND",
            default="whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}

# Database sessions: the shop must keep working (carts, logins) while Redis is down
# (Django's cached_db backend fails a request when it cannot write the cache).
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = 60 * 60 * 24 * 14

# Production hardening: on whenever DEBUG is off, each switch overridable for a TLS proxy setup.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Browser-side guard: the origin holds a camera grant, so nothing but our own static files may
# run or style a page (no inline script, style or handler: every template keeps to that), and no
# page may be framed. ``data:`` images are Bootstrap's CSS icons. Pages that need more get it on
# their own view only (django-csp's ``csp_update`` decorator), never site-wide.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'none'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# Only this origin may use the camera; every other powerful feature is off everywhere.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    "camera": ["self"],
    **{
        feature: []
        for feature in (
            "accelerometer",
            "ambient-light-sensor",
            "autoplay",
            "bluetooth",
            "browsing-topics",
            "captured-surface-control",
            "clipboard-read",
            "compute-pressure",
            "display-capture",
            "encrypted-media",
            "gamepad",
            "geolocation",
            "gyroscope",
            "hid",
            "identity-credentials-get",
            "idle-detection",
            "keyboard-map",
            "local-fonts",
            "magnetometer",
            "microphone",
            "midi",
            "otp-credentials",
            "payment",
            "picture-in-picture",
            "publickey-credentials-create",
            "publickey-credentials-get",
            "screen-wake-lock",
            "serial",
            "speaker-selection",
            "storage-access",
            "usb",
            "web-share",
            "window-management",
            "xr-spatial-tracking",
        )
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

REDIS_URL = env.str("REDIS_URL", default="")

# A Redis cache when REDIS_URL is set, so API throttles count across gunicorn workers.
CACHES = {
    "default": (
        {"BACKEND": "moodshop.cache.ReusingRedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

REST_FRAMEWORK = {
    # A token (``Authorization: Token <key>``, from ``drf_create_token``) or the browser's
    # session, on every endpoint. The token comes first so that a refusal for missing
    # credentials is a 401 with ``WWW-Authenticate: Token``; a bad token is a 401 everywhere.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        "frames": env.str("EMOTION_FRAME_RATE_LIMIT", default="5/second"),
        # Per client address, across its sessions (a new session is free): room for about ten
        # shoppers behind one NAT at the capture rate.
        "frames_address": env.str("EMOTION_FRAME_ADDRESS_RATE_LIMIT", default="25/second"),
    },
    "EXCEPTION_HANDLER": "moodshop.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Moodshop API",
    "DESCRIPTION": "Camera frames in, emotion-aware recommendations out.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "moodshop.api.document_errors"],
    # Swagger UI and Redoc from drf-spectacular-sidecar's vendored files: nothing from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # The emotion classes appear as several fields (a reaction's emotion, an observation's label): one enum.
    "ENUM_NAME_OVERRIDES": {"EmotionEnum": "emotion.ml.labels.CLASSES"},
}

# --- Celery ----------------------------------------------------------------------------
# Redis when REDIS_URL is set; otherwise kombu's filesystem transport, an embedded broker
# that needs no server (moodshop.broker): this checkout's own 0700 folder in /dev/shm,
# message files 0600, emptied when the worker stops. The broker carries camera frames,
# which must never touch a disk: where the folder is not in memory (no /dev/shm, or an
# EMBEDDED_BROKER_DIR on a disk) background tasks still run but capture is refused.
EMOTION_CAPTURE_PROBLEM = ""

if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL)
    # An unacknowledged message (its worker died) is redelivered after this many seconds;
    # emotion tasks take well under a second, so a short timeout loses little time.
    # Abandoned messages are swept back every interval × throttle seconds.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Sized to the tasks that are acknowledged late (emotion.tasks.DATABASE_TASK_OPTIONS):
        # none may run longer than its 20 s time limit, so a message still unacknowledged after
        # 30 s belongs to a dead worker. (A frame it brings back is past the freshness budget:
        # stored as a stale gap.)
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=30),
        "unacked_restore_interval": 10,
        "unacked_restore_throttle": 3,
    }
else:
    _memory_dir = embedded_broker.default_folder(BASE_DIR)
    EMBEDDED_BROKER_DIR = Path(env.str("EMBEDDED_BROKER_DIR", default=str(_memory_dir or BASE_DIR / "var" / "broker")))
    EMOTION_CAPTURE_PROBLEM = embedded_broker.capture_problem(EMBEDDED_BROKER_DIR)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT = "moodshop.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(EMBEDDED_BROKER_DIR / "queue"),
        "data_folder_out": str(EMBEDDED_BROKER_DIR / "queue"),
        "control_folder": str(EMBEDDED_BROKER_DIR / "control"),
        "store_processed": False,
        # kombu polls the folder once a second by default, and a worker with its one prefetched
        # frame in hand finds the queue "empty" and sleeps that long: one frame a second at
        # most. Listing a tmpfs folder 50 times a second costs nothing.
        "polling_interval": env.float("EMBEDDED_BROKER_POLLING_INTERVAL", default=0.02),
    }
    CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=f"file://{BASE_DIR / 'var' / 'celery-results'}")

CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# The embedded broker is polled: a worker holding only the frame it works on waits for the next
# poll and a folder listing between frames (measured: 10 shoppers at 2 frames/s fell behind
# with 1, kept a p95 under 1 s with 4; tests/test_embedded_broker.py). Redis pushes messages.
CELERY_WORKER_PREFETCH_MULTIPLIER = env.int("CELERY_WORKER_PREFETCH_MULTIPLIER", default=1 if REDIS_URL else 4)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's Django fix-up closes the database connection around every task unless this is
# set, so each frame paid for a new PostgreSQL connection (and server process): about a
# third of the worker's time. Connections are kept for this many tasks; broken or expired
# ones are still dropped before each task (see moodshop.celery), as Django does per request.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=500)
CELERY_TASK_ROUTES = {
    "emotion.tasks.classify_frame": {"queue": "emotion"},
    "emotion.tasks.refresh_reactions": {"queue": "emotion"},
}
CELERY_BEAT_SCHEDULE = {
    "refresh-product-popularity": {
        "task": "shop.tasks.refresh_product_popularity",
        "schedule": crontab(minute="*/15"),
    },
    "clear-expired-sessions": {
        "task": "shop.tasks.clear_expired_sessions",
        "schedule": crontab(minute=5),
    },
    "train-recommender": {
        "task": "recommender.tasks.train_recommender",
        "schedule": crontab(minute=40),
    },
    "select-recommender": {
        "task": "recommender.tasks.select_recommender",
        "schedule": crontab(minute=10, hour=2),
    },
    "refresh-quiet-views": {
        "task": "emotion.tasks.refresh_quiet_views",
        "schedule": 60.0,
    },
    "settle-lost-frames": {
        "task": "emotion.tasks.settle_lost_frames",
        "schedule": 30.0,
    },
    "purge-expired-emotion-data": {
        "task": "emotion.tasks.purge_expired_emotion_data",
        "schedule": crontab(minute=17, hour=3),
    },
}

# --- Shop ------------------------------------------------------------------------------
SHOP_PAGE_SIZE = env.int("SHOP_PAGE_SIZE", default=24)
SHOP_MAX_CART_QUANTITY = env.int("SHOP_MAX_CART_QUANTITY", default=20)
SHOP_POPULARITY_WINDOW_DAYS = env.int("SHOP_POPULARITY_WINDOW_DAYS", default=30)

# --- Emotion capture --------------------------------------------------------------------
EMOTION_CONSENT_POLICY_VERSION = env.str("EMOTION_CONSENT_POLICY_VERSION", default="1")
EMOTION_CAPTURE_FPS = env.float("EMOTION_CAPTURE_FPS", default=2.0)
# Once the worker has seen the face, the page sends a crop around it from a higher-resolution
# camera picture instead of the whole picture at 320x240 (emotion.roi): a shopper sitting back
# keeps enough face pixels. Off: always the whole picture.
EMOTION_CAPTURE_ROI = env.bool("EMOTION_CAPTURE_ROI", default=True)
# A frame is worth something only while it is fresh: the API refuses frames that the backlog
# could not classify within this many seconds, and the worker drops older ones as stale gaps.
EMOTION_FRESHNESS_SECONDS = env.float("EMOTION_FRESHNESS_SECONDS", default=2.0)
# After "No thanks" or "Stop camera", the consent bar stays away this many days (the footer's
# Camera settings dialog stays one click away).
EMOTION_REOFFER_DAYS = env.float("EMOTION_REOFFER_DAYS", default=30.0)
EMOTION_MAX_FRAME_BYTES = env.int("EMOTION_MAX_FRAME_BYTES", default=256 * 1024)
EMOTION_MAX_FRAME_WIDTH = env.int("EMOTION_MAX_FRAME_WIDTH", default=1920)
EMOTION_MAX_FRAME_HEIGHT = env.int("EMOTION_MAX_FRAME_HEIGHT", default=1080)
EMOTION_RETENTION_DAYS = env.int("EMOTION_RETENTION_DAYS", default=30)
EMOTION_MODEL_DIR = env.path("EMOTION_MODEL_DIR", default=BASE_DIR / "emotion" / "model")
EMOTION_WORKER_THREADS = env.int("EMOTION_WORKER_THREADS", default=1)
# "blazeface" (MediaPipe's short-range model, ~1.5 ms a frame) or "haar" (OpenCV's
# cascade, the slower baseline); see benchmarks/results/face_detector.json.
EMOTION_FACE_DETECTOR = env.str("EMOTION_FACE_DETECTOR", default="blazeface")
# Test-time augmentation averages 14 views per face (emotion.ml.tta.TTA_DESCRIPTION): about two
# points of accuracy for fourteen times the inference cost. Off for live frames, where throughput matters more.
EMOTION_WORKER_TTA = env.bool("EMOTION_WORKER_TTA", default=False)
# Only the consenting shopper's face is classified: a frame whose second-largest face has at
# least this share of the largest face's area is a gap ("several faces"), see emotion.tasks.
EMOTION_SEVERAL_FACES_AREA_RATIO = env.float("EMOTION_SEVERAL_FACES_AREA_RATIO", default=0.5)
# The staff emotion lab (admin) checks the model on an uploaded photo, with the frames API's
# rules at photo-sized limits; the upload is held in memory, never on disk (emotion.lab).
EMOTION_LAB_MAX_BYTES = env.int("EMOTION_LAB_MAX_BYTES", default=4 * 1024 * 1024)
EMOTION_LAB_MAX_SIDE = env.int("EMOTION_LAB_MAX_SIDE", default=4096)
# A view's reaction events are rebuilt at most once per this many seconds while frames
# arrive, and again when the view ends (dwell report, or a sweep a minute later).
EMOTION_REACTION_REFRESH_SECONDS = env.float("EMOTION_REACTION_REFRESH_SECONDS", default=2.0)
# Where faces are analysed: "server" (the page sends camera frames, the worker classifies them) or
# "browser" (on-device mode: the page runs the same two model files itself through LiteRT.js and
# sends only labels to POST /api/v1/observations/; no frame leaves the device, and the frames API
# refuses frames). See emotion.on_device.
EMOTION_INFERENCE = env.str("EMOTION_INFERENCE", default="server")
if EMOTION_INFERENCE not in ("server", "browser"):
    raise ImproperlyConfigured('EMOTION_INFERENCE must be "server" or "browser".')
# Client-reported observations can be forged: besides the frames' rate limits, one shopper stores at
# most this many per product in any window of this many seconds (2 minutes of capture at 2 frames/s
# an hour), so one shopper flooding a product cannot outweigh the others in its analytics.
EMOTION_CLIENT_OBSERVATION_CAP = env.int("EMOTION_CLIENT_OBSERVATION_CAP", default=240)
EMOTION_CLIENT_OBSERVATION_CAP_SECONDS = env.int("EMOTION_CLIENT_OBSERVATION_CAP_SECONDS", default=3600)
# Staff reports show emotion figures (of a product, a category, the shop) only when at least
# this many distinct viewers reacted in the period, so that none describes one person. At most
# 32, the size of the per-day viewer sketch that keeps the rule exact after raw data is purged.
INSIGHTS_MIN_VIEWERS = env.int("INSIGHTS_MIN_VIEWERS", default=5)
if not 1 <= INSIGHTS_MIN_VIEWERS <= 32:
    raise ImproperlyConfigured("INSIGHTS_MIN_VIEWERS must be between 1 and 32.")

# --- Recommender ---------------------------------------------------------------------------
# Trained model versions (``model-<version>.npz`` + metrics JSON) and the ``current.json``
# pointer that web and worker processes follow.
RECOMMENDER_MODEL_DIR = env.path("RECOMMENDER_MODEL_DIR", default=BASE_DIR / "var" / "recommender")
RECOMMENDER_KEEP_VERSIONS = env.int("RECOMMENDER_KEEP_VERSIONS", default=3)
# How often a process looks for a newer version, and the age after which a model is stale
# (beat retrains hourly, so a stale model means training has been failing).
RECOMMENDER_RELOAD_SECONDS = env.float("RECOMMENDER_RELOAD_SECONDS", default=10.0)
RECOMMENDER_MAX_MODEL_AGE_HOURS = env.float("RECOMMENDER_MAX_MODEL_AGE_HOURS", default=48.0)
# implicit and BLAS threads: serving (per web/worker process) and training (the beat task).
RECOMMENDER_SERVE_THREADS = env.int("RECOMMENDER_SERVE_THREADS", default=1)
RECOMMENDER_TRAIN_THREADS = env.int("RECOMMENDER_TRAIN_THREADS", default=2)
# Engine selection (nightly, ``select-recommender``) fits every candidate engine on all but each
# shopper's latest interactions and publishes the best; the hourly refit reuses that choice
# while it is younger than this. ``RECOMMENDER_CANDIDATES`` (JSON list of {"kind", "params"})
# replaces the built-in grid (recommender.ml.selection.production_candidates).
RECOMMENDER_SELECTION_MAX_AGE_HOURS = env.float("RECOMMENDER_SELECTION_MAX_AGE_HOURS", default=26.0)
RECOMMENDER_CANDIDATES = env.json("RECOMMENDER_CANDIDATES", default=None)
# EASE fits a dense n_items² matrix: not tried beyond RECOMMENDER_EASE_MAX_ITEMS items (15k:
# ~2.7 GB while fitting); beyond RECOMMENDER_EASE_DENSE_MAX_ITEMS the served matrix keeps the
# RECOMMENDER_EASE_NEIGHBOURS largest weights per item (10k items: 20 MB instead of 400 MB).
RECOMMENDER_EASE_MAX_ITEMS = env.int("RECOMMENDER_EASE_MAX_ITEMS", default=15_000)
RECOMMENDER_EASE_DENSE_MAX_ITEMS = env.int("RECOMMENDER_EASE_DENSE_MAX_ITEMS", default=4_096)
RECOMMENDER_EASE_NEIGHBOURS = env.int("RECOMMENDER_EASE_NEIGHBOURS", default=256)
# Extra models published beside the selected one, each the best candidate of that engine kind
# (e.g. "als,ease"): arms for online experiments, served by ``store.current_model(name)``.
RECOMMENDER_NAMED_MODELS = env.list("RECOMMENDER_NAMED_MODELS", default=[])
# The fallback engine (ALS) when selection cannot run or its choice fails to fit: the scale
# tuned on RetailRocket with half the factors.
RECOMMENDER_ALS_FACTORS = env.int("RECOMMENDER_ALS_FACTORS", default=64)
RECOMMENDER_ALS_REGULARIZATION = env.float("RECOMMENDER_ALS_REGULARIZATION", default=30.0)
RECOMMENDER_ALS_ALPHA = env.float("RECOMMENDER_ALS_ALPHA", default=32.0)
RECOMMENDER_ALS_ITERATIONS = env.int("RECOMMENDER_ALS_ITERATIONS", default=15)
# Blend used until enough shoppers have reactions to tune it on validation data: the value
# tuned on the simulated shops (benchmarks/results/recommender_offline.json).
RECOMMENDER_PRIOR_BLEND_STRENGTH = env.float("RECOMMENDER_PRIOR_BLEND_STRENGTH", default=1.0)
RECOMMENDER_PRIOR_BLEND_WEIGHT = env.float("RECOMMENDER_PRIOR_BLEND_WEIGHT", default=16.0)
# Blend tuning needs this many reacting validation shoppers; selection and blend tuning score
# at most RECOMMENDER_MAX_TUNING_USERS of them (each candidate ranks the whole catalog for each
# of them; fewer make the comparison between candidates noisier).
RECOMMENDER_MIN_TUNING_USERS = env.int("RECOMMENDER_MIN_TUNING_USERS", default=50)
RECOMMENDER_MAX_TUNING_USERS = env.int("RECOMMENDER_MAX_TUNING_USERS", default=2_000)
# Online experiments (recommender.tracking): impressions are buffered per process and written
# in bulk every FLUSH_SECONDS (0: only when BATCH are waiting, and at exit) or once BATCH wait;
# the same list re-shown by a panel refresh within REPEAT_MINUTES is one impression; carts and
# purchases within ATTRIBUTION_HOURS of a click on the product are attributed to that click.
RECOMMENDER_IMPRESSION_FLUSH_SECONDS = env.float("RECOMMENDER_IMPRESSION_FLUSH_SECONDS", default=2.0)
RECOMMENDER_IMPRESSION_BATCH = env.int("RECOMMENDER_IMPRESSION_BATCH", default=200)
RECOMMENDER_IMPRESSION_REPEAT_MINUTES = env.float("RECOMMENDER_IMPRESSION_REPEAT_MINUTES", default=30.0)
RECOMMENDER_ATTRIBUTION_HOURS = env.float("RECOMMENDER_ATTRIBUTION_HOURS", default=24.0)
# A started or stopped experiment reaches every process within this many seconds.
RECOMMENDER_EXPERIMENT_CACHE_SECONDS = env.float("RECOMMENDER_EXPERIMENT_CACHE_SECONDS", default=5.0)
# Anonymous-shopper lists (popularity, delight) are shared by everyone: cached this long.
RECOMMENDER_COLD_START_CACHE_SECONDS = env.int("RECOMMENDER_COLD_START_CACHE_SECONDS", default=60)
# Staff API clients read any account's recommendations with a token
# (``python manage.py drf_create_token <staff username>``; the app brings its own migration).
INSTALLED_APPS += ["rest_framework.authtoken"]
