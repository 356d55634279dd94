# syntax=docker/dockerfile:1
# The portal in containers: `docker compose up -d` (compose.yaml) runs it with its job worker, PostgreSQL, Redis
# and nginx. Stages:
#   node    npm ci and the copies of `make assets` into static/vendor/ (the Makefile's own target)
#   build   the lock's wheels (hash-checked), the portal's wheel, a virtualenv of the portal and its runtime
#           dependencies only, static/dist/ (python -m portal.assets) and the compiled translations
#   portal  (the default) Debian slim with Pango (the PDFs), the virtualenv and the files, user "portal";
#           `web` (the default command): flask db upgrade, then gunicorn; `flask jobs worker`: the job worker
#   nginx   nginx with deploy/nginx/portal.conf and the built static files (compose's nginx service)
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG NODE_IMAGE=node:22-bookworm
ARG NGINX_IMAGE=nginx:1.27-bookworm

FROM ${NODE_IMAGE} AS node
WORKDIR /src
COPY Makefile package.json package-lock.json ./
RUN make .make/assets

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
# Every file of the lock, checked against its hash; the portal's virtualenv then takes from them (and nothing
# else: --no-index) what the portal needs at run time, at the lock's versions.
COPY requirements.lock ./
RUN python -m pip download --quiet --require-hashes --only-binary=:all: -r requirements.lock -d /wheels
COPY pyproject.toml README.md ./
COPY portal portal
RUN python -m pip install --quiet --no-index --find-links /wheels setuptools \
    && python -m pip wheel --quiet --no-deps --no-build-isolation --no-index --wheel-dir /wheels . \
    && python -m venv /opt/portal/venv \
    && /opt/portal/venv/bin/pip install --quiet --no-index --find-links /wheels portal \
    && /opt/portal/venv/bin/pip check
COPY app.py gunicorn.conf.py ./
COPY migrations migrations
COPY templates templates
COPY translations translations
COPY static static
COPY deploy deploy
COPY --from=node /src/static/vendor static/vendor
# static/dist/ from this source tree (python -m portal.assets reads templates/ and portal/ for the icons in use).
RUN /opt/portal/venv/bin/python -m portal.assets \
    && /opt/portal/venv/bin/pybabel compile --directory translations \
    && mkdir -p /opt/portal/app \
    && cp -a app.py gunicorn.conf.py migrations templates translations static deploy /opt/portal/app/ \
    && chmod 755 /opt/portal/app/deploy/docker-entrypoint.sh

FROM ${NGINX_IMAGE} AS nginx
# The shipped site with compose's one application host (the service "portal") and logs to the container's output.
COPY deploy/nginx/portal.conf /etc/nginx/conf.d/default.conf
RUN sed -i -e 's/^\(\s*\)server 127\.0\.0\.1:8000 /\1server portal:8000 /' -e '/server 127\.0\.0\.1:8001/d' \
        -e 's#/var/log/nginx/portal\.access\.log#/dev/stdout#; s#/var/log/nginx/portal\.error\.log#/dev/stderr#' \
        /etc/nginx/conf.d/default.conf
COPY --from=build /opt/portal/app/static /opt/portal/current/static

FROM ${PYTHON_IMAGE} AS portal
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/portal --shell /usr/sbin/nologin portal \
    && mkdir -p /var/lib/portal/files /var/lib/portal/audit /var/lib/portal/mail \
    && chown -R portal:portal /var/lib/portal
COPY --from=build /opt/portal /opt/portal
ENV PATH=/opt/portal/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PORTAL_HOME=/opt/portal/app \
    FLASK_APP=/opt/portal/app/app.py \
    PORTAL_BIND=0.0.0.0:8000 \
    PORTAL_STORAGE_DIR=/var/lib/portal/files \
    PORTAL_JOBS_DB=/var/lib/portal/jobs.sqlite \
    PORTAL_AUDIT_ARCHIVE_DIR=/var/lib/portal/audit \
    MAIL_FILE_PATH=/var/lib/portal/mail
WORKDIR /opt/portal/app
USER portal
VOLUME ["/var/lib/portal"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('PORTAL_BIND', ':8000').split(',')[0].rsplit(':', 1)[1]; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)"]
ENTRYPOINT ["/opt/portal/app/deploy/docker-entrypoint.sh"]
CMD ["web"]
