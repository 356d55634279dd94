"""The maintained unit counts (``portal.equipment.tally``) agree with a recount after every kind of change, the pages
show the recount's numbers, ``flask counts check`` / ``rebuild`` find and mend a difference, and the vendor's overview
is one row a client with a page for each."""

import re
from datetime import date, timedelta

import sqlalchemy as sa

from portal.equipment import tally
from portal.equipment.models import Equipment
from portal.equipment.services import count_by_state
from portal.equipment.warranty import LISTED_STATES, add_months
from portal.extensions import db
from portal.i18n import local_today

from ..conftest import at_once

EN = {"Accept-Language": "en"}


def agrees(app):
    with app.app_context():
        found = tally.differences()
        db.session.rollback()
    assert found == []


def recount(app, user, client_id=None):
    """The states' counts as the pages showed them before the tallies: a count of the units."""
    with app.test_request_context():
        query = Equipment.scoped(user)
        if client_id is not None:
            query = query.where(Equipment.client_id == client_id)
        counts = count_by_state(query, local_today())
    return [counts.get(s.value, 0) for s in LISTED_STATES]


def tiles(body):
    return [int(n.replace(",", "")) for n in re.findall(r'class="tile-value">([\d,]+)<', body)]


def spread(make, world):
    """Units in every state at A's first school and B: pending, expired, expiring, renewed, in warranty."""
    now = date.today()
    pending = make.contract(world.a, accepted_on=None)
    make.unit(pending, world.a_site1, world.model, serial="T-PENDING")
    make.unit(world.contract_a, world.a_site1, world.model, serial="T-EXPIRED", warranty_start=date(2019, 1, 1))
    make.unit(
        world.contract_a,
        world.a_site2,
        world.model,
        serial="T-SOON",
        warranty_start=add_months(now + timedelta(days=20), -36),
    )
    make.unit(
        world.contract_b,
        world.b_site,
        world.model,
        serial="T-RENEWED",
        warranty_start=date(2019, 1, 1),
        renewed_until=now + timedelta(days=400),
    )
    make.unit(world.contract_b, world.b_site, world.model, serial="T-LATER", warranty_start=now)


class TestKeptInStep:
    def test_created_units_edits_extensions_renewals_moves_and_deletes(self, app, world, make):
        spread(make, world)
        agrees(app)
        staff = app.test_client(user=world.a_staff)
        data = {
            "contract": world.contract_a.id,
            "site": world.a_site1.id,
            "model": world.model.id,
            "serial": "T-NEW",
            "asset_tag": "",
            "building": "",
            "room": "",
            "status": "in_service",
        }
        assert staff.post("/equipment/new", data=data).status_code == 302
        agrees(app)
        with app.app_context():
            unit_id = db.session.scalar(sa.select(Equipment.id).where(Equipment.serial == "T-NEW"))
        # Moved to the other school, another status, its own start: its site and its dates change.
        moved = {**data, "site": world.a_site2.id, "status": "under_repair", "warranty_start": "2024-02-01"}
        assert staff.post(f"/equipment/{unit_id}/edit", data=moved).status_code == 302
        agrees(app)
        agent = app.test_client(user=world.agent)
        assert agent.post(f"/equipment/{unit_id}/extensions", data={"days": "60", "reason": "停机"}).status_code == 302
        agrees(app)
        with app.app_context():  # a renewal accepted (what renewals.services.accept writes)
            unit = db.session.get(Equipment, unit_id)
            unit.renewed_until = date.today() + timedelta(days=700)
            unit.covered_until = unit.renewed_until
            db.session.commit()
        agrees(app)
        data = {
            "client": world.a.id,
            "number": "HT-A-1",
            "title": "项目",
            "accepted_on": "2024-03-31",
            "price": "100000",
            "warranty_months": "12",
            "renewal_percent": "8",
        }
        assert (
            app.test_client(user=world.manager).post(f"/contracts/{world.contract_a.id}/edit", data=data).status_code
            == 302
        )
        agrees(app)
        with app.app_context():
            db.session.delete(db.session.get(Equipment, unit_id))
            db.session.commit()
        agrees(app)
        with app.app_context():
            rows = db.session.execute(sa.select(tally.SiteTally.units)).scalars().all()
        assert 0 not in rows  # a key left without units is removed

    def test_imports_bulk_inserts_bulk_updates_and_bulk_deletes(self, app, world, make):
        from .test_import import EN_HEADER, as_csv, row, upload

        staff = app.test_client(user=world.a_staff)
        response = upload(
            staff,
            as_csv(EN_HEADER, [row(f"IMP-{n}", site="A School 2" if n % 2 else "甲一中") for n in range(12)]),
            "units.csv",
        )
        assert staff.post(response.headers["Location"]).status_code == 302
        agrees(app)
        base = dict(
            client_id=world.b.id,
            site_id=world.b_site.id,
            contract_id=world.contract_b.id,
            model_id=world.model.id,
            asset_tag="",
            building="",
            room="",
            status="in_service",
            extension_days=0,
            replacement_note="",
        )
        with app.app_context():  # as seed-scale writes: Core, many rows in one statement
            db.session.execute(
                sa.insert(Equipment),
                [
                    dict(
                        base,
                        serial=f"CORE-{n}",
                        warranty_end=date(2027, 1, 1 + n % 3),
                        covered_until=date(2027, 1, 1 + n % 3),
                    )
                    for n in range(30)
                ],
            )
            db.session.commit()
        agrees(app)
        with app.app_context():  # a sweep or hand-made SQL: many rows, some keys unchanged
            db.session.execute(
                sa.update(Equipment)
                .where(Equipment.serial.like("CORE-%"))
                .values(covered_until=date(2027, 1, 2), renewed_until=date(2027, 1, 2))
            )
            db.session.execute(sa.update(Equipment).values(room="R"))
            db.session.commit()
        agrees(app)
        with app.app_context():
            db.session.execute(sa.delete(Equipment).where(Equipment.serial.like("CORE-1%")))
            db.session.commit()
        agrees(app)
        with app.app_context():  # a change rolled back leaves the tallies as they were
            db.session.execute(sa.delete(Equipment).where(Equipment.serial.like("IMP-%")))
            db.session.rollback()
        agrees(app)

    def test_units_added_at_once_in_two_transactions(self, shared):
        """Real concurrent transactions (on PostgreSQL) adding the first units of the same key: both counted."""
        from ..factories import Factory, World

        make = Factory(shared)
        world = World(make)

        def add(serial):
            def run():
                with shared.app_context():
                    db.session.add(
                        Equipment(
                            client_id=world.b.id,
                            site_id=world.b_site.id,
                            contract_id=world.contract_b.id,
                            model_id=world.model.id,
                            serial=serial,
                            warranty_end=date(2031, 5, 5),
                            covered_until=date(2031, 5, 5),
                        )
                    )
                    db.session.commit()

            return run

        assert at_once(add("C-1"), add("C-2"), add("C-3")) == [None, None, None]
        agrees(shared)
        with shared.app_context():
            assert (
                db.session.scalar(
                    sa.select(tally.ClientTally.units).where(tally.ClientTally.covered_until == date(2031, 5, 5))
                )
                == 3
            )


class TestPagesShowTheRecount:
    def test_home_and_overview_for_every_scope(self, app, world, make):
        spread(make, world)
        for user in (world.manager, world.agent, world.a_admin, world.a_staff, world.a_school, world.b_admin):
            browser = app.test_client(user=user)
            want = recount(app, user)
            assert tiles(browser.get("/", headers=EN).get_data(as_text=True)) == want, user.role
            assert tiles(browser.get("/warranty/", headers=EN).get_data(as_text=True)) == want, user.role
        page = app.test_client(user=world.agent).get(f"/warranty/clients/{world.a.id}", headers=EN)
        assert tiles(page.get_data(as_text=True)) == recount(app, world.agent, client_id=world.a.id)

    def test_the_vendors_overview_is_one_row_a_client_with_a_page_for_each(self, app, world, make):
        spread(make, world)
        body = app.test_client(user=world.agent).get("/warranty/", headers=EN).get_data(as_text=True)
        assert "By client" in body and "By site" not in body and "T-SOON" in body
        assert f'href="/warranty/clients/{world.a.id}"' in body and f'href="/warranty/clients/{world.b.id}"' in body
        assert "/equipment/?site=" not in body  # no table of every site of every client
        rows = re.findall(r"<tr>(.*?)</tr>", body[body.index("By client") :], re.S)
        bureau_a = next(r for r in rows if "Bureau A" in r)
        cells = [int(n) for n in re.findall(r'class="text-end[^"]*">(\d+)<', bureau_a)]
        assert cells == recount(app, world.agent, client_id=world.a.id) + [sum(recount(app, world.agent, world.a.id))]
        assert rows.index(bureau_a) < rows.index(next(r for r in rows if "Centre B" in r))  # expiring first
        page = app.test_client(user=world.agent).get(f"/warranty/clients/{world.a.id}", headers=EN)
        text = page.get_data(as_text=True)
        assert "By site" in text and "A School 1" in text and "A School 2" in text and "B Data Room" not in text
        assert "T-SOON" in text and "T-RENEWED" not in text and "All clients" in text

    def test_clients_come_a_page_at_a_time_and_htmx_gets_the_table(self, app, world, make):
        for n in range(30):
            make.client(name_zh=f"客户{n:02d}", name_en=f"Client {n:02d}")
        browser = app.test_client(user=world.manager)
        first = browser.get("/warranty/", headers=EN).get_data(as_text=True)
        assert first.count('href="/warranty/clients/') == 25 and "1–25 of 32" in first and "page=2" in first
        second = browser.get("/warranty/?page=2", headers={**EN, "HX-Request": "true"}).get_data(as_text=True)
        assert second.count('href="/warranty/clients/') == 7 and "<html" not in second
        assert browser.get("/warranty/?page=99").status_code == 200
        assert browser.get("/warranty/?page=x").status_code == 200

    def test_a_client_admin_opens_their_own_clients_page_only(self, app, world):
        browser = app.test_client(user=world.a_admin)
        assert browser.get(f"/warranty/clients/{world.a.id}").status_code == 200
        assert browser.get(f"/warranty/clients/{world.b.id}").status_code == 404
        assert browser.get("/warranty/clients/999999").status_code == 404
        assert app.test_client(user=world.a_school).get(f"/warranty/clients/{world.a.id}").status_code == 403

    def test_bounded_queries(self, app, world, make, count_queries):
        pages = [
            (world.agent, "/"),
            (world.agent, "/warranty/"),
            (world.agent, f"/warranty/clients/{world.a.id}"),
            (world.a_admin, "/"),
            (world.a_admin, "/warranty/"),
            (world.a_school, "/"),
            (world.a_school, "/warranty/"),
        ]
        few = []
        for user, url in pages:
            with count_queries() as counter:
                assert app.test_client(user=user).get(url).status_code == 200
            few.append(counter.count)
        for n in range(30):
            client = make.client()
            site = make.site(client)
            make.unit(make.contract(client), site, world.model)
            make.unit(
                world.contract_a,
                world.a_site1 if n % 2 else world.a_site2,
                world.model,
                warranty_start=date(2020, 1, 1) + timedelta(days=40 * n),
            )
        for (user, url), before in zip(pages, few, strict=True):
            with count_queries() as counter:
                assert app.test_client(user=user).get(url).status_code == 200
            assert counter.count == before, (user.role, url, counter.statements)


class TestCommands:
    def test_check_finds_a_difference_and_rebuild_mends_it(self, app, world, make):
        spread(make, world)
        runner = app.test_cli_runner()
        result = runner.invoke(args=["counts", "check"])
        assert result.exit_code == 0 and "agree" in result.output
        with app.app_context():  # the tallies changed behind the triggers' back
            db.session.execute(
                sa.update(tally.ClientTally)
                .where(tally.ClientTally.client_id == world.a.id)
                .values(units=tally.ClientTally.units + 5)
            )
            db.session.execute(sa.delete(tally.SiteTally).where(tally.SiteTally.site_id == world.b_site.id))
            db.session.commit()
        result = runner.invoke(args=["counts", "check"])
        assert result.exit_code == 1 and "unit_tally_client" in result.output and "unit_tally_site" in result.output
        result = runner.invoke(args=["counts", "rebuild"])
        assert result.exit_code == 0 and "rebuilt" in result.output
        assert runner.invoke(args=["counts", "check"]).exit_code == 0
        agrees(app)

    def test_check_finds_a_missing_trigger_and_rebuild_puts_it_back(self, app, world, make):
        runner = app.test_cli_runner()
        with app.app_context():
            statement = tally.drop_statements(db.engine.dialect.name)[0]  # the insert trigger
            db.session.execute(sa.text(statement))
            db.session.commit()
        make.unit(world.contract_b, world.b_site, world.model, serial="UNSEEN")
        result = runner.invoke(args=["counts", "check"])
        assert result.exit_code == 1 and "unit_tally_insert" in result.output and "B-0001" not in result.output
        assert runner.invoke(args=["counts", "rebuild"]).exit_code == 0
        assert runner.invoke(args=["counts", "check"]).exit_code == 0
        make.unit(world.contract_b, world.b_site, world.model, serial="SEEN")  # kept again
        agrees(app)

    def test_seed_scale_leaves_the_tallies_right(self, app):
        from portal.scale import seed_scale

        with app.app_context():
            seed_scale(
                units=300, tickets=20, visits=5, complaints=5, clients=3, schools_per_client=4, echo=lambda *a: None
            )
            db.session.commit()
        agrees(app)
        runner = app.test_cli_runner()
        assert runner.invoke(args=["counts", "check"]).exit_code == 0
