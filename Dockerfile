# Porchlight in a container: python:3.11-slim, a user without privileges, the database on
# the volume /data. Untested here: no engine could fetch the base image where this was written.
#
#   docker build -t porchlight .
#   docker run -d --name porchlight --env-file .env -v porchlight-data:/data \
#       --restart unless-stopped porchlight
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A system user of its own; /data belongs to it (a new named volume takes this owner).
RUN useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin \
        porchlight \
    && mkdir -p /data \
    && chown porchlight:porchlight /data \
    && chmod 700 /data

# Install the package from a folder that is removed again, so the installed copy is the
# only one (python -m bot run would otherwise find ./bot first).
# The package carries the default configuration (texts, safety resources, settings.toml).
WORKDIR /src
COPY pyproject.toml setup.py MANIFEST.in README.md LICENSE .env.example ./
COPY bot ./bot
COPY config ./config
RUN pip install . && rm -rf /src

# A programme's own configuration (from `porchlight init`) can be mounted at /app/config:
# the bot reads ./config when it is there, else the copy in the package. Secrets come from
# the environment (--env-file .env).
WORKDIR /app
ENV DATABASE_PATH=/data/porchlight.sqlite3

USER porchlight
VOLUME /data
# Used only in webhook mode (WEBHOOK_URL set, WEBHOOK_LISTEN=0.0.0.0 inside the container).
EXPOSE 8443
# Healthy while the bot ticks and reaches Telegram (the heartbeat in the database).
HEALTHCHECK --interval=60s --timeout=15s --start-period=60s --retries=3 \
    CMD ["porchlight", "health"]
# SIGTERM (docker stop) lets the bot finish sending what is in flight.
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot", "run"]
