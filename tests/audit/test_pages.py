"""The auditor's pages: only the auditor; filters; one record; the export (formula-neutral, itself recorded); the
chain check; a bounded number of queries whatever the size of the trail."""

import csv
import io

import pytest

from portal.audit import record

from .helpers import last_seq, records, write

EN = {"Accept-Language": "en"}


@pytest.mark.parametrize("role", ["vendor_manager", "vendor_agent", "client_admin", "system_admin", "security_admin"])
def test_only_the_auditor_reads_the_trail(app, world, role):
    client = app.test_client(user=world.by_role()[role])
    for url in ("/audit/", "/audit/1", "/audit/export.csv"):
        assert client.get(url).status_code == 403, url
    assert client.post("/audit/verify").status_code == 403


def test_nav_shows_the_trail_to_the_auditor_only(app, world):
    assert 'href="/audit/"' in app.test_client(user=world.auditor).get("/audit/", headers=EN).get_data(as_text=True)
    assert 'href="/audit/"' not in app.test_client(user=world.sysadmin).get("/", headers=EN).get_data(as_text=True)


def signed_in_refusals(app, world):
    """A few records of known kinds, from known users and addresses."""
    app.test_client(user=world.a_admin).get("/settings/", environ_base={"REMOTE_ADDR": "10.5.5.5"})
    app.test_client(user=world.agent).get(f"/tickets/{world.ticket_a.id}/nope")
    with app.test_request_context("/login", method="POST", environ_base={"REMOTE_ADDR": "10.6.6.6"}):
        record("auth.sign_in", result="refused", user=world.b_staff, reason="bad_credentials")
        record("custom.unknown_event", note="<b>x</b>")


def test_the_list_and_its_filters(app, world):
    signed_in_refusals(app, world)
    auditor = app.test_client(user=world.auditor)
    page = auditor.get("/audit/", headers=EN).get_data(as_text=True)
    assert "Refused: not allowed" in page and "Sign-in" in page
    assert "custom.unknown_event" in page  # an event with no name yet shows by its own
    assert "10.5.5.5" in page and world.a_admin.email in page
    only_signin = auditor.get("/audit/?event=auth.sign_in", headers=EN).get_data(as_text=True)
    assert world.b_staff.email in only_signin and "10.5.5.5" not in only_signin
    by_user = auditor.get(f"/audit/?email={world.a_admin.email.upper()}", headers=EN).get_data(as_text=True)
    assert "10.5.5.5" in by_user and world.b_staff.email not in by_user
    by_group = auditor.get("/audit/?group=access&result=refused", headers=EN).get_data(as_text=True)
    assert "10.5.5.5" in by_group and world.b_staff.email not in by_group
    by_client = auditor.get(f"/audit/?client={world.b.id}", headers=EN).get_data(as_text=True)
    assert world.b_staff.email in by_client and "10.5.5.5" not in by_client
    by_address = auditor.get("/audit/?address=10.6.6.6", headers=EN).get_data(as_text=True)
    assert world.b_staff.email in by_address and world.a_admin.email not in by_address
    empty = auditor.get("/audit/?from=2001-01-01&to=2001-01-02", headers=EN).get_data(as_text=True)
    assert "No record matches these filters." in empty
    for bad in (
        "from=2026-13-45",
        "client=abc",
        "client=99999999999",
        "result=x",
        "group=nope",
        "after=garbage",
        "event=" + "x" * 300,
    ):
        assert auditor.get(f"/audit/?{bad}").status_code == 200, bad
    assert auditor.get("/audit/?address=%00").status_code == 400  # control characters: refused for every page


def test_one_record_with_its_details_and_hashes(app, world):
    signed_in_refusals(app, world)
    found = records(app, event="custom.unknown_event")[0]
    auditor = app.test_client(user=world.auditor)
    page = auditor.get(f"/audit/{found['seq']}", headers=EN).get_data(as_text=True)
    assert found["hash"] in page and found["prev_hash"] in page and "10.6.6.6" in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
    assert auditor.get("/audit/99999999").status_code == 404


def test_the_export_is_formula_neutral_and_recorded(app, world):
    with app.test_request_context("/"):
        record("custom.formula", target=("thing", 1, '=HYPERLINK("http://x")'))
    auditor = app.test_client(user=world.auditor)
    before = last_seq(app)
    response = auditor.get("/audit/export.csv?event=custom.formula", environ_base={"REMOTE_ADDR": "10.7.7.7"})
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 2 and '\'=HYPERLINK("http://x")' in rows[1]
    exported = [r for r in records(app, before) if r["event"] == "data.exported"]
    assert len(exported) == 1 and exported[0]["data"]["endpoint"] == "audit.export"
    assert exported[0]["data"]["args"] == {"event": "custom.formula"} and exported[0]["address"] == "10.7.7.7"
    xlsx = auditor.get("/audit/export.xlsx")
    assert xlsx.status_code == 200 and xlsx.get_data()[:2] == b"PK"


def test_the_chain_check_is_asked_for_and_its_result_shown(app, world):
    from portal.audit import retention
    from portal.extensions import db
    from portal.jobs import huey

    auditor = app.test_client(user=world.auditor)
    assert "has not been checked yet" in auditor.get("/audit/", headers=EN).get_data(as_text=True)
    before = last_seq(app)
    response = auditor.post("/audit/verify", headers=EN)
    assert response.status_code == 303
    assert [r["event"] for r in records(app, before)] == ["audit.verify_requested"]
    assert huey.pending_count() >= 1
    with app.app_context():
        assert retention.verify_and_record().ok
        db.session.remove()
    page = auditor.get("/audit/", headers=EN).get_data(as_text=True)
    assert "Chain intact" in page


def test_the_list_makes_the_same_queries_however_long_the_trail(app, world, count_queries):
    auditor = app.test_client(user=world.auditor)
    write(app, 5)
    with count_queries() as few:
        assert auditor.get("/audit/").status_code == 200
    write(app, 300)
    with count_queries() as many:
        page = auditor.get("/audit/")
    assert page.status_code == 200
    assert many.count == few.count, (few.statements, many.statements)
    with count_queries() as next_page:
        assert auditor.get("/audit/?page=3").status_code == 200
    assert next_page.count <= few.count + 1
