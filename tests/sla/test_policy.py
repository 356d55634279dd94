"""A contract's service levels: the bids' figures by default, edited by the vendor manager."""

from datetime import time

import sqlalchemy as sa

from portal.extensions import db
from portal.sla.models import SlaPolicy
from portal.sla.services import policy_for

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}


def form(**changes):
    data = {"clock": "working", "day_starts": "08:30", "day_ends": "17:30"}
    for s in "ABCD":
        data.update({f"{s}_response": "30", f"{s}_proposal": "60", f"{s}_on_site": "120", f"{s}_resolution": "2880"})
    data.update(changes)
    return data


def test_defaults_are_the_bids_figures(app, world):
    with app.app_context():
        policy = policy_for(world.contract_a.id)
        assert policy.id is None and policy.clock == "24x7"
        assert [(t.severity, t.response, t.proposal, t.on_site, t.resolution) for t in policy.targets] == [
            (s, 30, 60, 120, 2880) for s in "ABCD"
        ]
    body = (
        app.test_client(user=world.a_staff).get(f"/contracts/{world.contract_a.id}", headers=ZH).get_data(as_text=True)
    )
    assert "30分钟" in body and "48小时" in body and "投标承诺" in body


def test_manager_sets_working_hours_and_relaxes_low_severities(app, world):
    manager = app.test_client(user=world.manager)
    data = form(D_response="240", D_proposal="1440", D_on_site="2880", D_resolution="7200")
    assert manager.post(f"/contracts/{world.contract_a.id}/sla", data=data).status_code == 302
    with app.app_context():
        policy = db.session.scalar(sa.select(SlaPolicy).where(SlaPolicy.contract_id == world.contract_a.id))
        assert policy.clock == "working" and policy.day_starts == time(8, 30)
        assert policy.target("D").resolution == 7200 and policy.target("A").resolution == 2880
    body = (
        app.test_client(user=world.a_admin).get(f"/contracts/{world.contract_a.id}", headers=EN).get_data(as_text=True)
    )
    assert "Working hours, 08:30–17:30, on working days" in body and "120 hours" in body


def test_policy_validation(app, world):
    manager = app.test_client(user=world.manager)
    body = manager.post(
        f"/contracts/{world.contract_a.id}/sla",
        headers=EN,
        data=form(day_ends="08:00", A_response="0", B_on_site="30", C_resolution="abc"),
    ).get_data(as_text=True)
    assert "The working day must end after it starts." in body
    assert "Use minutes from 1 to 86400 (60 days)." in body
    assert "Each target must be no shorter than the one before it." in body
    assert "Not a valid integer value." in body
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SlaPolicy)) == 0


def test_unconfirmed_holiday_years_are_flagged_on_the_sla_page(app, world):
    body = (
        app.test_client(user=world.manager)
        .get(f"/contracts/{world.contract_a.id}/sla", headers=EN)
        .get_data(as_text=True)
    )
    assert "holiday schedule is not confirmed" in body
