"""Every step of a ticket (one endpoint, many actions): the wrong role gets 403, another client's or school's
ticket 404, anonymous users the sign-in page."""
import pytest

from portal.roles import CLIENT, Role
from portal.tickets.views import ACTIONS

CASES = [(action, role) for action in sorted(ACTIONS) for role in Role]


@pytest.mark.parametrize(("action", "role"), CASES)
def test_each_step_is_for_its_roles_only(app, world, action, role):
    user = world.by_role()[role]
    response = app.test_client(user=user).post(f"/tickets/{world.ticket_a.id}/{action}", data={})
    if role in ACTIONS[action].roles:
        assert response.status_code in (200, 302, 400), response.status_code
    else:
        assert response.status_code == 403


@pytest.mark.parametrize(("action", "role"), [(a, r) for a, r in CASES if r in CLIENT and r in ACTIONS[a].roles])
def test_another_clients_or_schools_ticket_is_404(app, world, action, role):
    foreign = world.ticket_a2 if role == Role.SITE_ADMIN else world.ticket_b
    response = app.test_client(user=world.by_role()[role]).post(f"/tickets/{foreign.id}/{action}", data={})
    assert response.status_code == 404


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_anonymous_users_are_sent_to_sign_in(app, world, action):
    response = app.test_client().post(f"/tickets/{world.ticket_a.id}/{action}")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_an_unknown_step_is_404(app, world):
    assert app.test_client(user=world.manager).post(f"/tickets/{world.ticket_a.id}/delete").status_code == 404
