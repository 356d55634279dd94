"""The bell, the list (newest first, unread marked, mark read, open), and the preferences page."""

import re

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.notify.models import Notification, Preference

from ..conftest import DATABASE_URL
from ..factories import Factory, World
from .test_events import told


def notes_of(app, user):
    with app.app_context():
        return {
            n.id: n.read_at for n in db.session.scalars(sa.select(Notification).where(Notification.user_id == user.id))
        }


def bell(body):
    """The bell's figure and its words."""
    found = re.search(r'<a id="notify-bell".*?</a>', body, re.S)
    assert found, "the bell is on the page"
    count = re.search(r'class="bell-count"[^>]*>([^<]+)<', found.group(0))
    words = re.search(r'class="visually-hidden">([^<]+)<', found.group(0)).group(1)
    return (count.group(1) if count else None), words


def test_the_bell_counts_unread_notifications_on_every_page(app, world, make):
    make.notification(world.a_staff, world.ticket_a, read=True)
    browser = app.test_client(user=world.a_staff)
    assert bell(browser.get("/equipment/?lang=en").get_data(as_text=True)) == ("1", "1 unread notification")
    make.notification(world.a_staff, world.ticket_a)
    assert bell(browser.get("/?lang=zh").get_data(as_text=True)) == ("2", "2 条未读通知")
    fragment = browser.get("/notifications/bell?lang=en", headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and bell(body) == ("2", "2 unread notifications")
    assert 'hx-trigger="every 60s"' in body and fragment.headers["Cache-Control"] == "no-store"
    assert browser.get("/notifications/bell").headers["Location"] == "/notifications/"  # no JavaScript: the list
    assert browser.post("/notifications/read-all").status_code == 303
    assert bell(browser.get("/?lang=en").get_data(as_text=True)) == (None, "Notifications: none unread")


def test_the_list_is_the_users_own_newest_first_with_unread_marked(app, world, make):
    browser = app.test_client(user=world.a_admin)
    old = make.notification(world.a_admin, world.ticket_a, read=True, author="老张")
    new = make.notification(world.a_admin, world.ticket_a, author="小李")
    body = browser.get("/notifications/?lang=en").get_data(as_text=True)
    assert body.index("小李") < body.index("老张") < body.index("张工")  # newest first (the world's own last)
    assert f'id="notice-{new.id}"' in body and "notice-unread" in body and ">Unread</span>" in body
    assert f'href="/tickets/{world.ticket_a.id}"' in body and f"/notifications/{new.id}/open" in body
    assert world.b_note.id not in [int(i) for i in re.findall(r'id="notice-(\d+)"', body)]  # B's admin's
    unread = browser.get("/notifications/?show=unread").get_data(as_text=True)
    assert "小李" in unread and "老张" not in unread
    fragment = browser.get("/notifications/?show=unread", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and "小李" in fragment
    assert browser.get("/notifications/?show=nonsense&page=x").status_code == 200  # read as all, page 1
    assert old.id in notes_of(app, world.a_admin)


def test_the_list_is_paginated(app, world, make):
    for n in range(27):
        make.notification(world.a_staff, world.ticket_a, author=f"第{n}位")
    browser = app.test_client(user=world.a_staff)
    first = browser.get("/notifications/").get_data(as_text=True)
    second = browser.get("/notifications/?page=2").get_data(as_text=True)
    assert len(re.findall(r'<li class="notice', first)) == 25 and "第26位" in first and "第0位" not in first
    assert "第0位" in second and "第26位" not in second


def test_markup_in_a_title_is_shown_escaped(app, world, make):
    ticket = make.ticket(world.a_staff, world.a_site1, title="<script>alert(1)</script>")
    body = app.test_client(user=world.agent).get("/notifications/").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "<script>alert" not in body
    assert ticket.number in body


def test_mark_one_read_with_and_without_htmx(app, world, make):
    browser = app.test_client(user=world.a_staff)
    note = world.notes["client_staff"]
    response = browser.post(f"/notifications/{note.id}/read", data={"show": "unread"})
    assert response.status_code == 303 and response.headers["Location"] == "/notifications/?show=unread"
    assert notes_of(app, world.a_staff)[note.id] is not None
    other = make.notification(world.a_staff, world.ticket_a)
    response = browser.post(f"/notifications/{other.id}/read?lang=en", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and f'id="notice-{other.id}"' in body and "notice-unread" not in body
    assert 'hx-swap-oob="true"' in body and "Notifications: none unread" in body  # the bell, out of band


def test_another_users_notification_is_404_and_untouched(app, world):
    browser = app.test_client(user=world.a_admin)
    for action in ("read", "open"):
        assert browser.post(f"/notifications/{world.b_note.id}/{action}").status_code == 404
        assert browser.post(f"/notifications/{world.notes['client_staff'].id}/{action}").status_code == 404
    assert all(v is None for v in notes_of(app, world.b_admin).values())
    assert browser.post("/notifications/99999999/read").status_code == 404


def test_open_marks_read_and_goes_to_the_object(app, world):
    browser = app.test_client(user=world.a_school)
    note = world.notes["site_admin"]
    response = browser.post(f"/notifications/{note.id}/open")
    assert response.status_code == 303 and response.headers["Location"] == f"/tickets/{world.ticket_a.id}"
    assert notes_of(app, world.a_school)[note.id] is not None
    response = browser.post(f"/notifications/{note.id}/open", headers={"HX-Request": "true"})
    assert response.headers["HX-Redirect"] == f"/tickets/{world.ticket_a.id}"
    assert browser.get(response.headers["HX-Redirect"]).status_code == 200  # the link leads to a page they may see


def test_read_all_marks_only_ones_own(app, world, make):
    make.notification(world.a_admin, world.ticket_a)
    browser = app.test_client(user=world.a_admin)
    response = browser.post("/notifications/read-all", data={"show": "unread"}, follow_redirects=True)
    assert "您的通知已全部标为已读。" in response.get_data(as_text=True)
    assert all(v is not None for v in notes_of(app, world.a_admin).values())
    assert all(v is None for v in notes_of(app, world.a_staff).values())


def test_a_form_token_counts_once(app, world, make):
    browser = app.test_client(user=world.a_admin)
    token = "t" * 30
    assert browser.post("/notifications/read-all", data={"form_token": token}).status_code == 303
    make.notification(world.a_admin, world.ticket_a)
    again = browser.post("/notifications/read-all", data={"form_token": token})
    assert again.status_code == 303
    assert sum(v is None for v in notes_of(app, world.a_admin).values()) == 1  # the second sending did nothing


# ---------------------------------------------------------------- preferences


def test_preferences_offer_each_role_its_kinds(app, world):
    staff = app.test_client(user=world.a_staff).get("/notifications/preferences?lang=en").get_data(as_text=True)
    assert 'name="ticket_responded"' in staff and 'name="ticket_filed"' not in staff
    assert 'name="quote_issued"' not in staff  # the client's administrator's
    manager = app.test_client(user=world.manager).get("/notifications/preferences?lang=en").get_data(as_text=True)
    assert "A fault is filed" in manager and 'name="ticket_filed"' not in manager  # mandatory: shown, not a choice
    assert "Always on" in manager and "disabled" in manager
    assert 'name="quote_accepted"' in manager and 'name="ticket_responded"' not in manager
    admin = app.test_client(user=world.a_admin).get("/notifications/preferences?lang=zh").get_data(as_text=True)
    assert 'name="quote_issued"' in admin and "每日汇总" in admin and "始终开启" in admin


def test_preferences_are_saved_and_honoured(app, world, make):
    browser = app.test_client(user=world.a_school)
    response = browser.post("/notifications/preferences", data={"ticket_responded": "off", "ticket_reply": "digest"})
    assert response.status_code == 303
    with app.app_context():
        saved = {
            p.kind: p.mode
            for p in db.session.scalars(sa.select(Preference).where(Preference.user_id == world.a_school.id))
        }
    assert saved == {"ticket.responded": "off", "ticket.reply": "digest"}
    page = browser.get("/notifications/preferences").get_data(as_text=True)
    assert re.search(
        r'name="ticket_responded"[^>]*value="off"[^>]*checked|value="off"[^>]*checked[^>]*'
        r'name="ticket_responded"|checked[^>]*name="ticket_responded"[^>]*value="off"',
        page,
    )
    agent = app.test_client(user=world.agent)
    assert agent.post(f"/tickets/{world.ticket_a.id}/respond", data={"body": "a"}).status_code == 302
    assert told(app, "ticket.responded") == {}  # turned off
    assert agent.post(f"/tickets/{world.ticket_a.id}/reply", data={"body": "b"}).status_code == 302
    assert told(app, "ticket.reply", world.ticket_a.id)["school@a.example"].digest_due is True
    assert browser.post("/notifications/preferences", data={"ticket_responded": "instant"}).status_code == 303
    with app.app_context():
        assert db.session.get(Preference, (world.a_school.id, "ticket.responded")) is None  # the default: no row


def test_bad_preferences_are_refused_with_a_message(app, world):
    browser = app.test_client(user=world.a_school)
    response = browser.post("/notifications/preferences?lang=en", data={"ticket_responded": "loud"})
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and "Choose at once, daily digest or off." in body
    response = browser.post("/notifications/preferences?lang=en", data={"ticket_responded": "off\x00"})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalars(sa.select(Preference).where(Preference.user_id == world.a_school.id)).all() == []
    forged = browser.post("/notifications/preferences", data={"ticket_filed": "off"})  # mandatory: not a field
    assert forged.status_code == 303
    with app.app_context():
        assert db.session.scalars(sa.select(Preference).where(Preference.user_id == world.a_school.id)).all() == []


def test_a_manager_cannot_turn_a_mandatory_kind_off_by_hand(app, world, make):
    make.save(Preference(user_id=world.manager.id, kind="ticket.filed", mode="off"))
    make.ticket(world.a_staff, world.a_site1)
    assert "manager@test.example" in told(app, "ticket.filed")


def test_every_demo_account_has_read_and_unread_notifications_that_open(app):
    from portal.auth.models import User
    from portal.demo import seed
    from portal.notify.models import Delivery

    with app.app_context():
        seed()
        db.session.commit()
        users = db.session.scalars(sa.select(User).order_by(User.id)).all()
        db.session.expunge_all()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Delivery)) == 0  # nobody e-mailed the past
    for user in users:
        browser = app.test_client(user=user)
        notes = notes_of(app, user)
        if user.role_enum.is_admin:  # the separated administrators receive no business notification
            assert notes == {}, user.email
            continue
        unread = [note_id for note_id, read_at in notes.items() if read_at is None]
        assert 1 <= len(unread) <= 3 and len(notes) > len(unread), user.email
        for note_id in unread:
            response = browser.post(f"/notifications/{note_id}/open")
            assert response.status_code == 303, user.email
            assert browser.get(response.headers["Location"]).status_code == 200, (user.email, response.location)


@pytest.mark.skipif(
    not DATABASE_URL.startswith("postgresql"),
    reason="on SQLite a request that may write holds the one write lock: no other tab saves meanwhile",
)
def test_a_preference_another_tab_saved_meanwhile_is_saved_over_without_an_error(shared):
    """The same user saves the preferences in two tabs at once: the other tab's rows are committed between this
    request's reading them (none yet) and its inserting them. The insert's conflict is taken back to a savepoint
    and the choices saved over the other tab's; no 500, one row per kind."""
    from sqlalchemy.orm import Session

    world = World(Factory(shared))
    other_tab = []

    def meanwhile(session, _context, _instances):
        if not other_tab and any(isinstance(row, Preference) for row in session.new):
            other_tab.append(True)
            with db.engine.connect() as connection:  # another connection: the other tab, committed first
                connection.execute(
                    sa.insert(Preference).values(user_id=world.a_school.id, kind="ticket.responded", mode="digest")
                )
                connection.commit()

    sa.event.listen(Session, "before_flush", meanwhile)
    try:
        answer = shared.test_client(user=world.a_school).post(
            "/notifications/preferences", data={"ticket_responded": "off", "ticket_resolved": "off"}
        )
    finally:
        sa.event.remove(Session, "before_flush", meanwhile)
    assert other_tab and answer.status_code == 303
    with shared.app_context():
        rows = dict(
            db.session.execute(
                sa.select(Preference.kind, Preference.mode).where(Preference.user_id == world.a_school.id)
            ).all()
        )
    assert rows == {"ticket.responded": "off", "ticket.resolved": "off"}


def test_a_user_moved_to_another_school_no_longer_sees_nor_receives_the_old_schools_notifications(app, world, make):
    from portal.auth.models import User
    from portal.notify import delivery as outbox
    from portal.notify.models import Delivery

    note = world.notes["site_admin"]  # about a fault of the first school
    with app.app_context():
        db.session.add(
            Delivery(
                channel="email",
                notification_id=note.id,
                kind=note.kind,
                subject_type="ticket",
                subject_id=note.subject_id,
                params={},
            )
        )
        db.session.get(User, world.a_school.id).site_id = world.a_site2.id  # now the second school's administrator
        db.session.commit()
        moved = db.session.get(User, world.a_school.id)
        db.session.expunge(moved)
    browser = app.test_client(user=moved)
    assert f"notice-{note.id}" not in browser.get("/notifications/").get_data(as_text=True)
    assert browser.post(f"/notifications/{note.id}/open").status_code == 404
    with app.app_context():
        counts = outbox.deliver_due()
        failed = db.session.scalar(sa.select(Delivery).where(Delivery.notification_id == note.id))
    assert counts["failed"] >= 1 and failed.state == "failed" and "another school" in failed.error
