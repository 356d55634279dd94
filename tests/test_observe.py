"""Seeing it run: the log lines (JSON, with the request, user, client and job), the request id followed into a real
job worker, secrets kept out of the logs, ``/metrics`` (who may read it, what it counts, several processes summed),
``/healthz`` and ``/readyz``, and error reports to a Sentry-compatible server (a real local HTTP server)."""

import gzip
import http.server
import json
import logging
import logging.config
import os
import socket
import subprocess
import sys
import threading
import uuid
from datetime import timedelta
from pathlib import Path
from typing import ClassVar

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from portal import logs
from portal.auth.gate import now_seconds
from portal.extensions import db
from portal.jobs import huey, in_app
from portal.tickets.models import Ticket
from portal.types import utcnow

from .conftest import DATABASE_URL, make_app, reset_database
from .factories import Factory, World
from .test_jobs import filed, queue_of, start_worker, stop, wait_for  # noqa: F401 - ``filed`` is a fixture

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Correct-Horse-Battery-9"  # nosec B105  # a test account's password, which no log line may show
TOKEN = "scrape-token-0123456789abcdef"  # nosec B105  # a test's metrics token


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.fixture
def restore_logging():
    """Leave the root logger (and gunicorn's) as the test found them."""
    root = logging.getLogger()
    kept = root.handlers[:], root.level
    named = {
        name: (logging.getLogger(name).handlers[:], logging.getLogger(name).propagate)
        for name in ("gunicorn", "gunicorn.error", "gunicorn.access")
    }
    yield
    root.handlers[:], root.level = kept[0], kept[1]
    for name, (handlers, propagate) in named.items():
        logging.getLogger(name).handlers[:] = handlers
        logging.getLogger(name).propagate = propagate


# ---------------------------------------------------------------- the log lines


def test_the_format_follows_the_environment_and_a_wrong_setting_stops_the_start():
    assert logs.settings({"PORTAL_ENV": "production"}) == ("json", "INFO")
    assert logs.settings({"PORTAL_ENV": "development"}) == ("text", "INFO")
    assert logs.settings({"PORTAL_ENV": "production", "LOG_FORMAT": "TEXT", "LOG_LEVEL": "debug"}) == ("text", "DEBUG")
    for wrong in ({"LOG_FORMAT": "xml"}, {"LOG_LEVEL": "LOUD"}):
        with pytest.raises(RuntimeError):
            logs.settings(wrong)
    with pytest.raises(RuntimeError, match="PORTAL_METRICS_ALLOW"):
        make_app(METRICS_ALLOW="127.0.0.1,not-a-network")


def app_with(tmp_path, **config):
    """An application of its own configuration, on a database the test's world can be made in."""
    url = DATABASE_URL if DATABASE_URL.startswith("postgresql") else f"sqlite:///{tmp_path / 'own.sqlite'}"
    app = make_app(SQLALCHEMY_DATABASE_URI=url, STORAGE_DIR=str(tmp_path / "files"), **config)
    if url.startswith("sqlite"):
        with app.app_context():
            db.create_all()
    return app


@pytest.fixture
def json_app(tmp_path, restore_logging):
    """An application logging JSON, as in production."""
    app = app_with(tmp_path, LOG_FORMAT="json")
    yield app
    reset_database(app)


def test_json_lines_carry_the_request_user_and_client(json_app, capsys):
    app = json_app
    world = World(Factory(app))
    browser = app.test_client(user=world.a_staff)
    capsys.readouterr()
    response = browser.get("/tickets/", headers={"X-Request-ID": "nginx-req-000001"})
    assert response.status_code == 200 and response.headers["X-Request-ID"] == "nginx-req-000001"
    lines = json_lines(capsys.readouterr().err)
    [access] = [line for line in lines if line["logger"] == "portal.access"]
    assert access["request_id"] == "nginx-req-000001"
    assert access["user_id"] == world.a_staff.id and access["client_id"] == world.a.id
    assert access["method"] == "GET" and access["path"] == "/tickets/" and access["status"] == 200
    assert access["endpoint"] == "tickets.index" and access["duration_ms"] >= 0 and access["level"] == "INFO"
    assert access["job_id"] == "-" and access["time"].endswith("+00:00")
    # Outside a request: the fields are there, with "-".
    with app.app_context():
        logging.getLogger("portal.test").warning("no request here")
    [alone] = json_lines(capsys.readouterr().err)
    assert alone["message"] == "no request here" and alone["request_id"] == alone["user_id"] == "-"


def test_a_line_about_a_detached_expired_user_neither_queries_nor_fails(json_app, capsys):
    """A streamed export's last line (the development server's request log) comes after the request's session is
    gone: the user Flask-Login loaded is detached and expired. Reading is_authenticated would refresh it (an error
    on a detached object, a query otherwise); the line takes what is loaded, here nothing."""
    from flask import g

    from portal.auth.models import User

    app = json_app
    world = World(Factory(app))
    with app.app_context():
        user = db.session.get(User, world.a_staff.id)
        db.session.expire(user)
        db.session.expunge(user)
    with app.test_request_context("/equipment/export.csv"):
        g._login_user = user
        capsys.readouterr()
        logging.getLogger("werkzeug").info('"GET /equipment/export.csv HTTP/1.1" 200 -')
    [line] = json_lines(capsys.readouterr().err)
    assert line["user_id"] == line["client_id"] == "-" and line["request_id"] != "-"
    # A user whose columns are loaded is named on the line, without a query.
    with app.app_context():
        user = db.session.get(User, world.a_staff.id)
        db.session.expunge(user)
    with app.test_request_context("/"):
        g._login_user = user
        logging.getLogger("portal.test").info("loaded")
    [line] = json_lines(capsys.readouterr().err)
    assert line["user_id"] == world.a_staff.id and line["client_id"] == world.a.id


def test_a_request_without_an_id_gets_one_on_every_line_and_in_the_answer(client, capsys):
    capsys.readouterr()
    response = client.get("/login", headers={"X-Request-ID": "bad id with spaces"})
    given = response.headers["X-Request-ID"]
    assert given != "bad id with spaces" and len(given) == 32
    assert f"[req={given} user=- client=-" in capsys.readouterr().err  # the development (text) format


def test_secrets_never_reach_a_log_line(app, make, world, capsys, restore_logging):
    app.config["METRICS_TOKEN"] = TOKEN
    logging.getLogger().setLevel(logging.DEBUG)
    user = make.user("client_staff", client=world.a, email="careful@a.example", password=PASSWORD)
    browser = app.test_client()
    capsys.readouterr()
    signed_in = browser.post("/login?password=" + PASSWORD, data={"email": user.email, "password": PASSWORD})
    assert signed_in.status_code == 302
    invitation, survey = "inv" + uuid.uuid4().hex, "srv" + uuid.uuid4().hex
    browser.get(f"/invite/{invitation}?token={invitation}")
    browser.get(f"/survey/{survey}")
    browser.get("/verify/" + "ab" * 32)
    browser.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    with app.test_request_context("/"):
        logging.getLogger("portal.test").info(
            "form was password=%s code=123456 Authorization: Bearer %s", PASSWORD, TOKEN
        )
        try:
            raise ValueError(f"could not open /invite/{invitation}")
        except ValueError:
            logging.getLogger("portal.test").exception("failed")
    captured = capsys.readouterr().err
    assert "/invite/<token>" in captured and "/survey/<token>" in captured and "password=***" in captured
    for secret in (PASSWORD, invitation, survey, "ab" * 32, TOKEN, "123456"):
        assert secret not in captured


def test_gunicorn_logs_through_the_portal_handler(capsys, restore_logging):
    """gunicorn.conf.py's ``logconfig_dict = portal.logs.logconfig()``: gunicorn's own lines in the portal's format,
    and an application created in that process adds no second handler."""
    logging.config.dictConfig(logs.logconfig(fmt="json", level="INFO"))
    make_app()
    capsys.readouterr()
    logging.getLogger("gunicorn.error").info("Booting worker with pid: %s", 4242)
    [line] = json_lines(capsys.readouterr().err)
    assert line["logger"] == "gunicorn.error" and line["message"] == "Booting worker with pid: 4242"
    assert line["request_id"] == "-"


def test_the_request_id_follows_the_job_into_a_real_worker(filed, tmp_path):  # noqa: F811
    """The auditor asks for a check of the chain: the worker's lines about that task carry the request's id."""
    app, world, _old, env = filed
    env = {**env, "PORTAL_LOG_FORMAT": "json", "PORTAL_LOG_LEVEL": "INFO"}
    web = queue_of(env, app.config["SQLALCHEMY_DATABASE_URI"])
    rid = "nginx-" + uuid.uuid4().hex[:12]
    response = web.test_client(user=world.auditor).post("/audit/verify", headers={"X-Request-ID": rid})
    assert response.status_code == 303 and huey.pending_count() == 1
    log_path = tmp_path / "worker.log"
    with open(log_path, "w") as log:
        process = start_worker(env, log)
        try:

            def done():
                return [
                    line
                    for line in json_lines(log_path.read_text())
                    if line.get("request_id") == rid and "executed in" in line["message"]
                ]

            assert wait_for(done), log_path.read_text()
        finally:
            stop(process)
    mine = [line for line in json_lines(log_path.read_text()) if line.get("request_id") == rid]
    assert {line["job"] for line in mine} == {"audit_verify"} and len({line["job_id"] for line in mine}) == 1
    assert any(line["message"].startswith("Executing") for line in mine)
    others = [line for line in json_lines(log_path.read_text()) if line.get("job", "-") not in ("-", "audit_verify")]
    assert others and all(line["request_id"] == "-" for line in others)  # the periodic jobs: no request


# ---------------------------------------------------------------- /metrics


def scrape(client, **kwargs):
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.status_code
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0)


def test_metrics_are_refused_to_others_with_a_404(app):
    app.config.update(METRICS_TOKEN=TOKEN)
    outside = {"REMOTE_ADDR": "203.0.113.9"}
    browser = app.test_client()
    assert browser.get("/metrics", environ_base=outside).status_code == 404
    for wrong in ("Bearer nope", f"Bearer {TOKEN}x", TOKEN, f"Basic {TOKEN}"):
        assert browser.get("/metrics", environ_base=outside, headers={"Authorization": wrong}).status_code == 404
    assert (
        browser.get("/metrics", environ_base=outside, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    )
    assert browser.get("/metrics").status_code == 200  # 127.0.0.1, allowed by default
    app.config["METRICS_TOKEN"] = None  # no token set: no bearer opens it
    assert browser.get("/metrics", environ_base=outside, headers={"Authorization": "Bearer "}).status_code == 404


def test_metrics_allow_list_reads_the_address_after_the_proxy():
    app = make_app(PROXY_HOPS=1, METRICS_ALLOW="10.0.0.0/8, 2001:db8::/32")
    browser = app.test_client()
    assert browser.get("/metrics").status_code == 404  # the proxy's own 127.0.0.1 is not listed any more
    assert browser.get("/metrics", headers={"X-Forwarded-For": "10.2.3.4"}).status_code == 200
    assert browser.get("/metrics", headers={"X-Forwarded-For": "2001:db8::7"}).status_code == 200
    assert browser.get("/metrics", headers={"X-Forwarded-For": "11.2.3.4"}).status_code == 404


def test_metrics_count_requests_by_endpoint_with_their_latency(app, world):
    browser = app.test_client(user=world.agent)
    before = scrape(app.test_client())
    for _ in range(3):
        assert browser.get(f"/tickets/{world.ticket_a.id}").status_code == 200
    assert browser.get("/tickets/999999").status_code == 404
    after = scrape(app.test_client())
    labels = {"endpoint": "tickets.show", "method": "GET"}
    assert (
        value(after, "portal_http_requests_total", status="200", **labels)
        - value(before, "portal_http_requests_total", status="200", **labels)
        == 3
    )
    assert (
        value(after, "portal_http_requests_total", status="404", **labels)
        - value(before, "portal_http_requests_total", status="404", **labels)
        == 1
    )
    assert not any(f"/tickets/{world.ticket_a.id}" in str(key) for key in after)  # never the raw path
    count = value(after, "portal_http_request_duration_seconds_count", endpoint="tickets.show")
    assert count - value(before, "portal_http_request_duration_seconds_count", endpoint="tickets.show") == 4
    assert value(after, "portal_http_request_duration_seconds_bucket", endpoint="tickets.show", le="+Inf") == count


FAILING = []


@huey.task(name="test_observe_fails")
@in_app
def fails():
    FAILING.append(1)
    raise RuntimeError("this task always fails")


def test_metrics_show_the_queue_depth_and_failed_tasks(app):
    huey.flush()
    browser = app.test_client()
    before = scrape(browser)
    assert value(before, "portal_job_queue_depth") == 0
    with app.test_request_context():
        fails()
        fails()
    assert value(scrape(browser), "portal_job_queue_depth") == 2
    for _ in range(2):
        huey.execute(huey.dequeue())  # what the consumer does with each task
    after = scrape(browser)
    assert FAILING and value(after, "portal_job_queue_depth") == 0
    for name in ("portal_jobs_executed_total", "portal_jobs_failed_total"):
        assert value(after, name, task="test_observe_fails") - value(before, name, task="test_observe_fails") == 2


def test_metrics_count_a_failed_delivery_to_a_dead_smtp_port(tmp_path):
    from .notify.test_delivery import Cast, free_port, mail_app, run, tell_filed

    app = mail_app(tmp_path, MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_TIMEOUT=2)
    try:
        cast = Cast(app)
        before = scrape(app.test_client())
        tell_filed(app, cast, users=None)
        outcome = run(app)
        tried = outcome["retry"] + outcome["failed"]
        assert tried >= 1 and outcome["sent"] == 0
        after = scrape(app.test_client())
        for name in ("portal_notification_deliveries_total", "portal_notification_delivery_failures_total"):
            assert value(after, name, channel="email") - value(before, name, channel="email") == tried
    finally:
        reset_database(app)


def test_sla_gauges_count_the_open_tickets_at_risk_and_in_breach(app, world, make, count_queries):
    hour = timedelta(hours=1)
    ids = [t.id for t in make.tickets([(world.a_school, world.a_site1, world.unit_a1)] * 6)]
    with app.app_context():
        current = utcnow()
        db.session.execute(
            sa.update(Ticket).values(  # the world's own tickets: nowhere near their clocks
                next_risk=current + hour, next_due=current + 2 * hour, breached=""
            )
        )
        db.session.execute(
            sa.update(Ticket)
            .where(Ticket.id.in_(ids[:2]))
            .values(  # at risk, not yet due
                next_risk=current - hour, next_due=current + hour
            )
        )
        db.session.execute(
            sa.update(Ticket)
            .where(Ticket.id.in_(ids[2:5]))
            .values(  # overdue now
                next_risk=current - 2 * hour, next_due=current - hour
            )
        )
        db.session.commit()
    browser = app.test_client()
    browser.get("/metrics")  # warm: the first request of an application loads what it caches
    with count_queries() as counter:
        samples = scrape(browser)
    assert value(samples, "portal_sla_tickets_at_risk") == 2
    assert value(samples, "portal_sla_tickets_breached") == 3
    queries = [statement for statement in counter.statements if statement != "BEGIN"]  # SQLite's own
    assert len(queries) == 1 and "WHERE ticket.is_open" in queries[0], queries  # the open tickets' index
    with app.app_context():  # a closed ticket is no longer counted, whatever its clocks
        db.session.execute(sa.update(Ticket).where(Ticket.id == ids[2]).values(is_open=False))
        db.session.commit()
    assert value(scrape(browser), "portal_sla_tickets_breached") == 2


WRITER = """
import sys
from portal import metrics
metrics.observe_request("tickets.index", "GET", 200, 0.2)
metrics.job_failed("deliver_now")
metrics.delivery_tried("email", failed=True)
"""


def test_several_processes_writing_to_one_multiprocess_dir_are_summed(app, tmp_path, monkeypatch):
    folder = tmp_path / "prometheus"
    folder.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    for _ in range(2):  # a web worker and the job worker, say: two processes, two files
        subprocess.run([sys.executable, "-c", WRITER], cwd=ROOT, env=env, check=True, timeout=60)
    assert len(list(folder.glob("*.db"))) >= 2
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    samples = scrape(app.test_client())
    assert value(samples, "portal_http_requests_total", endpoint="tickets.index", method="GET", status="200") == 2
    assert value(samples, "portal_jobs_failed_total", task="deliver_now") == 2
    assert value(samples, "portal_notification_delivery_failures_total", channel="email") == 2
    assert value(samples, "portal_http_request_duration_seconds_count", endpoint="tickets.index") == 2
    assert value(samples, "portal_sla_tickets_breached") == 0  # the gauges read at scrape time are there too


# ---------------------------------------------------------------- the probes


def test_readyz_checks_the_database_and_storage(app):
    response = app.test_client().get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "checks": {"database": "ok", "storage": "ok"}, "failed": []}


def test_readyz_names_unwritable_storage(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    app = make_app(STORAGE_DIR=str(blocker / "files"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and response.json["failed"] == ["storage"]
    assert response.json["checks"]["database"] == "ok"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_listening():
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
        return True
    except OSError:
        return False


def test_readyz_names_redis_when_its_port_is_closed(app):
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and response.json["failed"] == ["redis"]


@pytest.mark.skipif(not redis_listening(), reason="no Redis at 127.0.0.1:6379")
def test_readyz_with_redis_answering(app):
    app.config["REDIS_URL"] = os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:6379/0"
    response = app.test_client().get("/readyz")
    assert response.status_code == 200 and response.json["checks"]["redis"] == "ok"


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_a_probe_is_nobodys_activity_and_writes_nothing(app, world, path, count_queries):
    browser = app.test_client(user=world.a_staff)
    idle_since = now_seconds() - 10 * 60  # within the idle timeout, older than the once-a-minute refresh
    with browser.session_transaction() as session:
        session["seen"] = idle_since
    with count_queries() as counter:
        response = browser.get(path)
    assert response.status_code == 200 and "Location" not in response.headers
    assert not [s for s in counter.statements if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    assert not [s for s in counter.statements if "sign_in_session" in s or "user_account" in s]  # no user loaded
    with browser.session_transaction() as session:
        assert session["seen"] == idle_since


# ---------------------------------------------------------------- error reports


class Collector(http.server.BaseHTTPRequestHandler):
    """A Sentry-compatible server's envelope endpoint, as far as a test needs it: keeps what it receives."""

    received: ClassVar[list] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "br":
            import brotli

            body = brotli.decompress(body)
        type(self).received.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def sentry_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    Collector.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    import sentry_sdk

    sentry_sdk.init()  # no DSN: reports off again for the tests that follow


@pytest.fixture
def reporting(sentry_server, tmp_path):
    port = sentry_server.server_address[1]
    app = app_with(tmp_path, SENTRY_DSN=f"http://publickey@127.0.0.1:{port}/1", PROPAGATE_EXCEPTIONS=False)

    @app.route("/explode", methods=["GET", "POST"])
    def explode():
        raise RuntimeError("the boom of the test")

    yield app
    reset_database(app)


def test_an_error_is_reported_to_the_sentry_server_without_cookies(reporting):
    import sentry_sdk

    user = Factory(reporting).user("vendor_agent", email="private.person@vendor.example")
    browser = reporting.test_client(user=user)
    browser.set_cookie("portal_lang", "cookie-value-never-sent")
    session_cookie = browser.get_cookie("portal_session").value.encode()
    response = browser.post(
        "/explode?token=query-secret",
        data={"password": PASSWORD},
        headers={"X-Request-ID": "sentry-req-0001", "Authorization": "Bearer auth-secret"},
    )
    assert response.status_code == 500
    sentry_sdk.flush(timeout=10)
    assert wait_for(lambda: Collector.received, seconds=10)
    envelopes = [body for path, body in Collector.received if path.startswith("/api/1/envelope")]
    events = [
        json.loads(line)
        for body in envelopes
        for line in body.splitlines()
        if line.startswith(b"{") and b'"exception"' in line
    ]
    assert len(events) == 1
    [event] = events
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    assert event["tags"]["request_id"] == "sentry-req-0001"
    assert event["environment"] == "test" and event["release"].startswith("portal@")
    everything = b"".join(envelopes)
    for secret in (
        b"cookie-value-never-sent",
        b"auth-secret",
        b"query-secret",
        PASSWORD.encode(),
        b"private.person@vendor.example",
        session_cookie,
    ):
        assert secret not in everything, everything[
            max(0, everything.find(secret) - 300) : everything.find(secret) + 50
        ]
