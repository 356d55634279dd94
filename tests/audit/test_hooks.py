"""What is recorded: each hook writes one record with the user, the source address and the result."""

import pytest
import sqlalchemy as sa

from portal.audit import record
from portal.extensions import db

from ..conftest import make_app
from .helpers import last_seq, records

EN = {"Accept-Language": "en"}


def only(found, event):
    hits = [r for r in found if r["event"] == event]
    assert len(hits) == 1, (event, [r["event"] for r in found])
    return hits[0]


def test_record_in_a_request_that_saves_nothing_is_kept(app, world):
    """A refused sign-in saves nothing: the record is written on its own when the request ends."""
    before = last_seq(app)
    with app.test_request_context("/login", method="POST", environ_base={"REMOTE_ADDR": "10.9.8.7"}):
        record("auth.sign_in", result="refused", user=world.a_staff, reason="bad_credentials")
    hit = only(records(app, before), "auth.sign_in")
    assert (hit["result"], hit["address"], hit["user_id"], hit["user_email"]) == (
        "refused",
        "10.9.8.7",
        world.a_staff.id,
        world.a_staff.email,
    )
    assert hit["role"] == "client_staff" and hit["client_id"] == world.a.id
    assert hit["data"] == {"reason": "bad_credentials"} and len(hit["request_id"]) >= 8


def test_record_of_a_request_that_rolls_back_is_kept_and_its_changes_records_are_not(app, world):
    from portal.auth.models import User

    before = last_seq(app)
    with app.test_request_context("/x", method="POST", environ_base={"REMOTE_ADDR": "10.0.0.5"}):
        user = db.session.get(User, world.a_staff.id)
        user.role = "client_admin"  # a change whose record (user.updated) must go with it
        db.session.flush()
        record("security.policy_changed", result="failed")
        db.session.rollback()
    found = records(app, before)
    assert [r["event"] for r in found] == ["security.policy_changed"]


def test_record_with_a_commit_is_written_in_that_transaction(app, world, count_queries):
    from portal.auth.models import User

    before = last_seq(app)
    with app.test_request_context("/x", method="POST"):
        user = db.session.get(User, world.a_staff.id)
        user.name = "新名字"
        record("account.profile_changed", target=user)
        db.session.commit()
        assert [r["event"] for r in records(app, before)] == ["user.updated", "account.profile_changed"]
    updated = records(app, before)[0]
    assert updated["data"]["changes"]["name"][1] == "新名字" and updated["target_id"] == str(world.a_staff.id)


def test_refusals_of_a_signed_in_user_are_recorded(app, world):
    before = last_seq(app)
    school = app.test_client(user=world.a_admin)
    assert school.get(f"/tickets/{world.ticket_b.id}", environ_base={"REMOTE_ADDR": "10.1.1.1"}).status_code == 404
    hit = only(records(app, before), "access.not_found")
    assert (hit["result"], hit["address"], hit["user_id"]) == ("refused", "10.1.1.1", world.a_admin.id)
    assert hit["data"]["path"] == f"/tickets/{world.ticket_b.id}" and hit["target_type"] == "ticket"
    before = last_seq(app)
    assert school.get("/settings/").status_code == 403
    assert only(records(app, before), "access.forbidden")["data"]["endpoint"] == "settings.index"
    # A POST refused: recorded once, as a refusal (no "request.…" record besides).
    before = last_seq(app)
    assert school.post(f"/users/{world.b_staff.id}/deactivate").status_code == 404
    assert [r["event"] for r in records(app, before)] == ["access.not_found"]


def test_downloads_and_exports_are_recorded(app, world):
    agent = app.test_client(user=world.agent)
    before = last_seq(app)
    response = agent.get("/equipment/export.csv?q=x", environ_base={"REMOTE_ADDR": "10.2.2.2"})
    assert response.status_code == 200
    hit = only(records(app, before), "data.exported")
    assert hit["address"] == "10.2.2.2" and hit["data"]["endpoint"] == "equipment.export"
    assert hit["data"]["args"] == {"q": "x"} and hit["result"] == "ok"
    before = last_seq(app)
    assert agent.get(f"/documents/{world.doc_a.id}/download").status_code == 200
    hit = only(records(app, before), "document.downloaded")
    assert hit["target_type"] == "document" and hit["target_id"] == str(world.doc_a.id)


def test_a_state_changing_request_without_a_specific_record_gets_a_generic_one(app, world):
    manager = app.test_client(user=world.manager)
    before = last_seq(app)
    response = manager.post("/clients/new", data={"name_zh": "新区教育局", "name_en": "New District"})
    assert response.status_code == 302
    hit = only(records(app, before), "request.clients.new")
    assert hit["result"] == "ok" and hit["user_id"] == world.manager.id and hit["data"]["method"] == "POST"
    before = last_seq(app)
    response = manager.post("/clients/new", data={"name_zh": ""})  # the form again, with its errors
    assert response.status_code == 200
    assert only(records(app, before), "request.clients.new")["result"] == "refused"


def test_ticket_steps_are_recorded_with_the_ticket(app, world):
    agent = app.test_client(user=world.agent)
    page = agent.get(f"/tickets/{world.ticket_a.id}").get_data(as_text=True)
    version = int(page.split('name="version" type="hidden" value="')[1].split('"')[0])
    before = last_seq(app)
    response = agent.post(
        f"/tickets/{world.ticket_a.id}/respond",
        data={"body": "收到", "version": version},
        environ_base={"REMOTE_ADDR": "10.3.3.3"},
    )
    assert response.status_code == 302
    found = records(app, before)
    hit = only(found, "ticket.responded")
    assert (hit["target_type"], hit["target_id"], hit["address"], hit["user_id"]) == (
        "ticket",
        str(world.ticket_a.id),
        "10.3.3.3",
        world.agent.id,
    )
    assert hit["target_label"].startswith("GZ-")
    assert not [r for r in found if r["event"].startswith("request.")]  # the specific record covers it


def test_user_changes_are_recorded_with_what_changed(app, world):
    manager = app.test_client(user=world.sysadmin)
    before = last_seq(app)
    data = {"email": "new@a.example", "name": "新用户", "role": "client_staff", "client": world.a.id}
    assert manager.post("/users/new", data=data).status_code == 302
    created = only(records(app, before), "user.created")
    assert created["target_label"] == "new@a.example" and created["data"]["role"] == "client_staff"
    before = last_seq(app)
    data = {"email": world.a_staff.email, "name": world.a_staff.name, "role": "client_admin", "client": world.a.id}
    assert manager.post(f"/users/{world.a_staff.id}/edit", data=data).status_code == 302
    updated = only(records(app, before), "user.updated")
    assert updated["data"]["changes"]["role"] == ["client_staff", "client_admin"]
    before = last_seq(app)
    assert manager.post(f"/users/{world.a_staff.id}/deactivate").status_code == 302
    assert manager.post(f"/users/{world.a_staff.id}/activate").status_code == 302
    assert manager.post(f"/users/{world.a_staff.id}/invite").status_code == 302
    events = [r["event"] for r in records(app, before)]
    assert events == ["user.deactivated", "user.activated", "user.invited"]


def test_settings_changes_are_recorded_with_what_changed(app, world):
    manager = app.test_client(user=world.manager)
    before = last_seq(app)
    data = {"day": "2027-02-06", "kind": "workday", "name_zh": "春节调休", "name_en": "Spring Festival"}
    assert manager.post("/settings/calendar/days", data=data).status_code == 302
    hit = only(records(app, before), "settings.calendar.changed")
    change = hit["data"]["changes"][0]
    assert change["op"] == "created" and change["fields"]["name_zh"] == "春节调休"
    assert hit["user_id"] == world.manager.id


def test_request_id_is_the_proxys_when_sane_else_ours_and_goes_back(app, world):
    school = app.test_client(user=world.a_admin)
    before = last_seq(app)
    response = school.get("/settings/", headers={"X-Request-ID": "req-12345678"})
    assert response.headers["X-Request-ID"] == "req-12345678"
    assert records(app, before)[0]["request_id"] == "req-12345678"
    response = school.get("/", headers={"X-Request-ID": "<script>"})
    assert response.headers["X-Request-ID"] != "<script>" and len(response.headers["X-Request-ID"]) == 32


def test_the_address_honours_the_configured_proxy(tmp_path):
    from portal.extensions import db as database

    from ..factories import Factory, World

    app = make_app(PROXY_HOPS=1, STORAGE_DIR=str(tmp_path))
    with app.app_context():
        database.create_all()
    world = World(Factory(app))
    before = last_seq(app)
    client = app.test_client(user=world.a_admin)
    client.get("/settings/", headers={"X-Forwarded-For": "203.0.113.9"}, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert records(app, before)[0]["address"] == "203.0.113.9"


@pytest.mark.parametrize("size", [10, 100_000])
def test_details_are_bounded(app, size):
    from portal.audit.models import DETAILS_MAX

    before = last_seq(app)
    with app.test_request_context("/"):
        record("test.big", text="x" * size, other="y")
    hit = records(app, before)[0]
    assert len(hit["details"]) <= DETAILS_MAX and hit["data"]["other"] == "y"
    assert sa  # noqa: B018


def test_complaint_quote_and_visit_steps_are_recorded(app, world, make):
    from portal.renewals import services as quote_services
    from portal.renewals.models import RenewalQuote

    before = last_seq(app)
    complaint = make.complaint(world.a_admin, site=world.a_site1)
    filed = only(records(app, before), "complaint.filed")
    assert filed["target_type"] == "complaint" and filed["target_id"] == str(complaint.id)
    assert filed["user_id"] == world.a_admin.id or filed["user_id"] is None

    quote = make.quote(world.a, [world.unit_a1])
    before = last_seq(app)
    with app.test_request_context("/", method="POST", environ_base={"REMOTE_ADDR": "10.4.4.4"}):
        quote_services._event(db.session.get(RenewalQuote, quote.id), world.manager, "issued")
        db.session.commit()
    hit = only(records(app, before), "quote.issued")
    assert (hit["target_type"], hit["target_id"], hit["address"]) == ("renewal_quote", str(quote.id), "10.4.4.4")

    before = last_seq(app)
    visit = make.visit(world.contract_a, world.a_site1, recorded_by=world.agent)
    hit = only(records(app, before), "visit.done")
    assert hit["target_id"] == str(visit.id) and hit["data"] == {"from": "scheduled", "to": "done"}


def test_a_robots_secret_never_reaches_the_trail(app, world):
    from portal.notify.models import Robot

    before = last_seq(app)
    with app.test_request_context("/", method="POST"):
        db.session.add(
            Robot(
                name="群",
                platform="dingtalk",
                webhook_url="https://oapi.example/robot?access_token=SEKRIT",
                secret="SEC-KEY",
            )
        )
        db.session.commit()
    hit = only(records(app, before), "settings.robots.changed")
    assert "SEKRIT" not in hit["details"] and "SEC-KEY" not in hit["details"] and "群" in hit["details"]
