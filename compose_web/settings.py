"""Django settings for compose-web, read from the environment.

Embedded default (a bare clone): SQLite in WAL mode, Huey on SQLite, an in-memory
channel layer; nothing else to run. ``DATABASE_URL`` moves the database to
PostgreSQL; ``REDIS_URL`` moves the task queue and the channel layer to Redis.
Every variable is listed in docs/web.md.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from csp.constants import NONE, SELF

from compose_web.env import env_bool, env_choice, env_float, env_int, env_list, env_octal, env_path, env_str
from compose_web.keys import generated_once, secrets_keys

BASE_DIR = Path(__file__).resolve().parent.parent
# What the web server, the worker and its job processes create (the SQLite database,
# generated keys, workspace files, run outputs) is readable by this user alone; 027
# would let a group read it too. Set before anything below creates a file.
os.umask(env_octal("COMPOSE_UMASK", 0o077))
VAR_DIR = env_path("COMPOSE_VAR_DIR", BASE_DIR / "var", base=BASE_DIR)
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept under var/."""
    return env_str("SECRET_KEY") or generated_once(VAR_DIR / "secret-key.txt", lambda: secrets.token_urlsafe(50))


SECRET_KEY = _secret_key()
# Seal workspace secrets in the database (training.secret_box); see compose_web.keys.
COMPOSE_SECRETS_KEYS = secrets_keys(os.environ, VAR_DIR, env_str("DATABASE_URL"))
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",  # its runserver serves ASGI (websockets) in development
    "compose_web",  # before django.contrib.auth: its createsuperuser checks the password
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "huey.contrib.djhuey",
    "axes",
    "ninja",  # serves the API docs page's scripts from static/, not a CDN
    "training",
    "datasets_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page needs a login; views that must stay public use @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: it turns a login refused by the throttle into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "compose_web.urls"
WSGI_APPLICATION = "compose_web.wsgi.application"
ASGI_APPLICATION = "compose_web.asgi.application"

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
            ],
        },
    },
]

# --- database ---------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
            conn_health_checks=True,
        )
    }
else:
    # The web process and the worker write at the same time: WAL lets readers go on
    # while one writes, IMMEDIATE takes the write lock at BEGIN (so a transaction never
    # fails half-way on a lock upgrade), and the busy timeout makes a writer wait its
    # turn instead of failing with "database is locked".
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(env_path("SQLITE_PATH", VAR_DIR / "db.sqlite3", base=BASE_DIR)),
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": ("PRAGMA journal_mode=WAL; PRAGMA busy_timeout=20000; PRAGMA synchronous=NORMAL"),
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- task queue and channel layer -------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
_huey_consumer = {
    "workers": env_int("HUEY_WORKERS", 1, minimum=1),
    "worker_type": "thread",
    "periodic": True,
    "check_worker_health": True,
    # On Ctrl-C, wait this long for short tasks; running runs are then stopped and
    # marked interrupted (training.tasks.stop_runs_on_shutdown) instead of waited for.
    "shutdown_timeout": 5,
}
HUEY: dict[str, Any]
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.PriorityRedisHuey",
        "name": env_str("HUEY_NAME", "compose-web"),
        "immediate": env_bool("HUEY_IMMEDIATE", False),
        "connection": {"url": REDIS_URL},
        "consumer": _huey_consumer,
    }
    from channels_redis.core import RedisChannelLayer

    # A consumer waits for messages in a blocking pop that Redis answers after
    # brpop_timeout (5 s) when nothing came. redis-py 8 gives every socket a 5 s read
    # timeout by default, so the read gave up first and closed every idle websocket;
    # the read timeout must outlast the pop.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "socket_timeout": RedisChannelLayer.brpop_timeout + 10}],
                "prefix": env_str("CHANNELS_PREFIX", "compose-web"),
            },
        }
    }
    # Counts every web process must agree on (wrong API tokens per address, API runs per
    # token) live in Redis too; the embedded default is one web process, so its memory will do.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_PREFIX", "compose-web"),
        }
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "compose-web",
        "immediate": env_bool("HUEY_IMMEDIATE", False),
        "filename": str(env_path("HUEY_SQLITE_PATH", VAR_DIR / "huey.sqlite3", base=BASE_DIR)),
        "consumer": _huey_consumer,
    }
    # Only reaches consumers in this process; the worker's events still arrive
    # because the consumer tails the database (see docs/web.md).
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


# --- compose ----------------------------------------------------------------------
def _default_job_memory_mb() -> int:
    import psutil

    return int(psutil.virtual_memory().total * 0.8) // (1 << 20)


COMPOSE_STORAGE_DIR = env_path("COMPOSE_STORAGE_DIR", VAR_DIR / "storage", base=BASE_DIR)
COMPOSE_WORKSPACES_DIR = env_path("COMPOSE_WORKSPACES_DIR", VAR_DIR / "workspaces", base=BASE_DIR)
# How often a running worker proves it is alive and looks for a cancel request.
COMPOSE_HEARTBEAT_S = env_float("COMPOSE_HEARTBEAT_S", 3.0, minimum=0.05)
# A running run whose heartbeat is older than this is marked interrupted.
COMPOSE_STALE_AFTER_S = env_int("COMPOSE_STALE_AFTER_S", 60, minimum=1)
# The websocket consumer re-reads the event table this often when nothing woke it.
COMPOSE_EVENT_POLL_S = env_float("COMPOSE_EVENT_POLL_S", 2.0 if REDIS_URL else 0.5, minimum=0.05)
# How long a stopping worker waits for its runs' job processes to save and exit.
COMPOSE_SHUTDOWN_GRACE_S = env_float("COMPOSE_SHUTDOWN_GRACE_S", 30.0, minimum=0)
# Variables of the worker's environment a job may also see, beyond compose.jobenv's
# allow-list (names or patterns, comma-separated); the server's keys never belong here.
COMPOSE_JOB_ENV_ALLOW = env_list("COMPOSE_JOB_ENV_ALLOW", [])
# A job process's memory ceiling in MiB (its data segment, RLIMIT_DATA; 0: none). The
# default keeps a fifth of this machine's memory for the web process and the database.
COMPOSE_JOB_MEMORY_MB = env_int("COMPOSE_JOB_MEMORY_MB", _default_job_memory_mb(), minimum=0)
# A job running longer than this many seconds is stopped and fails (0: no limit).
COMPOSE_JOB_TIMEOUT_S = env_float("COMPOSE_JOB_TIMEOUT_S", 0.0, minimum=0)
# A run interrupted by a lost or stopped worker is queued again by itself until it has
# had this many attempts (1: never again); a run a person cancelled never is.
COMPOSE_MAX_ATTEMPTS = env_int("COMPOSE_MAX_ATTEMPTS", 3, minimum=1)
# The most runs one sweep (several values of some inputs, every combination) may queue.
COMPOSE_SWEEP_MAX_RUNS = env_int("COMPOSE_SWEEP_MAX_RUNS", 32, minimum=1)
# "subprocess" (a runner process per job) or "inprocess" (debugging only).
COMPOSE_EXECUTOR = env_choice("COMPOSE_EXECUTOR", ("subprocess", "inprocess"))
COMPOSE_WORKER_NAME = env_str("COMPOSE_WORKER_NAME")  # default: host:pid
# Labels a run can ask for with resources.labels (comma-separated: a100,nvme).
COMPOSE_WORKER_LABELS = env_list("COMPOSE_WORKER_LABELS", [])
# Pretend this many GPUs (tests and demos on a machine without any); listed as fake on the
# Fleet page. Refused with COMPOSE_HTTPS on: a site served to people runs on real GPUs.
COMPOSE_FAKE_GPUS = env_int("COMPOSE_FAKE_GPUS", 0, minimum=0)
# Placement: a worker takes a queued run only when it can hold it now (free GPUs, labels,
# the workspace's GPU limit), claiming its GPUs with PostgreSQL row locks. On by default
# with DATABASE_URL; the embedded default keeps its one-worker claim.
COMPOSE_PLACEMENT = env_bool("COMPOSE_PLACEMENT", bool(env_str("DATABASE_URL")))
COMPOSE_DEFAULT_SFT_MODEL = env_str("COMPOSE_DEFAULT_SFT_MODEL")
COMPOSE_DEFAULT_CLASSIFICATION_MODEL = env_str("COMPOSE_DEFAULT_CLASSIFICATION_MODEL")
# Runs an API token may create (runs, reruns, resumes) per period: "N/s", "N/m", "N/h", "N/d".
COMPOSE_API_RUN_RATE = env_str("COMPOSE_API_RUN_RATE", "30/m")
if not __import__("re").fullmatch(r"[1-9][0-9]*/[smhd]", COMPOSE_API_RUN_RATE):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"COMPOSE_API_RUN_RATE={COMPOSE_API_RUN_RATE!r} is not like 30/m")

# --- auth, i18n, static -----------------------------------------------------------
# Checked wherever a password is set: the admin, createsuperuser, changepassword, and
# bootstrap's COMPOSE_ADMIN_PASSWORD. At 0.7 (Django's default) the similarity check
# never fires on a 12-character password holding a 5-letter user name; 0.5 catches
# "adminadmin12" yet lets a long passphrase through.
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"max_similarity": 0.5},
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First, so a locked-out login is refused before its password is even checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttle: after LOGIN_FAILURE_LIMIT wrong passwords for one user name from one
# address, that pair is refused for LOGIN_COOLOFF_MINUTES (every further try restarts
# the wait). Counting the pair, not the name alone, keeps a stranger from locking a
# user out everywhere; counting the pair, not the address alone, keeps one office
# behind a NAT from locking out each other.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "compose_web.login_throttle.lockout_response"
AXES_CLIENT_IP_CALLABLE = "compose_web.login_throttle.client_ip"
# Its log names the address of each failure (for the operator) but not the user name
# typed, which is sometimes a password typed into the wrong field.
AXES_SENSITIVE_PARAMETERS = ["username"]
AXES_VERBOSE = False  # no banner on every manage.py command; failures are still logged
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every start without it
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from static/ without collectstatic while developing.
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", DEBUG)
WHITENOISE_AUTOREFRESH = DEBUG

# --- request size -----------------------------------------------------------------
# The largest request body taken (a 1 MB YAML upload with its form fits); a larger one
# is refused with 413 from its Content-Length, before it is read (compose_web.serve,
# compose_web.body_limit). Django's own cap on form fields follows it.
COMPOSE_MAX_REQUEST_BYTES = env_int("COMPOSE_MAX_REQUEST_BYTES", 2_500_000, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = COMPOSE_MAX_REQUEST_BYTES

# --- Content-Security-Policy --------------------------------------------------------
# Scripts and styles come from static/ only: no inline <script>, no style="" and no
# on*="" attributes, so markup slipped into a page cannot run. 'self' in connect-src
# covers the run page's websocket on the same host. Every page is checked in
# tests/web/test_security_csp.py.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- HTTPS ------------------------------------------------------------------------
# COMPOSE_HTTPS=1: browsers reach the site over HTTPS only (a proxy in front, or daphne's
# TLS endpoint). Plain HTTP is redirected, cookies go over HTTPS only, and browsers are
# told to keep to HTTPS (HSTS). Off by default so a bare clone serves http://127.0.0.1.
COMPOSE_HTTPS = env_bool("COMPOSE_HTTPS", False)
if COMPOSE_FAKE_GPUS and COMPOSE_HTTPS:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "COMPOSE_FAKE_GPUS is for tests and demos; it is refused with "
        "COMPOSE_HTTPS on (a site people use places runs on real GPUs)"
    )
# Only a proxy of ours in front makes X-Forwarded-Proto / X-Forwarded-For believable.
COMPOSE_BEHIND_PROXY = env_bool("COMPOSE_BEHIND_PROXY", False)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", COMPOSE_HTTPS)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if COMPOSE_HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", COMPOSE_HTTPS)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", COMPOSE_HTTPS)
if COMPOSE_BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# HSTS for every subdomain, and the browsers' preload list, bind sites this app knows
# nothing about and take months to undo: the operator opts in (the two settings
# above), so Django's reminders to do so are silenced.
SILENCED_SYSTEM_CHECKS = ["security.W005", "security.W021"]

# The DEBUG error page and error mails hide credentials: DATABASE_URL, REDIS_URL, any
# URL with a password in it, posted passwords.
DEFAULT_EXCEPTION_REPORTER_FILTER = "compose_web.error_reports.CredentialsFilter"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # Configured here so run_huey does not add a second handler of its own.
        "huey": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
