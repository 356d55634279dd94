"""Prometheus metrics (prometheus_client), scraped at ``/metrics``.

Counted where they happen: requests by endpoint (the URL rule's name, never the raw path: one series per page, not
per ticket), method and status, with a latency histogram by endpoint; tasks the job worker ran and those that failed;
notification deliveries tried and failed by channel. Read when scraped, by a few cheap queries: the job queue's
depth, open fault reports at risk and in breach of their SLA.

Several processes (gunicorn's workers, the job worker): with ``PROMETHEUS_MULTIPROC_DIR`` set in the environment
of every process before it starts (an empty folder, emptied at each deployment's start), each process writes its
figures to files there and a scrape of any worker sums them (prometheus_client's multiprocess mode; gunicorn's
``child_exit`` hook calls ``multiprocess.mark_process_dead``). Without it, a plain in-process registry.

``/metrics`` answers only addresses in ``PORTAL_METRICS_ALLOW`` (networks; the local host by default) or a request
bearing ``Authorization: Bearer <PORTAL_METRICS_TOKEN>``; anyone else gets a 404, as for a page that does not exist.
"""

import hmac
import ipaddress
import logging
import os

import sqlalchemy as sa
from flask import Response, abort, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import REGISTRY as PROCESS_REGISTRY
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger(__name__)

NONE = "none"  # the endpoint label of a request no URL rule matched (a 404 of an unknown address)
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)

REQUESTS = Counter(
    "portal_http_requests_total",
    "HTTP requests answered, by endpoint, method and status.",
    ("endpoint", "method", "status"),
)
LATENCY = Histogram(
    "portal_http_request_duration_seconds",
    "Time to answer an HTTP request, by endpoint.",
    ("endpoint",),
    buckets=LATENCY_BUCKETS,
)
JOBS_RUN = Counter("portal_jobs_executed_total", "Tasks the job worker started, by task name.", ("task",))
JOBS_FAILED = Counter(
    "portal_jobs_failed_total", "Tasks that raised or timed out in the job worker, by task name.", ("task",)
)
DELIVERIES = Counter(
    "portal_notification_deliveries_total",
    "Notification deliveries tried (e-mail, WeCom or DingTalk robot), by channel.",
    ("channel",),
)
DELIVERY_FAILURES = Counter(
    "portal_notification_delivery_failures_total",
    "Notification delivery tries that failed (to be retried, or failed for good), by channel.",
    ("channel",),
)


def multiprocess_dir():
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


# ---------------------------------------------------------------- counted where they happen


def observe_request(endpoint, method, status, seconds):
    endpoint = endpoint or NONE
    REQUESTS.labels(endpoint, method, str(status)).inc()
    LATENCY.labels(endpoint).observe(seconds)


def job_started(task_name):
    JOBS_RUN.labels(task_name).inc()


def job_failed(task_name):
    JOBS_FAILED.labels(task_name).inc()


def delivery_tried(channel, failed):
    DELIVERIES.labels(channel).inc()
    if failed:
        DELIVERY_FAILURES.labels(channel).inc()


# ---------------------------------------------------------------- read when scraped


class ScrapeTime:
    """The gauges read at each scrape, in the application of the request: each a single bounded query (or a queue
    count); one that cannot be read (the database or the queue down) is left out and logged, the rest still
    answer."""

    def collect(self):
        yield from self._queue()
        yield from self._sla()

    def _queue(self):
        from .jobs import huey

        try:
            depth = huey.pending_count()
        except Exception:  # noqa: BLE001 - the queue unreachable: /readyz says so; the other figures still answer
            log.warning("metrics: the job queue could not be read", exc_info=True)
            return
        gauge = GaugeMetricFamily("portal_job_queue_depth", "Tasks waiting in the job queue.")
        gauge.add_metric([], depth)
        yield gauge

    def _sla(self):
        from .extensions import db
        from .tickets.models import Ticket
        from .types import utcnow

        now = utcnow()

        def total(condition):
            return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

        try:  # open tickets only, by the indexes that lead with is_open (as the home page's counts)
            at_risk, breached = db.session.execute(
                sa.select(total(Ticket.at_risk(now)), total(Ticket.in_breach(now))).where(Ticket.is_open.is_(True))
            ).one()
        except sa.exc.SQLAlchemyError:
            db.session.rollback()
            log.warning("metrics: the SLA figures could not be read", exc_info=True)
            return
        finally:
            db.session.rollback()  # no transaction stays open after the scrape's read
        for name, value, text in (
            (
                "portal_sla_tickets_at_risk",
                at_risk,
                "Open fault reports with less than a quarter of their nearest SLA clock left.",
            ),
            ("portal_sla_tickets_breached", breached, "Open fault reports with an SLA clock breached or overdue now."),
        ):
            gauge = GaugeMetricFamily(name, text)
            gauge.add_metric([], value)
            yield gauge


def registry():
    """What one scrape shows: every process's counters (multiprocess mode) or this process's, and the gauges read
    now."""
    found = CollectorRegistry(auto_describe=False)
    path = multiprocess_dir()
    if path:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(found, path=path)
    else:
        found.register(PROCESS_REGISTRY)
    found.register(ScrapeTime())
    return found


# ---------------------------------------------------------------- who may scrape


def allowed_networks(value):
    """PORTAL_METRICS_ALLOW: comma-separated addresses or networks (10.0.0.0/8, ::1)."""
    networks = []
    for part in (value or "").split(","):
        part = part.strip()
        if part:
            try:
                networks.append(ipaddress.ip_network(part, strict=False))
            except ValueError as error:
                raise RuntimeError(f"PORTAL_METRICS_ALLOW: {part!r} is not an address or network.") from error
    return tuple(networks)


def may_scrape():
    """The address (as ProxyFix left it) is allowed, or the request bears the token."""
    config = current_app.config
    token = config.get("METRICS_TOKEN") or ""
    sent = request.headers.get("Authorization", "")
    if token and sent.startswith("Bearer ") and hmac.compare_digest(sent[len("Bearer ") :].encode(), token.encode()):
        return True
    try:
        address = ipaddress.ip_address((request.remote_addr or "").split("%")[0])
    except ValueError:
        return False
    return any(address in network for network in allowed_networks(config["METRICS_ALLOW"]))


def scrape():
    if not may_scrape():
        abort(404)
    return Response(generate_latest(registry()), mimetype=CONTENT_TYPE_LATEST)


def _count(response):
    from .logs import elapsed

    observe_request(request.endpoint, request.method, response.status_code, elapsed())
    return response


def init_app(app):
    allowed_networks(app.config["METRICS_ALLOW"])  # a mistyped allow-list stops the start, not the scrape
    app.after_request(_count)
