"""Settings of the host service, read from the environment.

Every value has a default that works on a fresh clone with nothing running: an embedded SQLite
database, Celery tasks executed in-process and no event bus.
"""
import json
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_json(name: str):
    """The JSON value of an environment variable; invalid JSON is refused naming the variable (and
    only where it breaks: the value may hold API keys)."""
    try:
        return json.loads(os.environ[name])
    except json.JSONDecodeError as exc:
        raise ImproperlyConfigured(f"{name} is not valid JSON: {exc}") from exc


def env_number(name: str) -> float:
    value = os.environ[name]
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}.") from None


SECRET_KEY = os.environ.get("SECRET_KEY", "insecure-development-key-change-me")
SECRET_KEY_FALLBACKS = [key for key in os.environ.get("SECRET_KEY_FALLBACKS", "").split(",") if key]
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "rest_framework",
    "credentials_project.core",
    "credentials_project.credentials",
    "badges",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves the admin's CSS and JS from STATIC_ROOT (filled by `collectstatic`) with DEBUG off too.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "credentials_project.urls"
WSGI_APPLICATION = "credentials_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        # An empty DATABASE_URL means the embedded default, like an unset one.
        os.environ.get("DATABASE_URL", "").strip() or f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
    )
}
# A database host that accepts connections but never answers (a partition, a failover address
# that swallows packets) must not block the consumer and the workers forever: connections give up
# after DATABASE_CONNECT_TIMEOUT_SECONDS and a silent established connection is dropped after
# DATABASE_READ_TIMEOUT_SECONDS (PostgreSQL: TCP keepalives and tcp_user_timeout; MySQL: PyMySQL's
# read/write timeouts, which also bound its handshake). 0 sets none. Options given in DATABASE_URL
# (?connect_timeout=...) win.
DATABASE_CONNECT_TIMEOUT_SECONDS = int(os.environ.get("DATABASE_CONNECT_TIMEOUT_SECONDS", "10"))
DATABASE_READ_TIMEOUT_SECONDS = int(os.environ.get("DATABASE_READ_TIMEOUT_SECONDS", "30"))
# PostgreSQL only: the server cancels a statement running longer than this (0: no limit).
DATABASE_STATEMENT_TIMEOUT_SECONDS = int(os.environ.get("DATABASE_STATEMENT_TIMEOUT_SECONDS", "300"))
_db_options = DATABASES["default"].setdefault("OPTIONS", {})
_connect_timeout = {"connect_timeout": DATABASE_CONNECT_TIMEOUT_SECONDS} if DATABASE_CONNECT_TIMEOUT_SECONDS else {}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    _keepalive_idle = max(1, DATABASE_READ_TIMEOUT_SECONDS // 3)
    _read_timeout = {
        "keepalives": 1,
        "keepalives_idle": _keepalive_idle,
        "keepalives_interval": max(1, _keepalive_idle // 3),
        "keepalives_count": 3,
        "tcp_user_timeout": DATABASE_READ_TIMEOUT_SECONDS * 1000,
    } if DATABASE_READ_TIMEOUT_SECONDS > 0 else {}
    for _name, _value in {**_connect_timeout, **_read_timeout}.items():
        _db_options.setdefault(_name, _value)
    if DATABASE_STATEMENT_TIMEOUT_SECONDS > 0 and "statement_timeout" not in _db_options.get("options", ""):
        _db_options["options"] = " ".join(filter(None, [
            _db_options.get("options", ""), f"-c statement_timeout={DATABASE_STATEMENT_TIMEOUT_SECONDS * 1000}"]))
elif DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    import pymysql

    # PyMySQL stands in for mysqlclient, which needs C headers this service does not require.
    pymysql.version_info = (2, 2, 1, "final", 0)
    pymysql.install_as_MySQLdb()
    _db_options.update({"charset": "utf8mb4"})
    _read_timeout = ({"read_timeout": DATABASE_READ_TIMEOUT_SECONDS, "write_timeout": DATABASE_READ_TIMEOUT_SECONDS}
                     if DATABASE_READ_TIMEOUT_SECONDS > 0 else {})
    for _name, _value in {**_connect_timeout, **_read_timeout}.items():
        _db_options.setdefault(_name, _value)
    DATABASES["default"].setdefault("TEST", {}).update({"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_bin"})
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets the web service and a consumer process read while the other writes, and makes a
    # commit cheap; synchronous=NORMAL may lose the last commits on power loss, not on a crash.
    # Several processes write to the one file (web, consumers, tasks). A deferred transaction that
    # read first cannot wait for the write lock (SQLite answers "database is locked" at once), so
    # every transaction takes the write lock when it begins (IMMEDIATE) and waits for it up to
    # DATABASE_SQLITE_LOCK_TIMEOUT_SECONDS.
    _db_options.update({
        "timeout": float(os.environ.get("DATABASE_SQLITE_LOCK_TIMEOUT_SECONDS", "60")),
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    })
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "core.User"
SITE_ID = 1

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or BASE_DIR / "var" / "static")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # openedx-events logs every signal's list of receivers at INFO: noise on the console.
    "loggers": {"openedx_events.tooling": {"level": "WARNING"}},
}

# --- REST API authentication (JWTs issued by the LMS, checked by edx-drf-extensions) ----------
# The badges API sets its own authentication classes; a host only says which JWTs to trust. The
# defaults suit local development: set JWT_ISSUER, JWT_AUDIENCE and JWT_SECRET_KEY (the LMS's
# values) in production.
JWT_AUTH = {
    "JWT_AUTH_HEADER_PREFIX": "JWT",
    "JWT_DECODE_HANDLER": "edx_rest_framework_extensions.auth.jwt.decoder.jwt_decode_handler",
    "JWT_ISSUERS": [{
        "ISSUER": os.environ.get("JWT_ISSUER", "http://localhost:18000/oauth2"),
        "AUDIENCE": os.environ.get("JWT_AUDIENCE", "lms-key"),
        "SECRET_KEY": os.environ.get("JWT_SECRET_KEY", "lms-development-jwt-secret-change-me"),
    }],
    "JWT_PUBLIC_SIGNING_JWK_SET": os.environ.get("JWT_PUBLIC_SIGNING_JWK_SET") or None,
}
# edx-drf-extensions reports to edx-django-utils' telemetry backends, New Relic by default; this
# host has none installed (which would be logged as a warning in every process).
OPENEDX_TELEMETRY = []

# --- Celery ---------------------------------------------------------------------------------
# No broker configured: run tasks in-process, so the embedded default needs nothing running.
CELERY_TASK_ALWAYS_EAGER = not os.environ.get("CELERY_BROKER_URL")
# Tasks run in-process without a broker; the in-memory transport keeps kombu from looking for an
# AMQP server on localhost (and from warning about it) when a task is queued.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True

# --- Badges (every BADGES_* setting, its default and effect: docs/settings.rst) ---------------
# The host contract (docs/host-contract.rst): this host's own base models instead of Open edX
# Credentials' ones, which are the app's defaults.
BADGES_HOST_TIMESTAMPED_MODEL = "credentials_project.credentials.models.TimeStampedModel"
BADGES_HOST_ABSTRACT_CREDENTIAL_MODEL = "credentials_project.credentials.models.AbstractCredential"
BADGES_HOST_USER_CREDENTIAL_MODEL = "credentials_project.credentials.models.UserCredential"
BADGES_ENABLED = env_bool("BADGES_ENABLED", True)
if os.environ.get("BADGES_CONFIG"):
    BADGES_CONFIG = env_json("BADGES_CONFIG")
if os.environ.get("BADGES_CREDLY_WEBHOOK_SECRET"):
    BADGES_CREDLY_WEBHOOK_SECRET = os.environ["BADGES_CREDLY_WEBHOOK_SECRET"]
# Numbers from the environment; unset ones keep the app's defaults. The app's system checks
# refuse values out of range (a negative retry horizon, a zero sweep interval).
for _name in (
    "BADGES_EVENT_DEDUP_DAYS",
    "BADGES_ISSUE_RETRY_HOURS",
    "BADGES_ISSUE_RETRY_FIRST_DELAY_SECONDS",
    "BADGES_SWEEP_INTERVAL_SECONDS",
    "BADGES_SWEEP_GRACE_SECONDS",
    "BADGES_SCHEDULED_SYNC_HOURS",
    "BADGES_CONSUMER_DB_RETRY_MAX_DELAY_SECONDS",
):
    if os.environ.get(_name):
        globals()[_name] = env_number(_name)
# Provider pacing (docs/providers.rst): a JSON dict per origin, e.g. {"credly": {"per_second": 50, "burst": 5}},
# and the Redis that holds the shared buckets (unset: a redis:// CELERY_BROKER_URL, else in-process).
if os.environ.get("BADGES_PROVIDER_RATE_LIMITS"):
    BADGES_PROVIDER_RATE_LIMITS = env_json("BADGES_PROVIDER_RATE_LIMITS")
if os.environ.get("BADGES_PROVIDER_PACING_REDIS_URL"):
    BADGES_PROVIDER_PACING_REDIS_URL = os.environ["BADGES_PROVIDER_PACING_REDIS_URL"]
# Fernet keys that encrypt stored provider API keys, comma-separated, newest (the one that
# encrypts) first; every one decrypts. Unset: keys derived from SECRET_KEY and SECRET_KEY_FALLBACKS.
# After adding a key, run `manage.py reencrypt_api_keys` before removing the old one (docs/settings.rst).
if os.environ.get("BADGES_FIELD_ENCRYPTION_KEYS"):
    BADGES_FIELD_ENCRYPTION_KEYS = [
        key.strip() for key in os.environ["BADGES_FIELD_ENCRYPTION_KEYS"].split(",") if key.strip()
    ]
# The LMS's RETIRED_USER_SALTS, comma-separated, oldest first: retiring a learner hashes their username
# with the last one, as the LMS does (docs/learner-identity.rst).
if os.environ.get("BADGES_RETIRED_USER_SALTS"):
    BADGES_RETIRED_USER_SALTS = [salt for salt in os.environ["BADGES_RETIRED_USER_SALTS"].split(",") if salt]
# The beat entries (sweep, optional scheduled sync) are added by credentials_project/celery.py.

# --- Event bus (openedx-events); the backend is chosen by environment ------------------------
# EVENT_BUS_BACKEND: "" (no bus: events are only handled in-process), "kafka" or "redis".
# The consumer is `manage.py consume_events -t learning-badges-lifecycle -g <group>`; see
# docs/event-bus.rst. EVENT_BUS_PRODUCER / EVENT_BUS_CONSUMER override the backend's defaults
# (tests point EVENT_BUS_CONSUMER at badges.testing.kafka_consumer for a short group join). The
# consumers are the badges app's subclasses of the libraries' consumers: they keep a message on the
# bus while the database is unreachable, where the libraries' own would acknowledge it and lose it.
EVENT_BUS_BACKEND = os.environ.get("EVENT_BUS_BACKEND", "").strip().lower()
_EVENT_BUS_BACKENDS = {
    "": ("", "", None),
    "kafka": ("edx_event_bus_kafka.create_producer", "badges.consumers.DatabaseWaitingKafkaEventConsumer",
              "edx_event_bus_kafka"),
    "redis": ("edx_event_bus_redis.create_producer", "badges.consumers.DatabaseWaitingRedisEventConsumer",
              "edx_event_bus_redis"),
}
if EVENT_BUS_BACKEND not in _EVENT_BUS_BACKENDS:
    raise ValueError(f"EVENT_BUS_BACKEND must be one of '', 'kafka', 'redis'; got {EVENT_BUS_BACKEND!r}.")
_default_producer, _default_consumer, _backend_app = _EVENT_BUS_BACKENDS[EVENT_BUS_BACKEND]
# openedx_events provides `consume_events` and publishes EVENT_BUS_PRODUCER_CONFIG's events;
# the backend's app adds its `produce_event` test command.
INSTALLED_APPS += ["openedx_events"] + ([_backend_app] if _backend_app else [])
EVENT_BUS_PRODUCER = os.environ.get("EVENT_BUS_PRODUCER", _default_producer) or None
EVENT_BUS_CONSUMER = os.environ.get("EVENT_BUS_CONSUMER", _default_consumer) or None
EVENT_BUS_TOPIC_PREFIX = os.environ.get("EVENT_BUS_TOPIC_PREFIX", "")
EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS = os.environ.get("EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL = os.environ.get("EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL", "http://127.0.0.1:8081")
# Seconds one poll waits for the broker; the offset-reset run (--extra offset_time) polls once, then sleeps 30 s.
EVENT_BUS_KAFKA_CONSUMER_POLL_TIMEOUT = float(os.environ.get("EVENT_BUS_KAFKA_CONSUMER_POLL_TIMEOUT", "1.0"))
EVENT_BUS_REDIS_CONNECTION_URL = os.environ.get("EVENT_BUS_REDIS_CONNECTION_URL", "redis://127.0.0.1:6379/0")
# Seconds an idle Redis consumer blocks per read. The library's 60 s default outlasts redis-py's 5 s
# socket timeout, so an idle consumer would log a TimeoutError every few seconds; stay below it.
EVENT_BUS_REDIS_CONSUMER_POLL_TIMEOUT = int(os.environ.get("EVENT_BUS_REDIS_CONSUMER_POLL_TIMEOUT", "2"))
# Badge lifecycle events go out on the topic the consumer reads, keyed by the badge's UUID, only
# while badges are enabled and a producer is configured.
EVENT_BUS_BADGES_TOPIC = "learning-badges-lifecycle"
_publish_badge_events = BADGES_ENABLED and bool(EVENT_BUS_PRODUCER)
EVENT_BUS_PRODUCER_CONFIG = {
    event_type: {EVENT_BUS_BADGES_TOPIC: {"event_key_field": "badge.uuid", "enabled": _publish_badge_events}}
    for event_type in ("org.openedx.learning.badge.awarded.v1", "org.openedx.learning.badge.revoked.v1")
}
