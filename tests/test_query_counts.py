"""Every list answers with the same number of SQL queries whether it shows 3 rows or a full page."""

from decimal import Decimal

import pytest

LISTS = [
    "/contracts/",
    "/renewals/",
    "/parts/",
    "/models/",
    "/equipment/",
    "/warranty/",
    "/",
    "/users/",
    "/sites/",
    "/tickets/",
    "/tickets/?view=all",
    "/documents/",
    "/inspections/?state=all",
    "/complaints/",
    "/equipment/?sort=-end",
    "/equipment/?sort=serial",
    "/equipment/?sort=new",
    "/tickets/?view=closed",
    # Each fault filed below tells the manager (a notification, an e-mail delivery); the robots are made below.
    "/notifications/",
    "/notifications/deliveries?state=all",
    "/notifications/robots",
    "/scorecard/overview",
    "/surveys/",
    "/surveys/?state=sent",
    "/reports/",
]


def survey_of(app, ticket=None, visit=None, by=None):
    """A survey of a fault (as when it is closed) or of a visit (as when it is signed off)."""
    from portal.auth.models import User
    from portal.extensions import db
    from portal.inspections.models import Visit
    from portal.surveys import services
    from portal.tickets.models import Ticket

    with app.app_context():
        if ticket is not None:
            services.for_ticket(db.session.get(Ticket, ticket.id))
        else:
            services.for_visit(db.session.get(Visit, visit.id), db.session.get(User, by.id))
        db.session.commit()


@pytest.mark.parametrize("url", LISTS)
def test_bounded_queries(app, world, make, count_queries, url):
    from portal.notify.models import Robot
    from portal.renewals.models import SparePart

    browser = app.test_client(user=world.sysadmin if url == "/users/" else world.manager)  # accounts: 三权分立
    if url.startswith("/surveys"):
        survey_of(app, ticket=world.ticket_a)
    with count_queries() as few:
        assert browser.get(url).status_code == 200
    for n in range(30):
        client = make.client()
        site = make.site(client)
        model = make.model()
        contract = make.contract(client)
        unit = make.unit(contract, site, model, unit_price=Decimal("1000"))
        make.quote(client, [unit])
        staff = make.user("client_staff", client=client)
        ticket = make.ticket(staff, site, unit if n % 2 else None)
        if url.startswith("/surveys"):
            if n % 2:
                survey_of(app, ticket=ticket)
            else:
                survey_of(app, visit=make.visit(contract, site, recorded_by=world.agent), by=staff)
        if url.startswith("/documents"):
            make.document(world.agent, **({"model": model} if n % 2 else {"contract": contract}))
        if url.startswith("/inspections"):
            make.visit(contract, site, **({"recorded_by": world.agent} if n % 2 else {}))
        if url.startswith("/complaints"):
            make.complaint(staff, site)
        if url.startswith("/reports"):
            make.issued(
                world.agent,
                **(
                    {"client": client, "site": site}
                    if n % 2
                    else {"kind": "evidence_pack", "client": client, "contract": contract}
                ),
            )
        make.save(SparePart(name_zh=f"备件{n}", unit_price=Decimal("10"), models=[model]))
        if url.startswith("/notifications/robots"):
            make.save(
                Robot(
                    name=f"群{n}",
                    platform="dingtalk",
                    client_id=client.id,
                    kinds="ticket.filed",
                    webhook_url="https://oapi.dingtalk.com/robot/send?access_token=x",
                    active=False,
                )
            )
    with count_queries() as many:
        assert browser.get(url).status_code == 200
    assert many.count == few.count, many.statements
