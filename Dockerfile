# Porchlight in a container: python:3.11-slim, a user without privileges, the database on
# the volume /data. Untested here: no Docker engine ran where this file was written.
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
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install . && rm -rf /src

# Texts and non-secret defaults. Secrets come from the environment (--env-file .env).
WORKDIR /app
COPY config ./config
ENV PORCHLIGHT_CONFIG_DIR=/app/config \
    DATABASE_PATH=/data/porchlight.sqlite3

USER porchlight
VOLUME /data
# Used only in webhook mode (WEBHOOK_URL set, WEBHOOK_LISTEN=0.0.0.0 inside the container).
EXPOSE 8443
# SIGTERM (docker stop) lets the bot finish sending what is in flight.
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot", "run"]
