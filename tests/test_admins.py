"""The vendor's three separated administrators (三权分立, GB/T 22239-2019 level 3): each sees only their own area.

The route × role table (tests/test_access.py) refuses each of them every business route; here: their home page and
menu show only their area, no page they can reach links to one that refuses them, and they receive no business
notification."""

import re

import pytest
from flask import url_for

from portal.nav import items_for
from portal.notify import services as notify
from portal.notify.kinds import KINDS, kinds_for
from portal.roles import ADMINS, ALL, Role

EN = {"Accept-Language": "en"}
BUSINESS_PATHS = (
    "/tickets/",
    "/equipment/",
    "/contracts/",
    "/renewals/",
    "/complaints/",
    "/inspections/",
    "/scorecard/",
    "/warranty/",
    "/documents/",
    "/parts/",
    "/models/",
    "/surveys/",
    "/reports/",
    "/notifications/",
)


def is_business(path):
    """A page of the service, equipment or contracts (the group robots are settings, kept under /notifications/)."""
    return path.startswith(BUSINESS_PATHS) and not path.startswith("/notifications/robots")


def admins(world):
    return {Role.SYSTEM_ADMIN: world.sysadmin, Role.SECURITY_ADMIN: world.secadmin, Role.AUDITOR: world.auditor}


def links(body):
    """The site's own addresses a page links to (not static files)."""
    found = {href.replace("&amp;", "&") for href in re.findall(r'href="(/[^"]*)"', body)}
    return {href for href in found if not href.startswith("/static/")}


@pytest.mark.parametrize("role", sorted(ADMINS))
def test_the_home_page_shows_the_administrators_area_and_nothing_of_the_business(app, world, role):
    body = app.test_client(user=admins(world)[role]).get("/", headers=EN).get_data(as_text=True)
    assert "Your area" in body
    for business in ("Fault reports", "Complaints", "Warranty", "Scorecard", "Open", "SLA breached"):
        assert f">{business}<" not in body, business
    assert not [href for href in links(body) if is_business(href)]
    assert 'id="notify-bell"' not in body  # no bell: no notification for them


def test_the_system_administrators_entry_points(app, world):
    body = app.test_client(user=world.sysadmin).get("/", headers=EN).get_data(as_text=True)
    for path in ("/users/", "/clients/", "/sites/", "/settings/", "/settings/calendar", "/notifications/robots"):
        assert f'href="{path}"' in body, path
    assert "The pages of your area are not available" not in body


@pytest.mark.parametrize(
    "role, paths",
    [
        (Role.SECURITY_ADMIN, ("/security/policy", "/security/users")),
        (Role.AUDITOR, ("/audit/",)),
    ],
)
def test_the_security_administrator_and_the_auditor_find_their_area_and_only_theirs(app, world, role, paths):
    users = admins(world)
    body = app.test_client(user=users[role]).get("/", headers=EN).get_data(as_text=True)
    for path in paths:
        assert f'href="{path}"' in body, path
        # Each entry point opens for this administrator, and for no other administrator.
        for other, user in users.items():
            status = app.test_client(user=user).get(path).status_code
            assert status == (200 if other == role else 403), (path, other)


@pytest.mark.parametrize("role", sorted(ADMINS))
def test_the_menu_holds_only_the_administrators_area(app, world, role):
    user = admins(world)[role]
    with app.test_request_context():
        endpoints = {item.endpoint for item in items_for(user)}
        assert all(app.view_functions[e].__dict__.get("allowed_roles", {role}) >= {role} for e in endpoints)
    expected = {
        Role.SYSTEM_ADMIN: {"home.index", "users.index", "clients.index", "sites.index", "settings.index"},
        Role.SECURITY_ADMIN: {"home.index", "security_admin.policy", "security_accounts.users"},
        Role.AUDITOR: {"home.index", "audit.index"},
    }
    assert endpoints == expected[role]


@pytest.mark.parametrize("role", sorted(ADMINS))
def test_no_page_an_administrator_reaches_links_to_a_page_that_refuses_them(app, world, role):
    """From the home page, every link of every page reached (the whole of their area), two clicks deep: none 403,
    none a business page."""
    browser = app.test_client(user=admins(world)[role])
    seen, todo = set(), ["/"]
    for _depth in range(3):
        found = []
        for path in todo:
            if path in seen:
                continue
            seen.add(path)
            response = browser.get(path, headers=EN)
            assert response.status_code in (200, 302), (path, response.status_code)
            assert not is_business(path), path
            if response.status_code == 200 and response.mimetype == "text/html":
                found += sorted(links(response.get_data(as_text=True)) - seen)
        todo = found
    assert len(seen) > (10 if role == Role.SYSTEM_ADMIN else 1)


def test_no_kind_of_notification_is_for_an_administrator():
    assert all(kind.roles <= ALL for kind in KINDS.values())
    assert all(kinds_for(role) == [] for role in ADMINS)


def test_an_administrator_is_told_of_nothing_even_when_named(app, world):
    """``tell`` drops administrators whoever the kind's rules name: the vendor's side sees every client, so the scope
    rule alone would let them hear of every fault."""
    from portal.extensions import db
    from portal.tickets.models import Ticket

    with app.test_request_context():
        ticket = db.session.get(Ticket, world.ticket_a.id)
        users = [db.session.merge(u) for u in (*admins(world).values(), world.manager)]
        made = notify.tell("ticket.reply", ticket, users, author="x", number=ticket.number)
        assert [note.user_id for note in made] == [world.manager.id]
        db.session.rollback()


def test_the_account_page_offers_no_notification_preferences_to_an_administrator(app, world):
    with app.test_request_context():
        preferences = url_for("notify.preferences")
    for user in admins(world).values():
        assert preferences not in app.test_client(user=user).get("/account/").get_data(as_text=True)
    assert preferences in app.test_client(user=world.manager).get("/account/").get_data(as_text=True)
