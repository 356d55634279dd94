"""The scorecard's figures on a small world with known answers (tests/scorecard/known.py), per scope, per month
(trends), and in a bounded number of queries."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from portal.auth.models import User
from portal.extensions import db
from portal.scorecard import metrics as M
from portal.scorecard.metrics import Period, Scope

from .known import NOW, OCTOBER, UTC, at, card, figures


def test_every_row_of_the_client_in_october(app, known):
    sc = card(app, Scope(known.a.id))
    row = sc.row
    # Clocks of T1–T7 (T8 is September's, client B's ticket is not A's):
    # response: met T1 T5 T6 T7, broken T2 (late) T3 T4 (unmet, past due) → 4 of 7 = 57.1 %.
    assert figures(row("response")) == (False, Decimal("57.1"), 4, 7, 0)
    # proposal: met T1 T5 T6 T7, broken T2 (met on site, late) T3 T4 → 4 of 7.
    assert figures(row("proposal")) == (False, Decimal("57.1"), 4, 7, 0)
    # on site: waived T1 T5 T6 T7; met T2; broken T3 T4 → 1 of 3 = 33.3 %.
    assert figures(row("on_site")) == (False, Decimal("33.3"), 1, 3, 0)
    # resolution: met T1 T7; broken T2 (50 h) T3 (due 16 Oct); pending T4 (due 21 Oct), T5 (paused), T6 (working
    # hours, due next week) → 2 of 4 = 50 %, 3 pending.
    assert figures(row("resolution")) == (False, Decimal("50.0"), 2, 4, 3)
    # Targets: the severities' range across A's policy (A: 15 min) and W's (30), the clock kinds mixed.
    assert row("response").target == {"minutes": 15, "minutes_max": 30, "clock": "mixed"}
    assert row("resolution").target == {"minutes": 2880, "clock": "mixed"}
    # No response after 24 h: T3 (never), T6 (answered 2 days 16 h after filing); T4 not 24 h old yet.
    r = row("no_response_24h")
    assert (r.met, r.value, r.total, r.pending) == (False, 2, 7, 1)
    # Parts: P1 (T1, Mon 12th → Fri 16th with the 14th off) in time, P2 (T2, Tue 13th → Mon 19th, swapped Tue 20th)
    # late, P3 (T7, Thu 1 Oct local → Tue 6 Oct) in time → 2 of 3 = 66.7 %.
    assert figures(row("parts_3_days")) == (False, Decimal("66.7"), 2, 3, 0)
    # Extensions: T2 and T7 stopped work; T2 has +60 days, T7 (no unit) none.
    r = row("extensions")
    assert (r.met, r.value, r.measured, r.total, r.detail["days_granted"]) == (False, 1, 1, 2, 60)
    # Replacements: a1 (flagged 15th, replaced 18th), w1 (flagged 17th, outstanding).
    r = row("replacements")
    assert (r.met, r.value, r.measured, r.total) == (False, 1, 1, 2)
    # Quotes issued in October: Q1 and Q6 within; Q2 (rate) and Q3 (ceiling) above → 2 of 4.
    assert figures(row("quotes")) == (False, Decimal("50.0"), 2, 4, 0)
    # Complaints received in October: C1 in time; C2 (30 h) and C3 (round 2 past due) late; C4 waiting.
    assert figures(row("complaints_24h")) == (False, Decimal("33.3"), 1, 3, 1)
    # Closed: C1 (5) satisfied, C2 (2) not; C3 and C4 still open.
    assert figures(row("complaints_satisfied")) == (False, Decimal("50.0"), 1, 2, 2)
    # Open now: C3, C4 and September's C5 (past due, 22 days old); C3 and C5 past due.
    r = row("complaints_open")
    assert (r.met, r.value, r.detail) == (False, 3, {"oldest_days": 22, "past_due": 2})
    # Inspections due in October: V1 on time, V2 late, V3 missed, V4 not yet due → 1 of 3.
    r = row("inspections")
    assert figures(r) == (False, Decimal("33.3"), 1, 3, 1)
    assert (r.detail["late"], r.detail["missed"]) == (1, 1)
    assert figures(row("phone_visits")) == (True, Decimal("100.0"), 1, 1, 0)
    assert figures(row("return_visits")) == (True, Decimal("100.0"), 1, 1, 0)
    assert figures(row("end_of_life")) == (None, None, 0, 0, 1)
    # Visits done in October: V1 V2 V8 signed, V5 awaiting sign-off, V6 disputed → 3 of 5.
    r = row("visit_signoff")
    assert figures(r) == (False, Decimal("60.0"), 3, 5, 1)
    assert r.detail["disputed"] == 1
    # Service log: 5 Oct signed, 6 Oct not → 1 of 2.
    assert figures(row("service_log")) == (False, Decimal("50.0"), 1, 2, 0)
    # Satisfaction: tickets 5, 3; visits 5, 4, 2; surveys 5, 4 → 5 of 7 are 4–5 (71.4 %), average 28 / 7 = 4.0.
    r = row("satisfaction")
    assert figures(r) == (False, Decimal("71.4"), 5, 7, 0)
    assert r.detail == {"average": Decimal("4.0"), "tickets": 2, "visits": 3, "surveys": 2}
    assert sc.deposit is None  # the client's scorecard: no single contract
    assert [r.key for r in sc.rows] == list(M.ROW_KEYS)


def test_contract_scopes_and_the_deposit(app, known):
    w = card(app, Scope(known.a.id, contract_id=known.contract_w.id))
    # T6 only: in time on the working-hours clock; but answered more than 24 h after filing.
    assert figures(w.row("response")) == (True, Decimal("100.0"), 1, 1, 0)
    assert w.row("response").target == {"minutes": 30, "clock": "working"}
    assert (w.row("no_response_24h").met, w.row("no_response_24h").value) == (False, 1)
    assert figures(w.row("inspections")) == (False, Decimal("0.0"), 0, 1, 0)  # V2 late
    assert figures(w.row("quotes")) == (None, None, 0, 0, 0)
    a = card(app, Scope(known.a.id, contract_id=known.contract_a.id))
    # T1–T5 (T7 has no contract): met T1 T5, broken T2 T3 T4.
    assert figures(a.row("response")) == (False, Decimal("40.0"), 2, 5, 0)
    assert a.row("response").target == {"minutes": 15, "minutes_max": 30, "clock": "24x7"}
    assert a.row("quotes").target == {"rate": Decimal("0.0800"), "ceiling": Decimal("2000.00")}
    # Complaints without a ticket count for each of the client's contracts.
    assert figures(a.row("complaints_24h")) == (False, Decimal("33.3"), 1, 3, 1)
    # 5 % of 100,000; due 12 months after acceptance on 15 Jan 2025; promises broken.
    assert a.deposit == M.Deposit(Decimal("5000.00"), Decimal("0.0500"), date(2026, 1, 15), None, False)


def test_site_scope_leaves_out_other_sites_and_rows_without_a_site(app, known):
    sc = card(app, Scope(known.a.id, site_id=known.s1.id))
    # S1's tickets T1 T2 T3 T4 T5 T7: met T1 T5 T7.
    assert figures(sc.row("response")) == (False, Decimal("50.0"), 3, 6, 0)
    # C1 only (C2 is S2's, C3–C5 have no site).
    assert figures(sc.row("complaints_24h")) == (True, Decimal("100.0"), 1, 1, 0)
    assert (sc.row("complaints_open").value, sc.row("complaints_open").met) == (0, True)
    assert figures(sc.row("phone_visits")) == (None, None, 0, 0, 0)  # the phone visit is the whole client's
    assert figures(sc.row("inspections")) == (False, Decimal("50.0"), 1, 2, 1)  # V1 on time, V3 missed, V4 due
    # T1 5, T2 3; V1 5, V8 2; surveys 5 and 4 → 4 of 6, average 24 / 6.
    r = sc.row("satisfaction")
    assert figures(r) == (False, Decimal("66.7"), 4, 6, 0)
    assert r.detail["average"] == Decimal("4.0")
    # Client B sees nothing of A's.
    b = card(app, Scope(known.b.id))
    assert figures(b.row("response")) == (False, Decimal("0.0"), 0, 1, 0)
    assert b.row("quotes").total == 0 and b.row("complaints_24h").total == 0
    assert figures(b.row("inspections")) == (False, Decimal("0.0"), 0, 1, 0)


def test_texts_are_translated_and_formatted(app, known):
    sc = card(app, Scope(known.a.id, contract_id=known.contract_w.id))
    with app.test_request_context("/?lang=en"):
        from flask_babel import force_locale

        with force_locale("en"):
            assert sc.row("response").promise == "A substantive response to every fault report within the promised time"
            assert sc.row("response").target_text == "30 minutes, working hours"
            assert sc.row("response").measured_text == "1 of 1 clocks met (100%)"
            assert sc.row("satisfaction").target_text == "≥ 95%"
        with force_locale("zh_Hans_CN"):
            assert sc.row("response").target_text == "30分钟，工作时间"
            assert (
                sc.row("response").promise == "每次报修均在承诺时限内实质性响应"
            )  # the figure is the target's, from the contract


def test_period_parse():
    today = date(2026, 10, 20)

    class Contract:
        accepted_on = date(2025, 1, 15)

    assert Period.parse("month", "2026-02", today=today) == Period("month", date(2026, 2, 1), date(2026, 3, 1))
    assert Period.parse("month", today=today) == OCTOBER
    assert Period.parse("month", "2026-12", today=today).end == date(2027, 1, 1)
    assert Period.parse("quarter", "2026-Q3", today=today) == Period("quarter", date(2026, 7, 1), date(2026, 10, 1))
    assert Period.parse("quarter", today=today) == Period("quarter", date(2026, 10, 1), date(2027, 1, 1))
    assert Period.parse("year", "2025", today=today) == Period("year", date(2025, 1, 1), date(2026, 1, 1))
    assert Period.parse("year", today=today).start == date(2026, 1, 1)
    assert Period.parse("service_year", "1", contract=Contract, today=today) == Period(
        "service_year", date(2025, 1, 15), date(2026, 1, 15), 1
    )
    # Today (20 Oct 2026) is in the second service year: 15 Jan 2026 – 14 Jan 2027.
    assert Period.parse("service_year", contract=Contract, today=today) == Period(
        "service_year", date(2026, 1, 15), date(2027, 1, 15), 2
    )
    assert Period.parse("custom", start="2026-10-05", end="2026-10-05", today=today) == Period(
        "custom", date(2026, 10, 5), date(2026, 10, 6)
    )
    for kind, value, extra in [
        ("month", "2026-13", {}),
        ("month", "abc", {}),
        ("month", "1999-12", {}),
        ("quarter", "2026-Q5", {}),
        ("quarter", "2026-3", {}),
        ("year", "2100", {}),
        ("year", "x", {}),
        ("service_year", "0", {"contract": Contract}),
        ("service_year", "1", {}),
        ("week", "1", {}),
        ("custom", None, {"start": "2026-10-05", "end": "2026-10-04"}),
        ("custom", None, {"start": "2020-01-01", "end": "2025-12-31"}),
        ("custom", None, {"start": "2026-10-05"}),
        ("custom", None, {"start": "2026-02-30", "end": "2026-03-01"}),
    ]:
        with pytest.raises(ValueError):
            Period.parse(kind, value, today=today, **extra)


def test_period_bounds_and_labels(app):
    with app.test_request_context():
        from flask_babel import force_locale

        # Midnight in Shanghai is 16:00 UTC the day before.
        assert OCTOBER.utc_bounds() == (datetime(2026, 9, 30, 16, tzinfo=UTC), datetime(2026, 10, 31, 16, tzinfo=UTC))
        with force_locale("zh_Hans_CN"):
            assert OCTOBER.label() == "2026年10月"
        with force_locale("en"):
            assert OCTOBER.label() == "October 2026"
            assert Period("quarter", date(2026, 7, 1), date(2026, 10, 1)).label() == "Q3 2026"
        with pytest.raises(ValueError) as error, force_locale("en"):
            Period.parse("custom", start="2026-10-05", end="2026-10-01", today=date(2026, 10, 20))
        assert str(error.value) == "The period ends before it starts."


def test_trends_agree_with_the_scorecard_of_each_month(app, known):
    scope = Scope(known.a.id)
    with app.test_request_context():
        found = M.trends(scope, now=NOW)
        for i, start in enumerate([date(2025, 11, 1), date(2025, 12, 1), *[date(2026, m, 1) for m in range(1, 11)]]):
            period = Period.parse("month", start.strftime("%Y-%m"), today=NOW.date())
            sc = M.scorecard(scope, period, now=NOW)
            for key in M.ROW_KEYS:
                assert found[key][i] == (start, sc.row(key).value, sc.row(key).met), (key, start)
    assert found["response"][-1] == (date(2026, 10, 1), Decimal("57.1"), False)
    # September: T8 answered 40 minutes after filing; the complaint of 28 Sep open and past due at month's end.
    assert found["response"][-2] == (date(2026, 9, 1), Decimal("0.0"), False)
    assert found["complaints_open"][-2] == (date(2026, 9, 1), 1, False)


def test_evidence_lists_the_objects_behind_a_row(app, known):
    from portal.tickets.models import Ticket

    scope = Scope(known.a.id)
    with app.test_request_context():
        ((source, model, query),) = M.evidence("response", scope, OCTOBER, now=NOW, only_broken=True)
        assert (source, model) == ("tickets", Ticket)
        broken = db.session.scalars(query).all()
        assert len(broken) == 3 and known.t3_number in {t.number for t in broken}
        assert len(db.session.scalars(M.evidence("response", scope, OCTOBER, now=NOW)[0][2]).all()) == 7
        parts = db.session.scalars(M.evidence("parts_3_days", scope, OCTOBER, now=NOW, only_broken=True)[0][2]).all()
        assert [p.description for p in parts] == ["电源"]
        sources = M.evidence("satisfaction", scope, OCTOBER, now=NOW, only_broken=True)
        assert [(s, len(db.session.scalars(q).all())) for s, _m, q in sources] == [
            ("ticket_ratings", 1),
            ("visit_ratings", 1),
            ("surveys", 0),
        ]
        for key in M.ROW_KEYS:  # every row's evidence runs, and counts what the row counts
            lists = M.evidence(key, scope, OCTOBER, now=NOW, only_broken=True)
            assert all(db.session.execute(q).all() is not None for _s, _m, q in lists)
        complaints = db.session.scalars(M.evidence("complaints_open", scope, OCTOBER, now=NOW, only_broken=True)[0][2])
        assert len(complaints.all()) == 2  # C3 and September's C5
        units = db.session.scalars(M.evidence("replacements", scope, OCTOBER, now=NOW, only_broken=True)[0][2]).all()
        assert [u.id for u in units] == [known.w1.id]
        quotes = db.session.scalars(M.evidence("quotes", scope, OCTOBER, now=NOW, only_broken=True)[0][2]).all()
        assert [q.number for q in quotes] == ["Q3", "Q2"]


def test_at_risk_ranks_contracts(app, known):
    with app.test_request_context():
        ranked = {c.id: (broken, risky) for c, broken, risky in M.at_risk(now=NOW)}
        order = [c.id for c, _b, _r in M.at_risk(now=NOW, limit=2)]
    # Contract A's October, broken: the four clocks, no response (T3), parts (P2), quotes (Q2, Q3), the three
    # complaint rows (complaints without a ticket count for every contract of the client), inspections (V3 missed),
    # sign-off (V5, V6), service log (6 Oct), satisfaction (4 of 6) = 14. Kept: extensions (T2's 60 days),
    # replacements (a1 replaced), phone and return visits; end of life not due. At risk and not broken: nothing
    # (V4, due on the 25th, is within 7 days but its row is broken already; T4's resolution turns at risk at 36 h).
    assert ranked[known.contract_a.id] == (14, 0)
    # W: no response (T6), replacement (w1 outstanding), the three complaint rows, inspections (V2 late) = 6.
    assert ranked[known.contract_w.id] == (6, 0)
    # B: its unanswered ticket breaks the four clocks and the 24-hour promise; its inspection was missed = 6.
    assert ranked[known.contract_b.id] == (6, 0)
    assert order == [known.contract_a.id, known.contract_w.id]  # W before B on a tie: by number


def test_at_risk_counts_what_is_at_risk_now(app, make):
    from portal.complaints import services as complaints
    from portal.contracts.models import Contract
    from portal.inspections import services as visits
    from portal.orgs.models import Site

    client = make.client()
    site = make.site(client)
    contract = make.contract(client)
    unit = make.unit(contract, site, make.model())
    admin = make.user("client_admin", client=client)
    # Filed 25 minutes before NOW: the 30-minute response clock is past its risk point (22.5 min), not yet due.
    make.ticket(admin, site, unit, now=NOW - timedelta(minutes=25))
    with app.test_request_context():
        visits.add_visit(
            db.session.get(Contract, contract.id),
            db.session.get(Site, site.id),
            kind="return_visit",
            due_on=date(2026, 10, 23),
        )  # due in 3 days
        complaints.file_complaint(
            db.session.get(User, admin.id),
            site=None,
            ticket=None,
            category="other",
            description="x",
            now=NOW - timedelta(hours=21),
        )  # due in 3 hours
        db.session.commit()
        ((found, broken, risky),) = M.at_risk(now=NOW)
    # Nothing broken yet. At risk: the response clock (the proposal's risk point is at 45 min, on site's at 90), the
    # return visits (one due in 3 days), complaints answered in 24 h (one due in 3 hours).
    assert (found.id, broken, risky) == (contract.id, 0, 2 + 1)


def test_queries_do_not_grow_with_the_data(app, make, known, count_queries):
    from portal.tickets.models import ReplacedPart

    scope = Scope(known.a.id)

    def counted():
        found = []
        for call in (
            lambda: M.scorecard(scope, OCTOBER, now=NOW),
            lambda: M.trends(scope, now=NOW),
            lambda: M.at_risk(now=NOW),
            lambda: M.scorecard(Scope(known.a.id, known.contract_a.id), OCTOBER, now=NOW),
        ):
            with app.test_request_context(), count_queries() as queries:
                call()
            found.append(queries.count)
        return found

    few = counted()
    # Much more of everything in the same scope and period, and more contracts for the overview.
    filed = make.tickets(
        [(known.admin, known.s1, known.a1)] * 15 + [(known.admin, known.s2, known.w1)] * 15, now=at(10, 18, 0)
    )
    make.save(
        *[
            ReplacedPart(
                ticket_id=t.id, description="x", replaced_on=date(2026, 10, 19), covered_until=date(2027, 1, 1)
            )
            for t in filed
        ]
    )
    for n in range(10):
        make.visit(known.contract_a, known.s1, due_on=date(2026, 10, 1 + n))
        make.complaint(known.admin, known.s1, now=at(10, 1 + n, 0))
        make.service_log(known.contract_a, known.s1, work_date=date(2026, 10, 1 + n))
        client = make.client()
        site = make.site(client)
        contract = make.contract(client)
        make.ticket(
            make.user("client_staff", client=client), site, make.unit(contract, site, known.model), now=at(10, 10, 0)
        )
    assert counted() == few, few


def test_a_complaint_answered_late_after_a_period_was_past_due_at_its_end(app, make):
    from portal.complaints import services as complaints

    client = make.client()
    admin, manager, agent = (
        make.user("client_admin", client=client),
        make.user("vendor_manager"),
        make.user("vendor_agent"),
    )
    with app.test_request_context():
        c = complaints.file_complaint(
            db.session.get(User, admin.id), site=None, ticket=None, category="other", description="x", now=at(9, 29, 2)
        )  # due 30 Sep 02:00 UTC
        complaints.assign(c, db.session.get(User, manager.id), db.session.get(User, agent.id), now=at(10, 2, 2))
        complaints.answer(c, db.session.get(User, agent.id), "答复", now=at(10, 2, 2))  # late, after September
        db.session.commit()
    september = card(app, Scope(client.id), Period("month", date(2026, 9, 1), date(2026, 10, 1)))
    row = september.row("complaints_open")
    # At the end of September (30 Sep 16:00 UTC) it was open and past due, received 1 day 14 hours before.
    assert (row.value, row.met, row.detail) == (1, False, {"oldest_days": 1, "past_due": 1})
    row = card(app, Scope(client.id)).row("complaints_open")
    # Now (20 Oct 02:00): answered, not yet closed by the client: open, not past due, 21 days old.
    assert (row.value, row.met, row.detail) == (1, True, {"oldest_days": 21, "past_due": 0})
    with app.test_request_context():
        ((_s, _m, query),) = M.evidence(
            "complaints_open",
            Scope(client.id),
            Period("month", date(2026, 9, 1), date(2026, 10, 1)),
            now=NOW,
            only_broken=True,
        )
        assert [x.id for x in db.session.scalars(query)] == [c.id]
        ((_s, _m, query),) = M.evidence("complaints_open", Scope(client.id), OCTOBER, now=NOW, only_broken=True)
        assert db.session.scalars(query).all() == []


def test_a_complaint_answered_late_before_a_periods_end_is_not_past_due_at_it(app, make):
    """The answer that ends a late round is looked for among the complaint's own events: another complaint's answer
    after the period (same round number) does not make this one past due."""
    from portal.complaints import services as complaints

    client = make.client()
    admin, manager, agent = (
        make.user("client_admin", client=client),
        make.user("vendor_manager"),
        make.user("vendor_agent"),
    )
    with app.test_request_context():
        people = [db.session.get(User, u.id) for u in (admin, manager, agent)]
        early = complaints.file_complaint(
            people[0], site=None, ticket=None, category="other", description="x", now=at(9, 27, 2)
        )  # due 28 Sep 02:00 UTC
        complaints.assign(early, people[1], people[2], now=at(9, 28, 5))
        complaints.answer(early, people[2], "答复", now=at(9, 28, 5))  # late, but answered within September
        later = complaints.file_complaint(
            people[0], site=None, ticket=None, category="other", description="y", now=at(9, 29, 2)
        )  # due 30 Sep 02:00 UTC
        complaints.assign(later, people[1], people[2], now=at(10, 2, 2))
        complaints.answer(later, people[2], "答复", now=at(10, 2, 2))  # late, answered after September
        db.session.commit()
    september = Period("month", date(2026, 9, 1), date(2026, 10, 1))
    row = card(app, Scope(client.id), september).row("complaints_open")
    # At 30 Sep 16:00 UTC both are open (neither closed by the client); only the later one is past due then.
    assert (row.value, row.met, row.detail["past_due"]) == (2, False, 1)
    with app.test_request_context():
        ((_s, _m, query),) = M.evidence("complaints_open", Scope(client.id), september, now=NOW, only_broken=True)
        assert [x.id for x in db.session.scalars(query)] == [later.id]
