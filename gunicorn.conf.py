"""gunicorn's settings for the portal: ``gunicorn -c gunicorn.conf.py app:app`` (``make serve``, the systemd unit, the
Docker image). Each can be overridden on the command line or by GUNICORN_CMD_ARGS.

- PORTAL_BIND: the address (default 127.0.0.1:8000; nginx in front, see deploy/nginx/portal.conf).
- WEB_CONCURRENCY: the worker processes (default 2 × cores + 1). Sync workers: each serves one request at a time,
  nginx buffers the slow clients' uploads and downloads (proxy_request_buffering, proxy_buffering).
- timeout 120 s: an import of 20,000 rows or a large export runs within one request.
- Reload without dropping a request: ``kill -HUP <master pid>`` (``systemctl reload portal-web``) starts new workers
  with the new code and settings, then stops the old ones gracefully; a new release (``install.sh --upgrade``)
  restarts the service instead, as its migrations need the old workers gone.
- No access log: the application logs each request itself (with its request id). The client's address comes from
  the application's ProxyFix (PORTAL_PROXY_HOPS), not from gunicorn's forwarded_allow_ips.
- PROMETHEUS_MULTIPROC_DIR (the metrics shared by the workers): emptied at start, a dead worker's files marked.
"""

import multiprocessing
import os

import portal.logs

bind = os.environ.get("PORTAL_BIND", "127.0.0.1:8000").split(",")
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
worker_class = "sync"
timeout = 120
graceful_timeout = 30
keepalive = 5  # seconds: above nginx's upstream keepalive needs, below a client's patience
# A worker is replaced after this many requests (±jitter, so that they are not all replaced at once): memory that a
# library keeps is given back.
max_requests = 1000
max_requests_jitter = 100
accesslog = None
# gunicorn's own lines (worker started, timeouts) through the portal's handler: JSON in production, with the same
# fields as the application's (portal/logs.py; PORTAL_LOG_FORMAT, PORTAL_LOG_LEVEL).
logconfig_dict = portal.logs.logconfig()
proc_name = "portal"
# forwarded_allow_ips is left at gunicorn's default (127.0.0.1, or FORWARDED_ALLOW_IPS): X-Forwarded-* are the
# application's (ProxyFix, PORTAL_PROXY_HOPS hops trusted).


def _metrics_dir():
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR")


def on_starting(server):
    """A fresh start: the metrics of the workers of a previous run would be added to the new ones."""
    path = _metrics_dir()
    if path:
        os.makedirs(path, exist_ok=True)
        for name in os.listdir(path):
            if name.endswith(".db"):
                os.remove(os.path.join(path, name))


def child_exit(server, worker):
    """A worker ended: its gauges (live values) stop counting; its counters stay in the sums."""
    if _metrics_dir():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
