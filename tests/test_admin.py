"""Managing clients, sites, users and the vendor's settings: validation, scoping, lists and queries."""

import pytest
import sqlalchemy as sa

from portal.auth.models import User
from portal.extensions import db
from portal.orgs.models import Client, Site, TeamMember, Vendor
from portal.roles import Role

EN = {"Accept-Language": "en"}


def get(app, user, url, **kw):
    return app.test_client(user=user).get(url, headers=EN, **kw)


def post(app, user, url, data):
    return app.test_client(user=user).post(url, data=data, headers=EN)


def test_system_administrator_keeps_clients_sites_and_settings(app, world):
    """The organisation's configuration: the system administrator as well as the vendor manager (business)."""
    assert post(app, world.sysadmin, "/clients/new", {"name_zh": "系统局", "name_en": "Sys Bureau"}).status_code == 302
    with app.app_context():
        client = db.session.scalar(sa.select(Client).where(Client.name_zh == "系统局"))
    data = {"name_zh": "系统一中", "timezone": "Asia/Shanghai"}
    assert post(app, world.sysadmin, f"/sites/new?client={client.id}", data).status_code == 302
    assert (
        post(app, world.sysadmin, "/settings/", {"name_zh": "新供应商", "hotline": "400-123-4567"}).status_code == 302
    )
    page = get(app, world.sysadmin, f"/clients/{client.id}").get_data(as_text=True)
    assert f"/users/?client={client.id}" in page and f"/sites/new?client={client.id}" in page
    site = get(app, world.sysadmin, f"/sites/{world.a_site1.id}").get_data(as_text=True)
    assert "/equipment/" not in site and "Inspection history" not in site and "/reports/" not in site
    manager = get(app, world.manager, f"/clients/{client.id}").get_data(as_text=True)
    assert "/users/" not in manager and f"/sites/new?client={client.id}" in manager  # no link to a 403


class TestClients:
    def test_create_then_edit(self, app, world):
        response = post(app, world.manager, "/clients/new", {"name_zh": "新区教育局", "name_en": "New District Bureau"})
        assert response.status_code == 302
        with app.app_context():
            client = db.session.scalar(sa.select(Client).where(Client.name_zh == "新区教育局"))
        assert response.headers["Location"] == f"/clients/{client.id}"
        response = post(
            app, world.manager, f"/clients/{client.id}/edit", {"name_zh": "新区教育局", "contact_name": "王老师"}
        )
        assert response.status_code == 302
        with app.app_context():
            assert db.session.get(Client, client.id).contact_name == "王老师"

    def test_validation_keeps_what_was_typed(self, app, world):
        body = post(
            app, world.manager, "/clients/new", {"name_zh": "", "name_en": "Typed name", "address": "x" * 301}
        ).get_data(as_text=True)
        assert "This field is required." in body and "Use at most 300 characters." in body
        assert 'value="Typed name"' in body

    def test_duplicate_name(self, app, world):
        body = post(app, world.manager, "/clients/new", {"name_zh": world.a.name_zh}).get_data(as_text=True)
        assert "A client with this name already exists." in body

    def test_search_and_htmx_fragment(self, app, world):
        browser = app.test_client(user=world.agent)
        full = browser.get("/clients/?q=乙", headers=EN)
        assert "<html" in full.get_data(as_text=True) and "Centre B" in full.get_data(as_text=True)
        fragment = browser.get("/clients/?q=centre", headers={"HX-Request": "true", **EN})
        body = fragment.get_data(as_text=True)
        assert "<html" not in body and "Centre B" in body and "Bureau A" not in body
        assert "HX-Request" in fragment.headers["Vary"]
        # A boosted or history-restore request wants the whole page.
        restore = browser.get("/clients/", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
        assert "<html" in restore.get_data(as_text=True)

    def test_search_treats_wildcards_literally(self, app, world):
        body = get(app, world.agent, "/clients/?q=%25").get_data(as_text=True)
        assert "No client matches this search." in body


class TestSites:
    def test_manager_adds_a_site_to_a_client(self, app, world):
        data = {"name_zh": "甲三中", "name_en": "A School 3", "timezone": "Asia/Shanghai", "address": "路 1 号"}
        response = post(app, world.manager, f"/sites/new?client={world.a.id}", data)
        assert response.status_code == 302 and response.headers["Location"] == f"/clients/{world.a.id}"
        with app.app_context():
            assert db.session.scalar(sa.select(Site.client_id).where(Site.name_zh == "甲三中")) == world.a.id

    def test_site_names_are_unique_within_a_client_only(self, app, world):
        body = post(
            app, world.manager, f"/sites/new?client={world.a.id}", {"name_zh": "甲一中", "timezone": "Asia/Shanghai"}
        ).get_data(as_text=True)
        assert "This client already has a site with this name." in body
        response = post(
            app, world.manager, f"/sites/new?client={world.b.id}", {"name_zh": "甲一中", "timezone": "Asia/Shanghai"}
        )
        assert response.status_code == 302

    def test_time_zone_must_be_one_offered(self, app, world):
        body = post(
            app, world.manager, f"/sites/{world.a_site1.id}/edit", {"name_zh": "甲一中", "timezone": "Mars/Olympus"}
        ).get_data(as_text=True)
        assert "Not a valid choice" in body

    def test_new_site_needs_an_existing_client(self, app, world):
        assert get(app, world.manager, "/sites/new").status_code == 404
        assert get(app, world.manager, "/sites/new?client=99999").status_code == 404

    def test_vendor_filters_sites_by_client(self, app, world):
        body = get(app, world.agent, f"/sites/?client={world.b.id}").get_data(as_text=True)
        assert "B Data Room" in body and "A School 1" not in body

    def test_client_filter_is_ignored_for_client_users(self, app, world):
        body = get(app, world.a_staff, f"/sites/?client={world.b.id}").get_data(as_text=True)
        assert "B Data Room" not in body and "A School 1" in body


def users_in_db(app):
    with app.app_context():
        return db.session.scalars(sa.select(User)).all()


class TestUsers:
    def test_client_admin_creates_users_of_their_own_client_only(self, app, world):
        # A posted client and a vendor role are not offered to a client admin: ignored or refused.
        data = {"email": "Teacher@A.example", "name": "老师", "role": "client_staff", "client": world.b.id}
        assert post(app, world.a_admin, "/users/new", data).status_code == 302
        with app.app_context():
            user = db.session.scalar(sa.select(User).where(User.email == "teacher@a.example"))
            assert user.client_id == world.a.id and user.role == "client_staff"
        body = post(
            app, world.a_admin, "/users/new", {**data, "email": "x@a.example", "role": "vendor_manager"}
        ).get_data(as_text=True)
        assert "Not a valid choice" in body

    def test_school_administrator_needs_a_site_of_the_same_client(self, app, world):
        data = {"email": "head@a.example", "name": "校长", "role": "site_admin"}
        body = post(app, world.a_admin, "/users/new", data).get_data(as_text=True)
        assert "Choose the school or department this administrator looks after." in body
        body = post(app, world.a_admin, "/users/new", {**data, "site": world.b_site.id}).get_data(as_text=True)
        assert "This site does not belong to the chosen client." in body
        assert post(app, world.a_admin, "/users/new", {**data, "site": world.a_site2.id}).status_code == 302

    def test_system_administrator_rules_for_vendor_and_client_roles(self, app, world):
        data = {"email": "eng@vendor.example", "name": "工程师", "role": "vendor_agent", "client": world.a.id}
        body = post(app, world.sysadmin, "/users/new", data).get_data(as_text=True)
        assert "Vendor staff belong to no client" in body
        assert post(app, world.sysadmin, "/users/new", {**data, "client": ""}).status_code == 302
        body = post(
            app, world.sysadmin, "/users/new", {**data, "email": "c@x.example", "role": "client_staff", "client": ""}
        ).get_data(as_text=True)
        assert "Choose the client this user belongs to." in body

    @pytest.mark.parametrize("role", ["system_admin", "security_admin", "auditor"])
    def test_only_the_system_administrator_gives_an_administrator_role_and_never_with_a_client(self, app, world, role):
        """三权分立: an administrator is vendor side, one role per account, given by the system administrator only."""
        data = {"email": f"{role}@vendor.example", "name": "管理员", "role": role, "client": world.a.id}
        body = post(app, world.sysadmin, "/users/new", data).get_data(as_text=True)
        assert "An administrator belongs to no client: leave the client empty." in body
        assert (
            post(app, world.a_admin, "/users/new", {**data, "client": ""})
            .get_data(as_text=True)
            .count("Not a valid choice")
            == 1
        )  # a client admin is not offered it
        body = post(
            app,
            world.a_admin,
            f"/users/{world.a_staff.id}/edit",
            {"email": world.a_staff.email, "name": "x", "role": role},
        ).get_data(as_text=True)
        assert "Not a valid choice" in body
        assert post(app, world.manager, "/users/new", {**data, "client": ""}).status_code == 403
        assert post(app, world.sysadmin, "/users/new", {**data, "client": ""}).status_code == 302
        with app.app_context():
            made = db.session.scalar(sa.select(User).where(User.email == f"{role}@vendor.example"))
            assert made.role == role and made.client_id is None and made.site_id is None
            assert db.session.get(User, world.a_staff.id).role == "client_staff"

    @pytest.mark.parametrize("role", ["vendor_manager", "vendor_agent", "system_admin", "security_admin", "auditor"])
    def test_client_admin_gives_no_vendor_nor_administrator_role(self, app, world, role):
        form = get(app, world.a_admin, "/users/new").get_data(as_text=True)
        assert f'value="{role}"' not in form
        data = {"email": "x@a.example", "name": "x", "role": role}
        assert "Not a valid choice" in post(app, world.a_admin, "/users/new", data).get_data(as_text=True)
        assert not any(u.email == "x@a.example" for u in users_in_db(app))

    def test_system_administrator_offers_every_role(self, app, world):
        form = get(app, world.sysadmin, "/users/new").get_data(as_text=True)
        assert all(f'value="{role.value}"' in form for role in Role)

    def test_system_administrator_cannot_change_their_own_role(self, app, world):
        data = {"email": world.sysadmin.email, "name": "x", "role": "vendor_manager"}
        body = post(app, world.sysadmin, f"/users/{world.sysadmin.id}/edit", data).get_data(as_text=True)
        assert "You cannot change your own role or organisation." in body
        body = post(
            app,
            world.sysadmin,
            f"/users/{world.sysadmin.id}/edit",
            {**data, "role": "system_admin", "client": world.a.id},
        ).get_data(as_text=True)
        assert "An administrator belongs to no client" in body
        post(app, world.sysadmin, f"/users/{world.sysadmin.id}/deactivate", {})
        with app.app_context():
            me = db.session.get(User, world.sysadmin.id)
            assert me.role == "system_admin" and me.client_id is None and me.active

    def test_system_administrator_changes_another_administrators_role(self, app, world):
        data = {"email": world.auditor.email, "name": "审计", "role": "security_admin"}
        assert post(app, world.sysadmin, f"/users/{world.auditor.id}/edit", data).status_code == 302
        with app.app_context():
            assert db.session.get(User, world.auditor.id).role == "security_admin"

    def test_duplicate_email_is_refused_case_insensitively(self, app, world):
        data = {"email": "STAFF@a.example", "name": "重复", "role": "client_staff"}
        body = post(app, world.a_admin, "/users/new", data).get_data(as_text=True)
        assert "An account with this e-mail address already exists." in body
        assert 'value="重复"' in body  # what was typed stays

    def test_bad_email_message(self, app, world):
        body = post(
            app, world.a_admin, "/users/new", {"email": "not-an-email", "name": "x", "role": "client_staff"}
        ).get_data(as_text=True)
        assert "Enter a valid e-mail address" in body

    def test_nobody_changes_their_own_role_or_deactivates_themselves(self, app, world):
        data = {"email": world.a_admin.email, "name": "x", "role": "client_staff"}
        body = post(app, world.a_admin, f"/users/{world.a_admin.id}/edit", data).get_data(as_text=True)
        assert "You cannot change your own role or organisation." in body
        post(app, world.a_admin, f"/users/{world.a_admin.id}/deactivate", {})
        with app.app_context():
            assert db.session.get(User, world.a_admin.id).active

    def test_deactivate_and_activate(self, app, world):
        post(app, world.a_admin, f"/users/{world.a_staff.id}/deactivate", {})
        with app.app_context():
            assert not db.session.get(User, world.a_staff.id).active
        body = get(app, world.a_admin, "/users/?state=deactivated").get_data(as_text=True)
        assert "staff@a.example" in body and "school@a.example" not in body
        post(app, world.a_admin, f"/users/{world.a_staff.id}/activate", {})
        with app.app_context():
            assert db.session.get(User, world.a_staff.id).active

    def test_filters(self, app, world):
        body = get(app, world.sysadmin, "/users/?role=site_admin").get_data(as_text=True)
        assert "school@a.example" in body and "staff@a.example" not in body
        body = get(app, world.sysadmin, f"/users/?client={world.b.id}").get_data(as_text=True)
        assert "admin@b.example" in body and "admin@a.example" not in body
        body = get(app, world.sysadmin, "/users/?q=SCHOOL2").get_data(as_text=True)
        assert "school2@a.example" in body and "school@a.example" not in body
        body = get(app, world.sysadmin, "/users/?state=invited").get_data(as_text=True)
        assert "staff@a.example" in body  # the factory's users have no password yet

    def test_list_is_paginated_with_a_bounded_number_of_queries(self, app, make, world, count_queries):
        browser = app.test_client(user=world.sysadmin)
        with count_queries() as few:
            assert browser.get("/users/").status_code == 200
        for n in range(60):
            site = world.a_site1 if n % 2 else None
            make.user(
                "site_admin" if site else "client_staff", client=world.a, site=site, email=f"bulk{n:02}@a.example"
            )
        with count_queries() as many:
            first = browser.get("/users/").get_data(as_text=True)
        assert many.count == few.count, many.statements
        total = len(users_in_db(app))
        assert first.count("/users/") and f"1–25 of {total}" in browser.get("/users/?lang=en").get_data(as_text=True)
        third = browser.get("/users/?page=3&lang=en").get_data(as_text=True)  # a page number of the former pager
        assert f"51–{total} of {total}" in third
        assert browser.get("/users/?page=99").status_code == 200  # past the end: an empty page, not an error

    def test_client_and_site_lists_have_bounded_queries(self, app, make, world, count_queries):
        browser = app.test_client(user=world.manager)
        with count_queries() as few:
            browser.get("/clients/")
            browser.get("/sites/")
        for _ in range(30):
            client = make.client()
            make.site(client)
            make.user("client_staff", client=client)
        with count_queries() as many:
            browser.get("/clients/")
            browser.get("/sites/")
        assert many.count == few.count


class TestSettings:
    def test_vendor_details_and_team(self, app, world):
        response = post(
            app,
            world.manager,
            "/settings/",
            {"name_zh": "新供应商", "hotline": "400-123-4567", "email": "svc@v.example"},
        )
        assert response.status_code == 302
        with app.app_context():
            assert db.session.scalar(sa.select(Vendor.hotline)) == "400-123-4567"
        assert "400-123-4567" in get(app, world.a_school, "/").get_data(as_text=True)  # everyone sees the hotline
        response = post(
            app,
            world.manager,
            "/settings/team/new",
            {"name": "赵工", "role_zh": "工程师", "phone": "139", "position": "5"},
        )
        assert response.status_code == 302
        with app.app_context():
            member = db.session.scalar(sa.select(TeamMember).where(TeamMember.name == "赵工"))
        assert "赵工" in get(app, world.a_staff, "/").get_data(as_text=True)
        post(app, world.manager, f"/settings/team/{member.id}/delete", {})
        with app.app_context():
            assert db.session.get(TeamMember, member.id) is None

    def test_validation(self, app, world):
        body = post(app, world.manager, "/settings/", {"name_zh": "", "hotline": "", "email": "bad"}).get_data(
            as_text=True
        )
        assert body.count("This field is required.") == 2 and "Enter a valid e-mail address" in body
        body = post(
            app, world.manager, "/settings/team/new", {"name": "a", "role_zh": "b", "phone": "1", "position": "abc"}
        ).get_data(as_text=True)
        assert "Not a valid integer value." in body and 'value="abc"' in body


def test_profile_ignores_fields_it_does_not_offer(app, world):
    data = {
        "name": "新名字",
        "phone": "123",
        "locale": "en",
        "role": "vendor_manager",
        "client_id": world.b.id,
        "email": "hijack@example.com",
        "active": "",
        "site_id": world.b_site.id,
    }
    assert app.test_client(user=world.a_school).post("/account/", data=data).status_code == 302
    with app.app_context():
        user = db.session.get(User, world.a_school.id)
        assert (user.name, user.phone, user.locale) == ("新名字", "123", "en")
        assert (user.role, user.client_id, user.site_id, user.email, user.active) == (
            "site_admin",
            world.a.id,
            world.a_site1.id,
            "school@a.example",
            True,
        )


def test_profile_validation_keeps_input(app, world):
    body = (
        app.test_client(user=world.a_staff)
        .post("/account/", data={"name": "", "phone": "9" * 51, "locale": "xx"}, headers=EN)
        .get_data(as_text=True)
    )
    assert "Enter your name." in body and "Use at most 50 characters." in body and "Not a valid choice" in body
    assert 'value="' + "9" * 51 + '"' in body
