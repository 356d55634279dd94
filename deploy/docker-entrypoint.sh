#!/bin/sh
# The image's entry point. "web" (the default): the migrations, then gunicorn (gunicorn.conf.py: PORTAL_BIND,
# WEB_CONCURRENCY). Anything else runs as given: `flask jobs worker` (the job worker), `flask create-admin`, …
# Several web containers: let one of them migrate (or run `flask db upgrade` once before starting them).
set -e
if [ "$#" -eq 0 ] || [ "$1" = "web" ]; then
    flask db upgrade
    exec gunicorn -c gunicorn.conf.py app:app
fi
exec "$@"
