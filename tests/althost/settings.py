"""Settings of the second test host: SQLite, eager Celery, no event bus; only what the app needs."""
from pathlib import Path

SECRET_KEY = "althost-test-key"
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "tests.althost.people",
    "tests.althost.records",
    "openedx_events",
    "rest_framework",
    "badges",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "tests.althost.urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3",
                         "NAME": str(Path(__file__).resolve().parent / "althost.sqlite3")}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
AUTH_USER_MODEL = "people.Person"
SITE_ID = 1
USE_TZ = True
STATIC_URL = "static/"
CELERY_TASK_ALWAYS_EAGER = True

BADGES_ENABLED = True
BADGES_HOST_TIMESTAMPED_MODEL = "tests.althost.records.models.Stamped"
BADGES_HOST_ABSTRACT_CREDENTIAL_MODEL = "tests.althost.records.models.CredentialDefinition"
BADGES_HOST_USER_CREDENTIAL_MODEL = "tests.althost.records.models.LearnerCredential"
