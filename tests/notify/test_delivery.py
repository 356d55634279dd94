"""The outbox's e-mails, against a real SMTP server (aiosmtpd, started here): each recipient's language and time
zone, both parts, absolute links; SMTP down then back (retried, then sent exactly once); two workers at once; a
worker that stopped mid-send; retries exhausted; the file backend; the daily digest."""

import email
import email.policy
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from portal.auth.models import User
from portal.extensions import db
from portal.notify import delivery as outbox
from portal.notify.models import Delivery, Notification, Preference
from portal.notify.services import moment, tell, vendor_staff
from portal.tickets.models import Ticket
from portal.types import utcnow

from ..conftest import DATABASE_URL, at_once, make_app, reset_database
from ..factories import Factory

BASE = "https://portal.example.cn/svc"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self):
        self.received = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append(
            (envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=email.policy.default))
        )
        return "250 OK"

    def to(self, address):
        return [m for rcpt, m in self.received if address in rcpt]


class SMTP:
    """A real SMTP server on ``port``, started (and stopped) by the test; nothing listens until ``start``."""

    def __init__(self, port):
        self.port, self.inbox, self.controller = port, Inbox(), None

    def start(self):
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()


@pytest.fixture
def smtp():
    server = SMTP(free_port())
    yield server
    server.stop()


def mail_app(tmp_path, **config):
    """The application on a database that threads share (a SQLite file, or the PostgreSQL test database)."""
    url = DATABASE_URL if DATABASE_URL.startswith("postgresql") else f"sqlite:///{tmp_path / 'mail.sqlite'}"
    app = make_app(SQLALCHEMY_DATABASE_URI=url, STORAGE_DIR=str(tmp_path / "files"), PORTAL_BASE_URL=BASE, **config)
    if url.startswith("sqlite"):
        with app.app_context():
            db.create_all()
    return app


@pytest.fixture
def mailer(tmp_path, smtp):
    app = mail_app(
        tmp_path,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp.port,
        MAIL_TIMEOUT=5,
        MAIL_DEFAULT_SENDER="service@portal.example.cn",
    )
    yield app
    reset_database(app)


class Cast:
    """A vendor, a client with a school in Ürümqi (UTC+6), a fault filed there; a Chinese manager, an English agent
    and an English school administrator."""

    def __init__(self, app):
        make = Factory(app)
        make.vendor(name_zh="华信服务", name_en="Huaxin Service")
        client = make.client()
        self.site = make.site(client, timezone="Asia/Urumqi", name_zh="乌市一中", name_en="Urumqi No.1")
        self.manager = make.user("vendor_manager", email="manager@vendor.example", locale="zh_Hans_CN")
        self.agent = make.user("vendor_agent", email="agent@vendor.example", locale="en")
        self.school = make.user("site_admin", site=self.site, email="school@client.example", locale="en")
        self.ticket = make.ticket(self.school, self.site, severity="A", title="屏幕不亮")
        with app.app_context():  # filing told the staff already: each test tells, itself, what it sends
            db.session.execute(sa.delete(Delivery))
            db.session.execute(sa.delete(Notification))
            db.session.commit()


@pytest.fixture
def cast(mailer):
    return Cast(mailer)


def tell_filed(app, cast, users=None):
    with app.app_context():
        ticket = db.session.get(Ticket, cast.ticket.id)
        notes = tell(
            "ticket.filed",
            ticket,
            users or vendor_staff(),
            number=ticket.number,
            severity="A",
            site={"zh": "乌市一中", "en": "Urumqi No.1"},
            title=ticket.title,
        )
        db.session.commit()
        return [n.id for n in notes]


def run(app, now=None):
    with app.app_context():
        return outbox.deliver_due(now=now)


def deliveries(app):
    with app.app_context():
        return db.session.scalars(sa.select(Delivery).order_by(Delivery.id)).all()


def subject(message):
    """The decoded subject (the standard library folds a long encoded one after "Subject:", hence the strip)."""
    return message["Subject"].strip()


def parts(message):
    plain = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    return plain, html


def test_each_recipient_gets_the_mail_in_their_language(mailer, cast, smtp):
    smtp.start()
    tell_filed(mailer, cast)
    assert run(mailer) == {"sent": 2, "retry": 0, "failed": 0}
    [zh] = smtp.inbox.to("manager@vendor.example")
    [en] = smtp.inbox.to("agent@vendor.example")
    number = cast.ticket.number
    assert subject(zh) == f"新故障 {number}（A 级），乌市一中：屏幕不亮"
    assert subject(en) == f"Fault {number} filed (severity A) at Urumqi No.1: 屏幕不亮"
    link = f"{BASE}/tickets/{cast.ticket.id}"
    for message, hello in ((zh, "您好"), (en, "Hello")):
        assert message["Auto-Submitted"] == "auto-generated"
        assert message["Message-ID"].endswith("@portal.example.cn>")
        assert message["From"] == "service@portal.example.cn"
        plain, html = parts(message)
        for body in (plain, html):
            assert link in body and f"{BASE}/notifications/preferences" in body and hello in body
        assert "<" not in plain and "<html" in html
    assert "华信服务" in parts(zh)[0] and "Huaxin Service" in parts(en)[0]
    assert {d.state for d in deliveries(mailer)} == {"sent"}


def test_times_are_in_the_recipients_site_time_zone_and_values_are_escaped(mailer, cast, smtp):
    smtp.start()
    due = datetime(2026, 3, 2, 4, 30, tzinfo=UTC)  # 10:30 in Ürümqi, 12:30 in Beijing
    with mailer.app_context():
        ticket = db.session.get(Ticket, cast.ticket.id)
        tell(
            "ticket.at_risk",
            ticket,
            [db.session.get(User, cast.school.id)],
            number="<b>GZ</b>",
            clock="response",
            due_at=moment(due),
        )
        db.session.commit()
    run(mailer)
    [message] = smtp.inbox.to("school@client.example")
    assert "10:30" in subject(message) and "12:30" not in subject(message)
    plain, html = parts(message)
    assert "10:30" in plain and "10:30" in html
    assert "<b>GZ</b>" in plain and "<b>GZ</b>" not in html and "&lt;b&gt;GZ&lt;/b&gt;" in html


def test_smtp_down_then_back_is_retried_with_back_off_and_sent_exactly_once(mailer, cast, smtp):
    with mailer.app_context():
        tell(
            "ticket.filed",
            db.session.get(Ticket, cast.ticket.id),
            [db.session.get(User, cast.agent.id)],
            number="GZ-1",
            severity="A",
            site="S",
            title="T",
        )
        db.session.commit()
    start = utcnow()
    assert run(mailer, start) == {"sent": 0, "retry": 1, "failed": 0}  # nothing listens on the port yet
    [waiting] = deliveries(mailer)
    assert waiting.state == "pending" and waiting.attempts == 1 and waiting.due_at == start + timedelta(minutes=1)
    assert "Connection refused" in waiting.error or "ConnectionRefused" in waiting.error
    assert run(mailer, start + timedelta(seconds=30)) == {"sent": 0, "retry": 0, "failed": 0}  # not due yet
    assert run(mailer, start + timedelta(minutes=1)) == {"sent": 0, "retry": 1, "failed": 0}
    assert deliveries(mailer)[0].due_at == start + timedelta(minutes=1 + 2)  # then 2 minutes, 4 …
    smtp.start()
    assert run(mailer, start + timedelta(minutes=3)) == {"sent": 1, "retry": 0, "failed": 0}
    assert run(mailer, start + timedelta(minutes=60)) == {"sent": 0, "retry": 0, "failed": 0}
    assert len(smtp.inbox.received) == 1
    [sent] = deliveries(mailer)
    assert sent.state == "sent" and sent.attempts == 3 and sent.error == ""


def test_two_workers_at_once_send_each_mail_once(mailer, cast, smtp):
    smtp.start()
    make = Factory(mailer)
    extra = [make.user("vendor_agent", email=f"agent{i}@vendor.example") for i in range(6)]
    tell_filed(mailer, cast)
    expected = 2 + len(extra)
    results = at_once(lambda: run(mailer), lambda: run(mailer))
    assert all(isinstance(r, dict) for r in results), results
    assert sum(r["sent"] for r in results) == expected
    addresses = sorted(a for rcpt, _m in smtp.inbox.received for a in rcpt)
    assert len(addresses) == expected and len(set(addresses)) == expected
    assert {d.state for d in deliveries(mailer)} == {"sent"}


def test_a_worker_that_stopped_mid_send_leaves_a_failed_delivery_the_manager_resends(mailer, cast, smtp):
    smtp.start()
    tell_filed(mailer, cast, users=None)
    now = utcnow()
    with mailer.app_context():  # a worker claimed the agent's mail, then died before marking it
        agent_mail = db.session.scalar(
            sa.select(Delivery.id).join(Notification).where(Notification.user_id == cast.agent.id)
        )
        db.session.execute(
            sa.update(Delivery)
            .where(Delivery.id == agent_mail)
            .values(state="sending", attempts=1, lease_until=now - timedelta(seconds=1))
        )
        db.session.commit()
    assert run(mailer, now) == {"sent": 1, "retry": 0, "failed": 1}  # the manager's mail goes; the agent's fails
    assert smtp.inbox.to("agent@vendor.example") == []
    failed = next(d for d in deliveries(mailer) if d.id == agent_mail)
    assert failed.state == "failed" and failed.error == outbox.STOPPED

    manager = mailer.test_client(user=cast.agent)  # an agent may not see the page
    assert manager.get("/notifications/deliveries").status_code == 403
    english = Factory(mailer).user("vendor_manager", email="boss@vendor.example", locale="en")
    manager = mailer.test_client(user=english)
    page = manager.get("/notifications/deliveries", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "it may or may not have been delivered" in page and "agent@vendor.example" in page
    assert f"/notifications/deliveries/{agent_mail}/resend" in page
    assert manager.post(f"/notifications/deliveries/{agent_mail}/resend").status_code == 302
    assert manager.post(f"/notifications/deliveries/{agent_mail}/resend").status_code == 302  # no longer failed
    assert run(mailer) == {"sent": 1, "retry": 0, "failed": 0}
    assert run(mailer) == {"sent": 0, "retry": 0, "failed": 0}
    assert len(smtp.inbox.to("agent@vendor.example")) == 1
    page = manager.get("/notifications/deliveries", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert f"/notifications/deliveries/{agent_mail}/resend" not in page


def test_retries_exhausted_fail_the_delivery(tmp_path, smtp):
    app = mail_app(tmp_path, MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, MAIL_TIMEOUT=5, DELIVERY_MAX_ATTEMPTS=3)
    try:
        cast = Cast(app)
        tell_filed(app, cast, users=None)
        now = utcnow()
        outcomes = [run(app, now + timedelta(hours=i)) for i in range(4)]
        assert [o["retry"] for o in outcomes] == [2, 2, 0, 0]
        assert [o["failed"] for o in outcomes] == [0, 0, 2, 0]
        assert all(d.state == "failed" and d.attempts == 3 and d.error for d in deliveries(app))
    finally:
        reset_database(app)


def test_without_mail_server_each_message_is_written_under_the_instance_folder(tmp_path):
    app = mail_app(tmp_path, MAIL_SERVER="")
    try:
        assert app.config["MAIL_BACKEND"] == "file"
        assert Path(app.config["MAIL_FILE_PATH"]) == Path(app.instance_path) / "mail"
        app.extensions["mailman"].file_path = str(tmp_path / "instance" / "mail")  # this test's own instance folder
        cast = Cast(app)
        tell_filed(app, cast)
        assert run(app)["sent"] == 2
        files = list((tmp_path / "instance" / "mail").iterdir())
        assert len(files) == 2
        text = "".join(f.read_text() for f in files)
        assert "manager@vendor.example" in text and "agent@vendor.example" in text
    finally:
        reset_database(app)


def test_the_daily_digest_is_one_mail_per_user_per_day(mailer, cast, smtp):
    smtp.start()
    with mailer.app_context():
        db.session.add(Preference(user_id=cast.school.id, kind="ticket.responded", mode="digest"))
        db.session.commit()

    def responded(number):
        with mailer.app_context():
            tell(
                "ticket.responded",
                db.session.get(Ticket, cast.ticket.id),
                [db.session.get(User, cast.school.id)],
                number=number,
            )
            db.session.commit()

    responded("GZ-1")
    responded("GZ-2")
    assert run(mailer)["sent"] == 0  # nothing instant
    day = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Beijing
    assert sorted(at_once(lambda: digests(mailer, day), lambda: digests(mailer, day))) == [0, 1]
    assert digests(mailer, day + timedelta(hours=2)) == 0
    assert run(mailer)["sent"] == 1
    [digest] = smtp.inbox.to("school@client.example")
    assert subject(digest) == "Your daily digest: 2 notifications"
    plain, html = parts(digest)
    assert "GZ-1" in plain and "GZ-2" in html and f"{BASE}/tickets/{cast.ticket.id}" in plain
    with mailer.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(Notification.digest_due.is_(True))) == 0
    responded("GZ-3")
    assert digests(mailer, day + timedelta(hours=3)) == 0  # today's digest went out: this one waits for tomorrow
    assert digests(mailer, day + timedelta(days=1)) == 1
    run(mailer)
    assert len(smtp.inbox.to("school@client.example")) == 2


def digests(app, now):
    with app.app_context():
        return outbox.send_digests(now)
