"""GridGov settings: one module, configured from the environment.

With nothing set, the platform runs on an embedded default: SQLite under ``var/``, Celery tasks
executed in-process (no Redis), Chinese interface. Production sets ``DATABASE_URL``, ``REDIS_URL``,
``SECRET_KEY``, ``ALLOWED_HOSTS`` and ``DEBUG=false``; see README.md.
"""

from pathlib import Path

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from governance.env import (
    env_bool,
    env_choice,
    env_database,
    env_int,
    env_list,
    env_redis_url,
    env_str,
    env_timezone,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("GRIDGOV_VAR_DIR", str(BASE_DIR / "var")))

# On by default so that a fresh clone runs as it is; every deployment sets DEBUG=false (docker-compose
# does), and `check --deploy` fails loudly if it is left on.
DEBUG = env_bool("DEBUG", default=True)

# A development key is used only while DEBUG is on; served without DEBUG, a key must be given.
DEV_SECRET_KEY = "django-insecure-gridgov-development-key-do-not-use-in-production"
SECRET_KEY = env_str("SECRET_KEY", DEV_SECRET_KEY if DEBUG else None)
if SECRET_KEY is None:
    raise ImproperlyConfigured("Environment variable SECRET_KEY must be set when DEBUG is off.")
if len(SECRET_KEY) < 50 and SECRET_KEY != DEV_SECRET_KEY:
    raise ImproperlyConfigured("Environment variable SECRET_KEY is too short: use at least 50 random characters.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # Admin modules are discovered by governance.apps (django-leaflet's needs GDAL, which we skip).
    "django.contrib.admin.apps.SimpleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",  # the built-in widget templates, for FORM_RENDERER below
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "axes",
    "leaflet",
    "governance",
    "grids",
    "dispatch",
    "open311",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "governance.middleware.RequestContextMiddleware",
    # Axes must come last: it turns lockouts raised during authentication into responses.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "governance.urls"
WSGI_APPLICATION = "governance.wsgi.application"
ASGI_APPLICATION = "governance.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "governance.context_processors.navigation",
            ],
        },
    },
]

# Widgets render through the project's template engine, so templates/django/forms/ can override
# Django's own (select.html: options written inline, several times faster on long lists).
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

DATABASES = {
    "default": env_database(
        "DATABASE_URL",
        default={"ENGINE": "django.db.backends.sqlite3", "NAME": VAR_DIR / "gridgov.sqlite3"},
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # SQLite serialises writers; wait for the lock instead of failing at once, and start write
    # transactions immediately so two requests cannot deadlock upgrading a read lock.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
    # The case indexes carry extra columns for PostgreSQL's index-only tab counts; SQLite builds
    # them without those columns (same rows, same answers), which is all the embedded default needs.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "governance.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600, minimum=300)

# Login throttling (django-axes): after AXES_FAILURE_LIMIT failed logins for one username from one
# address, that pair is locked out for AXES_COOLOFF_MINUTES.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 15, minimum=1) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "governance.audit.client_ip"
AXES_VERBOSE = False

# django-guardian: no anonymous user row; anonymous visitors have no object permissions.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

LANGUAGE_CODE = env_choice("LANGUAGE_CODE", "zh-hans", ["zh-hans", "en"])
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_timezone("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Served builds (DEBUG off) use hashed, compressed files from `collectstatic`; a development
    # checkout serves the source files as they are.
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Background work (Celery) -------------------------------------------------------------------
# With REDIS_URL set, tasks go to Redis and a worker plus beat run them. Without it, tasks run
# in-process at the moment they are sent, and `manage.py run_periodic` runs the beat schedule
# (README: "Background work without Redis").
REDIS_URL = env_redis_url("REDIS_URL")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = REDIS_URL is None
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Sending a task when Redis is down must fail fast (the request goes on; the work is re-sent later,
# see governance.queue): two quick reconnection attempts, then the error. The worker's own
# reconnection loop (broker_connection_retry) is not affected.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "governance.assignments_expire": {"task": "governance.tasks.assignments_expire", "schedule": crontab(minute=5, hour=0)},
    "grids.import_uploads_expire": {"task": "grids.tasks.import_uploads_expire", "schedule": crontab(minute=20, hour=3)},
    # Deadline warnings and overdue escalation; a run left in the queue past the next one is dropped.
    "dispatch.sweep": {"task": "dispatch.sweep", "schedule": 60.0, "options": {"expires": 55}},
    # Follow-up work (notifications) whose task never reached the broker, e.g. while Redis was down.
    "dispatch.follow_ups_resend": {
        "task": "dispatch.follow_ups_resend", "schedule": 120.0, "options": {"expires": 110},
    },
    # Client webhook deliveries whose task was lost (broker down, a worker killed mid-POST).
    "governance.webhook_deliveries_resend": {
        "task": "governance.webhook_deliveries_resend", "schedule": 300.0, "options": {"expires": 290},
    },
}

CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": "gridgov"}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- Email (copies of notifications) -------------------------------------------------------------
# Without EMAIL_HOST, mail is written to the console (development); with it, sent over SMTP.
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if env_str("EMAIL_HOST")
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", default=False)
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=not EMAIL_USE_SSL)
EMAIL_PORT = env_int("EMAIL_PORT", 465 if EMAIL_USE_SSL else 587, minimum=1)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("Set only one of EMAIL_USE_TLS and EMAIL_USE_SSL (SSL is for port 465).")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "GridGov <noreply@localhost>")
# The site's address as people outside it see it (links in emails and webhooks), e.g. https://gov.example.cn
SITE_URL = env_str("SITE_URL", "")
if SITE_URL and not SITE_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(
        f"Environment variable SITE_URL={SITE_URL!r} is invalid: expected an http(s):// address."
    )

# --- Security ------------------------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Behind a reverse proxy, REMOTE_ADDR is the proxy's. Name the header the proxy sets to the client's
# address (e.g. X-Real-IP) so that login throttling and the audit trail see the real client.
CLIENT_IP_HEADER = env_str("CLIENT_IP_HEADER")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # container health checks probe over plain HTTP
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- REST API (docs/api.md) -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "governance.api.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "governance.api.auth.TokenHasScope",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["governance.api.throttling.ApiRateThrottle"],
    "DEFAULT_PAGINATION_CLASS": "governance.api.pagination.ApiCursorPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "governance.api.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# Request rates (number/second|minute|hour|day): per API client unless the client sets its own,
# per signed-in browser user, per address for anonymous requests (Open311 reads, the public report).
API_CLIENT_RATE = env_str("API_CLIENT_RATE", "1200/minute")
API_USER_RATE = env_str("API_USER_RATE", "1200/minute")
API_ANON_RATE = env_str("API_ANON_RATE", "120/minute")

SPECTACULAR_SETTINGS = {
    "TITLE": "GridGov API",
    "DESCRIPTION": (
        "网格化服务管理平台 REST API (docs/api.md in the repository says all of this at length).\n\n"
        "- **Authentication**: `Authorization: Bearer <token>` (tokens of API clients, issued by the platform's "
        "administrators, with scopes) or the browser's session.\n"
        "- **Errors**: always `{\"error\": {\"code\", \"message\", \"fields\"}}`; 404 for missing and for not yours alike.\n"
        "- **Lists**: cursor pagination (`next`/`previous`, `page_size` ≤ 500), filters and `ordering` per list, "
        "`?format=csv` or `?format=xlsx` for the whole filtered list as a file.\n"
        "- **Mirroring**: `…/changes/?cursor=` gives every change once, deletions included.\n"
        "- **Details**: `ETag` / `If-None-Match`. **Writes**: `Idempotency-Key` on filing; states change only "
        "through the workflow actions, with the `version` you read.\n"
        "- **Webhooks**: `/api/v1/webhooks/` (signed, retried, replayable). Open311 GeoReport v2: `/open311/v2/`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Only /api/v1 is described: Open311 (/open311/v2/) follows the GeoReport v2 specification instead.
    "PREPROCESSING_HOOKS": ["governance.api.schema.api_v1_only"],
    # The one error format (governance/api/errors.py) on every operation: see governance/api/schema.py.
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "governance.api.schema.document_errors"],
    # Choice sets used by several fields get one name each.
    "ENUM_NAME_OVERRIDES": {
        "EventStateEnum": "dispatch.models.State",
        "EventChannelEnum": "dispatch.models.Channel",
        "ReportChannelEnum": "dispatch.api.serializers.API_CHANNELS",
        "ExtensionUnitEnum": "dispatch.services.EXTENSION_UNITS",
    },
}

LEAFLET_CONFIG = {
    "TILES": [],
    "DEFAULT_CENTER": (34.27, 108.93),
    "DEFAULT_ZOOM": 12,
    "RESET_VIEW": False,
}

# --- Map tiles (docs/maps.md) ---------------------------------------------------------------------
# MAP_TILES: "none" (default: grids on a plain background, works offline), "tianditu" (needs
# MAP_TIANDITU_KEY) or an XYZ URL template with {z}/{x}/{y}. MAP_TILES_CRS=gcj02 for AMap/Tencent
# style tiles: geometry is then converted from WGS-84 when drawn and back when saved.
_map_tiles = env_str("MAP_TILES", "none")
MAP_TIANDITU_KEY = env_str("MAP_TIANDITU_KEY")
if _map_tiles == "none":
    _tile_layers = []
elif _map_tiles == "tianditu":
    if not MAP_TIANDITU_KEY:
        raise ImproperlyConfigured("MAP_TILES=tianditu needs MAP_TIANDITU_KEY (a 天地图 browser key).")
    _tile_layers = [
        f"https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={layer}"
        f"&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={MAP_TIANDITU_KEY}"
        for layer in ("vec", "cva")
    ]
elif _map_tiles.startswith(("http://", "https://", "/")) and all(p in _map_tiles for p in ("{z}", "{x}", "{y}")):
    _tile_layers = [_map_tiles]
else:
    raise ImproperlyConfigured(
        f"Environment variable MAP_TILES={_map_tiles!r} is invalid: expected none, tianditu or a URL with {{z}}/{{x}}/{{y}}."
    )
GRIDGOV_MAP_TILES = {
    "layers": _tile_layers,
    "subdomains": "01234567" if _map_tiles == "tianditu" else "abc",
    "crs": env_choice("MAP_TILES_CRS", "wgs84", ["wgs84", "gcj02"]),
    "attribution": env_str("MAP_TILES_ATTRIBUTION", "天地图" if _map_tiles == "tianditu" else ""),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_choice("LOG_LEVEL", "INFO", ["DEBUG", "INFO", "WARNING", "ERROR"])},
    "loggers": {"axes": {"level": "WARNING"}},
}
