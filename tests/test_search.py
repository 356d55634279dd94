"""Search (``portal.search``): the same rows on SQLite (FTS5 trigram) and PostgreSQL (pg_trgm), whatever the user
types, kept current as rows change, served by the index; and every list's search box through it."""

from datetime import UTC, datetime
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from portal.equipment.filters import EquipmentFilter
from portal.equipment.models import Equipment
from portal.extensions import db
from portal.search import matches
from portal.tickets.filters import TicketFilter
from portal.tickets.models import Ticket

# Serials chosen to trip a careless search: case, Chinese, LIKE's wildcards and escape, FTS5's query syntax.
SERIALS = [
    "AbC-123",
    "abc-999",
    "XYZ%50",
    "XYZ150",
    "a_b\\c",
    "aXb\\c",
    "机房三楼01",
    "机房二楼",
    'QU"OTE',
    "STAR*S",
    "NEAR(1)",
    "CAR^ET",
    "IT'S",
    "X AND Y",
    "XANDY",
    "col:on",
    "{br}",
    "minus-",
    "+plus",
]
QUERIES = [
    "abc",
    "ABC",
    "aBc-1",
    "Ab",
    "b",
    "123",
    "%",
    "%5",
    "z%5",
    "Z15",
    "_",
    "a_b",
    "a_",
    "\\",
    "b\\c",
    "\\c",
    "机房",
    "机房三",
    "三楼01",
    "楼",
    '"',
    'U"O',
    '"OT',
    "*",
    "R*S",
    "AND",
    "and y",
    " AND ",
    "NEAR(",
    "NEAR",
    "^",
    "r^e",
    "'",
    "T'S",
    "col:",
    ":on",
    "{",
    "{br}",
    "-",
    "inus-",
    "+p",
    "no-such-serial",
    "OR",
    "NOT",
    "abc*",
    '"abc"',
    "'abc'",
    "ab%",
    "%%%",
    "___",
    "\\\\\\",
]


def expected(q, values):
    return {v for v in values if q.lower() in v.lower()}  # Latin letters fold; Chinese has no case


@pytest.fixture
def units(app, world):
    """Units with the tricky serials, and asset tags and places of their own, at A's first school."""
    with app.app_context():
        for n, serial in enumerate(SERIALS):
            db.session.add(
                Equipment(
                    client_id=world.a.id,
                    site_id=world.a_site1.id,
                    contract_id=world.contract_a.id,
                    model_id=world.model.id,
                    serial=serial,
                    asset_tag=f"ZC-{n:03d}",
                    building="教学楼A" if n % 2 else "Library",
                    room=f"R{n}",
                )
            )
        db.session.commit()
    return SERIALS + [world.unit_a1.serial, world.unit_a2.serial, world.unit_b.serial]


def serials_matching(app, q, *columns):
    with app.app_context():
        return set(db.session.scalars(sa.select(Equipment.serial).where(matches(q, *columns))))


def test_a_search_finds_exactly_the_rows_that_contain_the_text(app, units):
    wrong = {q: found for q in QUERIES if (found := serials_matching(app, q, Equipment.serial)) != expected(q, units)}
    assert wrong == {}


def test_the_columns_searched_are_those_named(app, world, units):
    every = (Equipment.serial, Equipment.asset_tag, Equipment.building, Equipment.room)
    assert serials_matching(app, "zc-00", Equipment.serial) == set()
    assert serials_matching(app, "zc-00", *every) == set(SERIALS[:10])
    assert serials_matching(app, "zc-001", Equipment.asset_tag, Equipment.serial) == {SERIALS[1]}
    assert serials_matching(app, "学楼a", *every) == set(SERIALS[1::2])
    assert serials_matching(app, "brar", Equipment.building) == set(SERIALS[0::2])
    assert serials_matching(app, "r1", Equipment.room) == {SERIALS[1]} | set(SERIALS[10:])
    assert serials_matching(app, "r12", Equipment.room, Equipment.building) == {SERIALS[12]}


def test_rows_added_changed_and_removed_later_are_found_as_they_are_now(app, world, units):
    """SQLite: the triggers keep the FTS5 table current; PostgreSQL: the GIN index is the table's own."""
    every = (Equipment.serial, Equipment.asset_tag, Equipment.building, Equipment.room)
    with app.app_context():
        unit = Equipment(
            client_id=world.a.id,
            site_id=world.a_site1.id,
            contract_id=world.contract_a.id,
            model_id=world.model.id,
            serial="NEW-UNIT-777",
            asset_tag="TAG-Q1",
            building="实验楼",
        )
        db.session.add(unit)
        db.session.commit()
        unit_id = unit.id
    assert serials_matching(app, "unit-777", *every) == {"NEW-UNIT-777"}
    assert serials_matching(app, "实验楼", *every) == {"NEW-UNIT-777"}
    with app.app_context():
        unit = db.session.get(Equipment, unit_id)
        unit.serial, unit.building = "RENAMED-888", "图书馆"
        db.session.commit()
        db.session.execute(sa.update(Equipment).where(Equipment.id == unit_id).values(status="retired"))  # not searched
        db.session.commit()
    assert serials_matching(app, "unit-777", *every) == set() and serials_matching(app, "实验楼", *every) == set()
    assert serials_matching(app, "named-88", *every) == {"RENAMED-888"}
    assert serials_matching(app, "tag-q1", Equipment.asset_tag) == {"RENAMED-888"}  # an untouched column kept
    with app.app_context():
        db.session.delete(db.session.get(Equipment, unit_id))
        db.session.commit()
    assert serials_matching(app, "named-88", *every) == set() and serials_matching(app, "tag-q1", *every) == set()
    with app.app_context():
        if db.engine.dialect.name == "sqlite":  # the index agrees with the table, row for row
            db.session.execute(sa.text("INSERT INTO equipment_fts (equipment_fts) VALUES ('integrity-check')"))
            db.session.execute(sa.text("INSERT INTO ticket_fts (ticket_fts) VALUES ('integrity-check')"))


def test_the_equipment_and_ticket_searches_are_served_by_the_trigram_index(app, world):
    """Not a scan of the table: PostgreSQL's plan (sequential scans discouraged, as at 100,000 rows where they
    cost the most) reads the trigram indexes; SQLite's looks the text up in the FTS5 tables. (The order of the
    rows is the pagination's business: left out here.)"""
    now = datetime.now(UTC)
    with app.app_context(), db.engine.connect() as conn:
        queries = {
            "equipment": EquipmentFilter(q="0001").apply(sa.select(Equipment.id)).order_by(None),
            "ticket": TicketFilter(view="all", q="0001").apply(sa.select(Ticket.id), None, now).order_by(None),
        }
        for table, query in queries.items():
            sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
                plan = "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + sql))
                assert f"Bitmap Index Scan on ix_{table}_" in plan and "_trgm" in plan, plan
                assert "Seq Scan" not in plan, plan
            else:
                plan = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)]
                assert any(line.startswith(f"SCAN {table}_fts VIRTUAL TABLE INDEX") for line in plan), plan
                assert not any(
                    line.startswith(("SCAN equipment", "SCAN ticket")) and "_fts" not in line for line in plan
                ), plan
        conn.rollback()


# ---------------------------------------------------------------- the lists


def page(app, user, url):
    response = app.test_client(user=user).get(url, headers={"HX-Request": "true", "Accept-Language": "en"})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_ticket_search_finds_number_title_equipment_named_and_the_units_serial(app, world, make):
    other = make.ticket(world.a_admin, world.a_site2, title="投影仪 Lamp flickers")  # no unit: equipment in words
    numbers = {t.number for t in (world.ticket_a, world.ticket_a2, world.ticket_b, other)}

    def found(q, user=world.agent):
        body = page(app, user, f"/tickets/?view=all&q={quote(q)}")
        return {n for n in numbers if f">{n}</a>" in body}

    assert found("a2-000") == {world.ticket_a2.number}  # the unit's serial, any case
    assert found("A1-0001") == {world.ticket_a.number}
    assert found("lamp FLICK") == {other.number}  # the title
    assert found("未登记") == {other.number}  # the equipment named in words (the factory's)
    assert found("投影") == {other.number}  # two characters: shorter than a trigram, found all the same
    assert found(world.ticket_b.number[-7:].lower()) == {world.ticket_b.number}  # part of the number
    assert found(world.ticket_b.number.lower()) == {world.ticket_b.number}  # pasted whole: the fast path
    assert found("-0001") == {world.ticket_a.number, world.ticket_a2.number, world.ticket_b.number}
    assert found("-0001", world.a_admin) == {world.ticket_a.number, world.ticket_a2.number}  # in scope only
    assert found("-0001", world.a_school) == {world.ticket_a.number}
    assert found("b-0001", world.a_admin) == set()  # B's unit: another client's


@pytest.mark.parametrize(
    "url, role, present, absent",
    [
        ("/equipment/?q=a1-0", "agent", "A1-0001", "A2-0001"),
        ("/equipment/?q=0001", "a_school", "A1-0001", "A2-0001"),
        ("/tickets/new?q=a2-00", "a_admin", "A2-0001", "A1-0001"),
        ("/contracts/?q=ht-a-2", "agent", "HT-A-2", "HT-A-1"),
        ("/sites/?q=school%202", "agent", "A School 2", "A School 1"),
        ("/clients/?q=centre", "agent", "Centre B", "Bureau A"),
        ("/users/?q=SCHOOL2", "sysadmin", "school2@a.example", "school@a.example"),
        ("/models/?q=f86e", "manager", "F86EA", "No model matches"),
        ("/models/?q=f87e", "manager", "No model matches", "F86EA"),
        ("/documents/?q=a2%20accep", "manager", "A2 acceptance report", "A technical plan"),
        ("/documents/?q=验收", "a_staff", "A2 acceptance report", "A technical plan"),
    ],
)
def test_every_lists_search_box_finds_its_rows(app, world, url, role, present, absent):
    body = page(app, getattr(world, role), url)
    assert present in body and absent not in body


@pytest.mark.parametrize(
    "url, role",
    [
        ("/equipment/", "agent"),
        ("/tickets/?view=all&", "agent"),
        ("/tickets/new?", "a_admin"),
        ("/contracts/", "agent"),
        ("/sites/", "agent"),
        ("/clients/", "agent"),
        ("/users/", "sysadmin"),
        ("/models/", "manager"),
        ("/documents/", "a_staff"),
    ],
)
def test_no_text_typed_in_a_search_box_breaks_a_list(app, world, url, role):
    join = "&" if "?" in url else "?"
    for q in ['"', "*", "AND", "NEAR(", "^", "'", 'a"b"c', "x OR y", "abc*", "%_\\", "{a b}:c", "a" * 100]:
        page(app, getattr(world, role), f"{url}{join}q={quote(q)}")
