"""Every step of a ticket (one endpoint, many actions): the wrong role gets 403, another client's or school's
ticket 404, anonymous users the sign-in page. One test per step walks every role (the world is built once)."""

import pytest

from portal.roles import CLIENT, Role
from portal.tickets.views import ACTIONS


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_each_step_is_for_its_roles_only(app, world, action):
    for role, user in world.by_role().items():
        response = app.test_client(user=user).post(f"/tickets/{world.ticket_a.id}/{action}", data={})
        if role in ACTIONS[action].roles:
            assert response.status_code in (200, 302, 400), (role, response.status_code)
        else:
            assert response.status_code == 403, role


@pytest.mark.parametrize("action", sorted(a for a, step in ACTIONS.items() if step.roles & CLIENT))
def test_another_clients_or_schools_ticket_is_404(app, world, action):
    for role in ACTIONS[action].roles & CLIENT:
        foreign = world.ticket_a2 if role == Role.SITE_ADMIN else world.ticket_b
        response = app.test_client(user=world.by_role()[role]).post(f"/tickets/{foreign.id}/{action}", data={})
        assert response.status_code == 404, role


def test_anonymous_users_are_sent_to_sign_in(app, world):
    for action in ACTIONS:
        response = app.test_client().post(f"/tickets/{world.ticket_a.id}/{action}")
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), action


def test_an_unknown_step_is_404(app, world):
    assert app.test_client(user=world.manager).post(f"/tickets/{world.ticket_a.id}/delete").status_code == 404
