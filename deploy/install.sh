#!/usr/bin/env bash
# Installs (or upgrades) the portal from the archive this script came in, with no network at all: every Python
# package is a wheel under wheels/, checked against its hash. Run it from the unpacked archive:
#
#   tar xzf portal-<version>-py311-<platform>.tar.gz && cd portal-<version>
#   sudo ./install.sh                 # first install: asks for the first system administrator
#   sudo ./install.sh --upgrade       # a newer archive over an installed portal
#
# Layout (every folder can be changed, see --help):
#   /opt/portal/releases/<version>/   this archive's files and their virtualenv (venv/): one folder per version
#   /opt/portal/current               → the release in use (PORTAL_HOME): the systemd units run it
#   /var/lib/portal/                  the data: the SQLite database (unless DATABASE_URL names PostgreSQL), the
#                                     files (documents, photos), the job queue, the audit archives
#   /etc/portal/portal.env            the settings, written on the first install only (a random SECRET_KEY)
#
# Needs Python 3.11 (python3.11 or python3 with its venv module: Debian's python3.11-venv) and, for the PDFs, Pango
# (Debian: libpango-1.0-0 libpangoft2-1.0-0).
set -euo pipefail

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
  cat <<'EOF'
Options:
  --prefix DIR     where the releases and the "current" link live (default /opt/portal)
  --data DIR       the data folder (default /var/lib/portal)
  --env-file FILE  the settings (default /etc/portal/portal.env)
  --python PY      the Python 3.11 to build the virtualenv with (default python3.11, else python3)
  --user NAME      the system account the services run as, created if missing and owner of the data folder
                   (default portal when run as root; --user '' for none)
  --upgrade        an installed portal: stops its services (systemd), migrates, switches "current", starts them
  --no-admin       do not create the first system administrator (later: flask create-admin)
The first administrator is asked for, or read from PORTAL_ADMIN_EMAIL, PORTAL_ADMIN_NAME, PORTAL_ADMIN_PASSWORD.
EOF
}

PREFIX=/opt/portal
DATA=/var/lib/portal
ENV_FILE=/etc/portal/portal.env
PYTHON=
UPGRADE=
ADMIN=1
if [ "$(id -u)" = 0 ]; then SERVICE_USER=portal; else SERVICE_USER=; fi
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX=$2; shift 2 ;;
    --data) DATA=$2; shift 2 ;;
    --env-file) ENV_FILE=$2; shift 2 ;;
    --python) PYTHON=$2; shift 2 ;;
    --user) SERVICE_USER=$2; shift 2 ;;
    --upgrade) UPGRADE=1; shift ;;
    --no-admin) ADMIN=; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "Unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done

HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE"
VERSION=$(sed -n '1s/^portal //p' MANIFEST)
[ -n "$VERSION" ] || { echo "MANIFEST names no version: is this the unpacked archive?" >&2; exit 1; }
step() { printf '\n== %s\n' "$*"; }

step "Checking the archive (SHA256SUMS)"
sha256sum --quiet --check SHA256SUMS

if [ -z "$PYTHON" ]; then
  PYTHON=$(command -v python3.11 || command -v python3 || true)
fi
if [ -z "$PYTHON" ] || ! "$PYTHON" -c 'import sys, venv; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
  echo "Python 3.11 with its venv module is needed (--python PY): the wheels are built for it." >&2
  exit 1
fi
if command -v ldconfig >/dev/null && ! ldconfig -p | grep -q libpangoft2-1.0.so.0; then
  echo "Warning: Pango is not installed (Debian: apt-get install libpango-1.0-0 libpangoft2-1.0-0): the PDFs" \
       "(evidence packs, certificates) will fail until it is." >&2
fi
if [ -n "$UPGRADE" ] && [ ! -f "$ENV_FILE" ]; then
  echo "--upgrade: $ENV_FILE does not exist; install first (without --upgrade)." >&2
  exit 1
fi

RELEASE=$PREFIX/releases/$VERSION
step "Installing portal $VERSION into $RELEASE"
mkdir -p "$PREFIX/releases"
if [ -f "$RELEASE/venv/.installed" ] && cmp -s "$RELEASE/venv/.installed" "$HERE/SHA256SUMS"; then
  echo "This very archive is installed there already: its files and virtualenv are kept."
else
  if [ "$(cd "$PREFIX/releases" && pwd)/$VERSION" != "$HERE" ]; then
    rm -rf "$RELEASE.new"
    mkdir "$RELEASE.new"
    cp -a "$HERE/." "$RELEASE.new/"
    rm -rf "$RELEASE"
    mv "$RELEASE.new" "$RELEASE"
  fi
  "$PYTHON" -m venv --clear "$RELEASE/venv"
  # Only the archive's wheels: no index, no find-links or index of this machine's pip configuration, every file
  # checked against requirements.txt's hashes (the lock's, and the portal wheel's own).
  env -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null PIP_NO_INDEX=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 "$RELEASE/venv/bin/python" -m pip install --quiet --no-index \
    --find-links "$RELEASE/wheels" --require-hashes --only-binary=:all: -r "$RELEASE/wheels/requirements.txt"
  "$RELEASE/venv/bin/python" -m pip check
  cp "$HERE/SHA256SUMS" "$RELEASE/venv/.installed"
fi

FIRST=
if [ ! -f "$ENV_FILE" ]; then
  FIRST=1
  step "Writing the settings: $ENV_FILE"
  mkdir -p "$(dirname "$ENV_FILE")"
  umask_was=$(umask); umask 077
  {
    echo "# The portal's settings, written by install.sh on $(date -u +%Y-%m-%d). Read by the systemd units"
    echo "# (EnvironmentFile=) and by an operator's shell: set -a; . $ENV_FILE; set +a. Every variable: below."
    echo "PORTAL_HOME=$PREFIX/current"
    echo "FLASK_APP=$PREFIX/current/app.py"
    echo "PORTAL_ENV=production"
    echo "SECRET_KEY=$("$RELEASE/venv/bin/python" -c 'import secrets; print(secrets.token_hex(32))')"
    echo "DATABASE_URL=sqlite:///$DATA/portal.sqlite"
    echo "PORTAL_STORAGE_DIR=$DATA/files"
    echo "PORTAL_JOBS_DB=$DATA/jobs.sqlite"
    echo "PORTAL_AUDIT_ARCHIVE_DIR=$DATA/audit"
    echo "MAIL_FILE_PATH=$DATA/mail"
    echo "PORTAL_BIND=127.0.0.1:8000"
    echo
    cat "$RELEASE/deploy/portal.env"
  } >"$ENV_FILE"
  umask "$umask_was"
fi

mkdir -p "$DATA/files" "$DATA/audit" "$DATA/mail"
if [ -n "$SERVICE_USER" ]; then
  id "$SERVICE_USER" >/dev/null 2>&1 || useradd --system --home-dir "$DATA" --shell /usr/sbin/nologin "$SERVICE_USER"
fi

set -a
# shellcheck disable=SC1090
. "$ENV_FILE"
set +a
export PORTAL_HOME=$RELEASE FLASK_APP=$RELEASE/app.py  # this release, before "current" points at it
FLASK=$RELEASE/venv/bin/flask

SERVICES=()
if [ -n "$UPGRADE" ] && command -v systemctl >/dev/null; then
  for unit in portal-web.service portal-worker.service; do
    if systemctl is-active --quiet "$unit"; then SERVICES+=("$unit"); fi
  done
  if [ ${#SERVICES[@]} -gt 0 ]; then
    step "Stopping ${SERVICES[*]}"
    systemctl stop "${SERVICES[@]}"
  fi
fi

step "Migrating the database (flask db upgrade)"
(cd "$RELEASE" && "$FLASK" db upgrade)
[ -z "$SERVICE_USER" ] || chown -R "$SERVICE_USER:" "$DATA"

ln -sfn "releases/$VERSION" "$PREFIX/current.new"
mv -T "$PREFIX/current.new" "$PREFIX/current"

if [ ${#SERVICES[@]} -gt 0 ]; then
  step "Starting ${SERVICES[*]}"
  systemctl start "${SERVICES[@]}"
fi

if [ -n "$FIRST" ] && [ -n "$ADMIN" ] && [ -z "$UPGRADE" ]; then
  if [ -n "${PORTAL_ADMIN_EMAIL:-}" ] && [ -n "${PORTAL_ADMIN_PASSWORD:-}" ] || [ -t 0 ]; then
    step "The first system administrator (flask create-admin)"
    (cd "$RELEASE" && "$FLASK" create-admin)
    [ -z "$SERVICE_USER" ] || chown -R "$SERVICE_USER:" "$DATA"
  else
    echo "No terminal and no PORTAL_ADMIN_EMAIL/PORTAL_ADMIN_PASSWORD: create the first administrator later with" \
         "'set -a; . $ENV_FILE; set +a; $PREFIX/current/venv/bin/flask create-admin'."
  fi
fi

step "Installed portal $VERSION"
cat <<EOF
Settings: $ENV_FILE (database, mail, PORTAL_BASE_URL, PORTAL_BIND…). Then, with systemd:
  cp $PREFIX/current/deploy/systemd/portal-*.service /etc/systemd/system/ && systemctl daemon-reload
  systemctl enable --now portal-web portal-worker
and nginx in front: $PREFIX/current/deploy/nginx/portal.conf. By hand:
  set -a; . $ENV_FILE; set +a; cd $PREFIX/current
  venv/bin/gunicorn -c gunicorn.conf.py app:app & venv/bin/flask jobs worker
EOF
