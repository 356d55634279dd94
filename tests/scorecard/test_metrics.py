"""The scorecard's figures on a small world with known answers (every expected figure counted by hand below),
against a plain Python recount on random data, per scope, per month (trends), and in a bounded number of queries."""
import random
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.auth.models import User
from portal.extensions import db
from portal.scorecard import metrics as M
from portal.scorecard.metrics import Period, Scope

UTC = timezone.utc
NOW = datetime(2026, 10, 20, 2, 0, tzinfo=UTC)  # Tuesday 20 October 2026, 10:00 in Shanghai
OCTOBER = Period("month", date(2026, 10, 1), date(2026, 11, 1))


def at(month, day, hour, minute=0):
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


class Known:
    """Client A: a 7×24 contract (stored policy: severity A answered in 15 minutes, the others the bids') at school
    S1, a working-hours contract W (09:00–17:00) at school S2; client B for what must never count."""

    def __init__(self, app, make):
        from portal.contracts.models import Contract
        from portal.equipment.models import Equipment
        from portal.inspections import services as visits
        from portal.inspections.models import Visit
        from portal.orgs.models import Site
        from portal.renewals.models import QuoteLine, RenewalQuote
        from portal.sla.models import BID_TARGETS, CalendarDay, SlaPolicy, SlaTarget
        from portal.surveys.models import Survey
        from portal.complaints import services as complaints
        from portal.tickets import services as tickets
        from portal.tickets.models import Ticket

        self.a = make.client()
        self.s1, self.s2 = make.site(self.a), make.site(self.a)
        self.b = make.client()
        self.b_site = make.site(self.b)
        self.contract_a = make.contract(self.a, renewal_ceiling=Decimal("2000.00"))
        self.contract_w = make.contract(self.a)
        self.contract_b = make.contract(self.b)
        self.model = model = make.model()
        self.a1 = make.unit(self.contract_a, self.s1, model, unit_price=Decimal("23800.00"))
        self.a1b = make.unit(self.contract_a, self.s1, model, unit_price=Decimal("10000.00"))
        self.w1 = make.unit(self.contract_w, self.s2, model)
        self.b1 = make.unit(self.contract_b, self.b_site, model)
        self.manager = make.user("vendor_manager")
        self.agent = make.user("vendor_agent")
        self.admin = make.user("client_admin", client=self.a)
        self.b_admin = make.user("client_admin", client=self.b)
        make.save(SlaPolicy(contract_id=self.contract_a.id, clock="24x7", day_starts=time(9), day_ends=time(17),
                            targets=[SlaTarget(severity=s, **{**BID_TARGETS, **({"response": 15} if s == "A" else {})})
                                     for s in "ABCD"]))
        make.save(SlaPolicy(contract_id=self.contract_w.id, clock="working", day_starts=time(9), day_ends=time(17),
                            targets=[SlaTarget(severity=s, **BID_TARGETS) for s in "ABCD"]))
        # A day off on Wednesday 14 October: the third working day after Monday 12th is Friday 16th.
        make.save(CalendarDay(day=date(2026, 10, 14), kind="holiday", name_zh="测试假日", name_en="Test holiday"))

        with app.test_request_context():
            s = db.session
            admin, manager, agent = (s.get(User, u.id) for u in (self.admin, self.manager, self.agent))
            site1, site2 = s.get(Site, self.s1.id), s.get(Site, self.s2.id)
            a1, a1b, w1 = (s.get(Equipment, u.id) for u in (self.a1, self.a1b, self.w1))

            def file(site, unit, when, **kw):
                values = dict(severity="B", kind="unknown", channel="portal", title="屏幕不亮", description="黑屏",
                              contact_name="张老师", contact_phone="13800000000")
                values.update(kw)
                return tickets.file_ticket(admin, site, unit, "" if unit else "未登记的投影仪", now=when, **values)

            def fix(ticket, when, parts=(), today=None, stopped=False):
                tickets.resolve(ticket, agent, problem_kind="hardware", cause="c", solution="s", loss="",
                                parts=[{"description": p} for p in parts], work_stopped=stopped, now=when,
                                today=today)

            # T1: response 20 min, proposal 50 min (on site waived), fixed in 10 h; a part swapped Fri 16th.
            t1 = file(site1, a1, at(10, 12, 1))
            tickets.respond(t1, agent, "看", now=at(10, 12, 1, 20))
            tickets.propose(t1, agent, "远程", now=at(10, 12, 1, 50))
            fix(t1, at(10, 12, 11), parts=["主板"], today=date(2026, 10, 16))
            tickets.confirm(t1, admin, 5, "好", now=at(10, 13, 3))
            # T2: response 45 min (late), on site 100 min (proposal met there: late), fixed in 50 h (late), work
            # stopped: +60 days; a part swapped Tue 20th (due Mon 19th: late).
            t2 = file(site1, a1, at(10, 13, 1))
            tickets.respond(t2, agent, "看", now=at(10, 13, 1, 45))
            tickets.arrive(t2, agent, at(10, 13, 2, 40), now=at(10, 13, 2, 40))
            fix(t2, at(10, 15, 3), parts=["电源"], today=date(2026, 10, 20), stopped=True)
            tickets.confirm(t2, admin, 3, "一般", now=at(10, 16, 2))
            # T3: never answered. T4: filed 6 hours before now, never answered.
            t3 = file(site1, a1b, at(10, 14, 1))
            file(site1, a1b, at(10, 19, 20))
            # T5: answered, proposal, then waiting for the client: its resolution clock is paused.
            t5 = file(site1, a1b, at(10, 15, 1))
            tickets.respond(t5, agent, "看", now=at(10, 15, 1, 10))
            tickets.propose(t5, agent, "远程", now=at(10, 15, 1, 30))
            tickets.wait(t5, agent, "等待开门", now=at(10, 15, 3))
            # T6 (working hours): filed Friday 16:50 local; answered Monday 09:10 local, proposal 09:15: both in
            # time on the working-hours clock, but the response came more than 24 hours after filing.
            t6 = file(site2, w1, at(10, 16, 8, 50))
            tickets.respond(t6, agent, "看", now=at(10, 19, 1, 10))
            tickets.propose(t6, agent, "远程", now=at(10, 19, 1, 15))
            # T7: no registered unit (no contract), filed 30 Sep 16:30 UTC = 1 Oct 00:30 in Shanghai: October's.
            # Work stopped but no unit: no extension. Its part on Tue 6 Oct: the 3rd working day after Thu 1 Oct.
            t7 = file(site1, None, at(9, 30, 16, 30))
            tickets.respond(t7, agent, "看", now=at(9, 30, 16, 35))
            tickets.propose(t7, agent, "远程", now=at(9, 30, 16, 40))
            fix(t7, at(9, 30, 17, 30), parts=["线缆"], today=date(2026, 10, 6), stopped=True)
            # T8: 30 Sep 15:30 UTC = 23:30 in Shanghai: September's (a late response that must not count).
            t8 = file(site1, None, at(9, 30, 15, 30))
            tickets.respond(t8, agent, "看", now=at(9, 30, 16, 10))
            # Client B: a ticket never answered.
            tickets.file_ticket(s.get(User, self.b_admin.id), s.get(Site, self.b_site.id),
                                s.get(Equipment, self.b1.id), "", now=at(10, 14, 1), severity="B", kind="unknown",
                                channel="portal", title="x", description="x", contact_name="x", contact_phone="1")
            # Replacements: a1 flagged on 15 Oct and replaced on 18 Oct; w1 flagged on 17 Oct, still due; a flag
            # in September that does not count.
            tickets.event(t1, None, "replacement_due", "hardware", at=at(10, 15, 0))
            a1.replacement_due_since = at(10, 15, 0)
            s.flush()
            tickets.record_replacement(a1, manager, "换新", now=at(10, 18, 0))
            tickets.event(t6, None, "replacement_due", "hardware", at=at(10, 17, 0))
            w1.replacement_due_since = at(10, 17, 0)
            tickets.event(t8, None, "replacement_due", "hardware", at=at(9, 29, 10))
            s.flush()
            self.tickets = {n: t.id for n, t in zip("1235678", (t1, t2, t3, t5, t6, t7, t8))}
            self.t3_number = t3.number

            # Quotes (contract A: rate 8 %, ceiling 2,000 a year).
            def quote(number, issued, lines, years=1, status="issued"):
                q = RenewalQuote(number=number, client_id=self.a.id, contract_id=self.contract_a.id, years=years,
                                 status=status, issued_at=issued, total=sum(amount for *_x, amount in lines),
                                 lines=[QuoteLine(equipment_id=u.id, contract_id=self.contract_a.id, description="x",
                                                  basis=u.unit_price, rate=r, years=years, amount=amount)
                                        for u, r, amount in lines])
                s.add(q)
            quote("Q1", at(10, 10, 4), [(a1, Decimal("0.08"), Decimal("1904.00"))])  # within
            quote("Q2", at(10, 11, 4), [(a1, Decimal("0.10"), Decimal("2380.00"))])  # rate above 8 %
            quote("Q3", at(10, 12, 4), [(a1, Decimal("0.08"), Decimal("1904.00")),
                                        (a1b, Decimal("0.08"), Decimal("800.00"))])  # 2,704 a year > 2,000
            quote("Q6", at(10, 13, 4), [(a1, Decimal("0.08"), Decimal("3808.00"))], years=2)  # 1,904 a year
            quote("Q4", at(9, 20, 4), [(a1, Decimal("0.10"), Decimal("2380.00"))])  # September's
            quote("Q5", None, [(a1, Decimal("0.10"), Decimal("2380.00"))], status="requested")  # not issued

            # Complaints (24 h to answer each round).
            def complaint(site, when):
                return complaints.file_complaint(admin, site=site, ticket=None, category="attitude",
                                                 description="慢", now=when)

            def answered(c, when):
                complaints.assign(c, manager, agent, now=when)
                complaints.answer(c, agent, "答复", now=when)

            c1 = complaint(site1, at(10, 12, 2))
            answered(c1, at(10, 12, 5))
            complaints.close(c1, admin, 5, "满意", now=at(10, 13, 2))
            c2 = complaint(site2, at(10, 13, 2))
            answered(c2, at(10, 14, 8))  # 30 hours: late
            complaints.close(c2, admin, 2, "勉强", now=at(10, 14, 10))
            c3 = complaint(None, at(10, 14, 2))
            answered(c3, at(10, 14, 4))
            complaints.reject(c3, admin, "不满意", now=at(10, 15, 2))  # round 2 due 16 Oct 02:00: past due now
            complaint(None, at(10, 19, 20))  # due 20 Oct 20:00: not yet
            complaint(None, at(9, 28, 2))  # September's, open and past due since 29 Sep

            # Visits.
            contract_a, contract_w = s.get(Contract, self.contract_a.id), s.get(Contract, self.contract_w.id)

            def visit(contract, site, kind, due, done=None, method="on_site"):
                v = visits.add_visit(contract, site, kind=kind, due_on=due)
                if done:
                    visits.record(v, agent, done_on=done, method=method, engineers="张工", hardware="正常",
                                  software="正常", risks="无", recommendations="无", results={})
                return v

            v1 = visit(contract_a, site1, "inspection", date(2026, 10, 15), date(2026, 10, 14))
            visits.sign(v1, admin, name="李", satisfaction=5, comment="", now=at(10, 16, 4))
            v2 = visit(contract_w, site2, "inspection", date(2026, 10, 15), date(2026, 10, 17))
            visits.sign(v2, admin, name="李", satisfaction=4, comment="", now=at(10, 18, 4))
            visit(contract_a, site1, "inspection", date(2026, 10, 10))  # missed
            visit(contract_a, site1, "inspection", date(2026, 10, 25))  # not yet due
            visit(contract_a, None, "phone_visit", date(2026, 10, 12), date(2026, 10, 12), method="phone")
            v6 = visit(contract_a, site1, "return_visit", date(2026, 10, 16), date(2026, 10, 16))
            visits.dispute(v6, admin, reason="不对", now=at(10, 17, 4))
            visit(contract_a, site1, "end_of_life", date(2026, 10, 30))  # not yet due
            v8 = visit(contract_a, site1, "inspection", date(2026, 9, 15), date(2026, 10, 2))
            visits.sign(v8, admin, name="李", satisfaction=2, comment="", now=at(10, 3, 4))
            visit(s.get(Contract, self.contract_b.id), s.get(Site, self.b_site.id), "inspection",
                  date(2026, 10, 15))  # client B's, missed
            s.flush()

            # Surveys.
            def survey(n, answered_at, rating, ticket=None, visit=None):
                subject = ticket or visit
                # The survey the close or the sign-off made (portal.surveys) gives way to one with known figures.
                made = Survey.ticket_id == ticket.id if ticket else Survey.visit_id == visit.id
                s.execute(sa.delete(Survey).where(made))
                s.add(Survey(token_hash=f"{n:064d}", client_id=self.a.id, site_id=subject.site_id,
                             contract_id=subject.contract_id, ticket_id=ticket.id if ticket else None,
                             visit_id=visit.id if visit else None, expires_at=at(12, 1, 0),
                             answered_at=answered_at, rating=rating))
            survey(1, at(10, 19, 0), 5, ticket=t1)
            survey(2, at(10, 18, 0), 4, visit=v1)
            survey(3, at(9, 30, 15), 1, ticket=t2)  # 23:00 on 30 Sep in Shanghai: September's
            survey(4, None, None, visit=v2)
            s.commit()
            assert s.scalar(sa.select(sa.func.count()).select_from(Ticket)) == 9
            assert s.scalar(sa.select(sa.func.count()).select_from(Visit)) == 9
        # The service log: signed on 5 Oct, unsigned on 6 Oct, September's signed.
        make.service_log(self.contract_a, self.s1, work_date=date(2026, 10, 5), signed_at=at(10, 5, 10),
                         signed_name="李")
        make.service_log(self.contract_a, self.s1, work_date=date(2026, 10, 6))
        make.service_log(self.contract_a, self.s1, work_date=date(2026, 9, 30), signed_at=at(9, 30, 10),
                         signed_name="李")


@pytest.fixture
def known(app, make):
    return Known(app, make)


def figures(row):
    return (row.met, row.value, row.measured, row.total, row.pending)


def card(app, scope, period=OCTOBER, now=NOW):
    with app.test_request_context():
        return M.scorecard(scope, period, now=now)


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
            assert sc.row("response").promise == "每次报修均在承诺时限内实质性响应"  # the figure is the target's, from the contract


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
        "service_year", date(2025, 1, 15), date(2026, 1, 15), 1)
    # Today (20 Oct 2026) is in the second service year: 15 Jan 2026 – 14 Jan 2027.
    assert Period.parse("service_year", contract=Contract, today=today) == Period(
        "service_year", date(2026, 1, 15), date(2027, 1, 15), 2)
    assert Period.parse("custom", start="2026-10-05", end="2026-10-05", today=today) == Period(
        "custom", date(2026, 10, 5), date(2026, 10, 6))
    for kind, value, extra in [("month", "2026-13", {}), ("month", "abc", {}), ("month", "1999-12", {}),
                               ("quarter", "2026-Q5", {}), ("quarter", "2026-3", {}), ("year", "2100", {}),
                               ("year", "x", {}), ("service_year", "0", {"contract": Contract}),
                               ("service_year", "1", {}), ("week", "1", {}),
                               ("custom", None, {"start": "2026-10-05", "end": "2026-10-04"}),
                               ("custom", None, {"start": "2020-01-01", "end": "2025-12-31"}),
                               ("custom", None, {"start": "2026-10-05"}),
                               ("custom", None, {"start": "2026-02-30", "end": "2026-03-01"})]:
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
        (source, model, query), = M.evidence("response", scope, OCTOBER, now=NOW, only_broken=True)
        assert (source, model) == ("tickets", Ticket)
        broken = db.session.scalars(query).all()
        assert len(broken) == 3 and known.t3_number in {t.number for t in broken}
        assert len(db.session.scalars(M.evidence("response", scope, OCTOBER, now=NOW)[0][2]).all()) == 7
        parts = db.session.scalars(M.evidence("parts_3_days", scope, OCTOBER, now=NOW, only_broken=True)[0][2]).all()
        assert [p.description for p in parts] == ["电源"]
        sources = M.evidence("satisfaction", scope, OCTOBER, now=NOW, only_broken=True)
        assert [(s, len(db.session.scalars(q).all())) for s, _m, q in sources] == [
            ("ticket_ratings", 1), ("visit_ratings", 1), ("surveys", 0)]
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
    from portal.inspections import services as visits
    from portal.contracts.models import Contract
    from portal.orgs.models import Site

    client = make.client()
    site = make.site(client)
    contract = make.contract(client)
    unit = make.unit(contract, site, make.model())
    admin = make.user("client_admin", client=client)
    # Filed 25 minutes before NOW: the 30-minute response clock is past its risk point (22.5 min), not yet due.
    make.ticket(admin, site, unit, now=NOW - timedelta(minutes=25))
    with app.test_request_context():
        visits.add_visit(db.session.get(Contract, contract.id), db.session.get(Site, site.id), kind="return_visit",
                         due_on=date(2026, 10, 23))  # due in 3 days
        complaints.file_complaint(db.session.get(User, admin.id), site=None, ticket=None, category="other",
                                  description="x", now=NOW - timedelta(hours=21))  # due in 3 hours
        db.session.commit()
        (found, broken, risky), = M.at_risk(now=NOW)
    # Nothing broken yet. At risk: the response clock (the proposal's risk point is at 45 min, on site's at 90), the
    # return visits (one due in 3 days), complaints answered in 24 h (one due in 3 hours).
    assert (found.id, broken, risky) == (contract.id, 0, 2 + 1)


# ---------------------------------------------------------------- a plain recount on random data


def random_world(app, make, seed, tickets=40):
    """Random clocks, ratings, complaints, visits, log entries and survey answers for one client (two sites, two
    contracts) and a little for another client, written straight into the tables; returns the client, its
    sites and contracts."""
    from portal.complaints.models import Complaint
    from portal.equipment.models import WarrantyExtension
    from portal.inspections.models import ServiceLog, Visit
    from portal.surveys.models import Survey
    from portal.tickets.models import Ticket

    rnd = random.Random(seed)
    client, other = make.client(), make.client()
    sites = [make.site(client), make.site(client)]
    other_site = make.site(other)
    contracts = [make.contract(client), make.contract(client)]
    other_contract = make.contract(other)
    model = make.model()
    units = [make.unit(contracts[i % 2], sites[i // 2], model) for i in range(4)]
    other_unit = make.unit(other_contract, other_site, model)
    staff = make.user("client_staff", client=client)
    other_staff = make.user("client_staff", client=other)
    filings = [(staff, sites[u // 2], units[u]) for u in (rnd.randrange(4) for _ in range(tickets))]
    filings += [(other_staff, other_site, other_unit)] * 3
    filed = make.tickets(filings, now=at(10, 1, 0))
    start = datetime(2026, 9, 1, tzinfo=UTC)
    with app.app_context():
        for ticket in filed:
            t = db.session.get(Ticket, ticket.id)
            t.filed_at = start + timedelta(minutes=rnd.randrange(0, 90 * 24 * 60, 7))
            waived, breached = [], []
            for name, minutes in (("response", 30), ("proposal", 60), ("on_site", 120), ("resolution", 2880)):
                due = t.filed_at + timedelta(minutes=minutes)
                if name == "resolution" and rnd.random() < 0.15:
                    due = None  # paused
                setattr(t, f"{name}_due", due)
                choice = rnd.random()
                met = None
                if choice < 0.5:
                    met = t.filed_at + timedelta(minutes=rnd.choice([minutes - 5, minutes, minutes + 1, 1440,
                                                                      1441, 3000]))
                setattr(t, f"{name}_met", met)
                if rnd.random() < 0.15:
                    waived.append(name)
                if rnd.random() < 0.1:
                    breached.append(name)
            t.waived, t.breached = ",".join(waived), ",".join(breached)
            t.work_stopped = rnd.random() < 0.3
            if t.work_stopped and rnd.random() < 0.6:
                db.session.add(WarrantyExtension(equipment_id=t.equipment_id, days=rnd.choice([60, 60, 30]),
                                                 reason="x", cause_kind="ticket", cause_id=t.id))
            if rnd.random() < 0.5:
                t.closed_at = t.filed_at + timedelta(hours=rnd.randrange(1, 300))
                t.rating = rnd.choice([None, 1, 2, 3, 4, 5, 5])
        for n in range(30):
            site = rnd.choice([*sites, None])
            received = start + timedelta(minutes=rnd.randrange(0, 90 * 24 * 60, 11))
            status = rnd.choice(["new", "assigned", "answered", "reopened", "closed"])
            due = received + timedelta(hours=24) if status in ("new", "assigned", "reopened") else None
            db.session.add(Complaint(
                number=f"TS-R{seed}-{n}", client_id=client.id, site_id=site.id if site else None,
                category="other", description="x", status=status, is_open=status != "closed", round=1,
                received_at=received, due_at=due, overdue_rounds=rnd.choice([0, 0, 1]),
                closed_at=received + timedelta(days=2) if status == "closed" else None,
                rating=rnd.choice([None, 2, 4, 5]) if status == "closed" else None))
        visits = []
        for n in range(40):
            contract = rnd.choice(contracts)
            kind = rnd.choice(["inspection", "phone_visit", "return_visit", "end_of_life", "extra"])
            site = None if kind == "phone_visit" else rnd.choice(sites)
            due = date(2026, 9, 1) + timedelta(days=rnd.randrange(0, 90))
            status = rnd.choice(["scheduled", "done", "signed", "disputed"])
            done = due + timedelta(days=rnd.randrange(-5, 6)) if status != "scheduled" else None
            signed = datetime.combine(done, time(4), UTC) + timedelta(days=1) if status == "signed" else None
            visit = Visit(contract_id=contract.id, client_id=client.id, site_id=site.id if site else None, kind=kind,
                          due_on=due, window_start=due, status=status, done_on=done, signed_at=signed,
                          satisfaction=rnd.choice([None, 2, 4, 5]) if signed else None)
            db.session.add(visit)
            visits.append(visit)
        for n in range(20):
            db.session.add(ServiceLog(
                contract_id=rnd.choice(contracts).id, client_id=client.id, site_id=rnd.choice(sites).id
                if rnd.random() < 0.7 else None, work_date=date(2026, 9, 1) + timedelta(days=rnd.randrange(0, 90)),
                engineers="x", headcount=1, time_in=time(8), time_out=time(17), place="x", work_done="x",
                signed_at=at(10, 1, 0) if rnd.random() < 0.5 else None))
        db.session.flush()
        for n, ticket in enumerate(filed[:20]):
            t = db.session.get(Ticket, ticket.id)
            db.session.execute(sa.delete(Survey).where(Survey.ticket_id == t.id))  # one its close made, if any
            answered = start + timedelta(minutes=rnd.randrange(0, 90 * 24 * 60)) if rnd.random() < 0.7 else None
            db.session.add(Survey(token_hash=f"{seed:032d}{n:032d}", client_id=t.client_id, site_id=t.site_id,
                                  contract_id=t.contract_id, ticket_id=t.id, expires_at=at(12, 31, 0),
                                  answered_at=answered, rating=rnd.randrange(1, 6) if answered else None))
        db.session.commit()
    return client, sites, contracts


def recount(app, scope, period, now):
    """Every row the recount covers, counted in Python over every row of every table."""
    from portal.complaints.models import Complaint
    from portal.equipment.models import WarrantyExtension
    from portal.inspections.models import ServiceLog, Visit
    from portal.surveys.models import Survey
    from portal.tickets.models import Ticket

    shanghai = M.ZoneInfo("Asia/Shanghai")
    lo, hi = (datetime.combine(day, time(0), shanghai) for day in (period.start, period.end))
    with app.app_context():
        def scoped(rows, contract=True):
            return [r for r in rows if r.client_id == scope.client_id
                    and (scope.site_id is None or r.site_id == scope.site_id)
                    and (not contract or scope.contract_id is None or r.contract_id == scope.contract_id)]

        tickets = scoped(db.session.scalars(sa.select(Ticket)).all())
        extensions = {(e.cause_id, e.days) for e in db.session.scalars(sa.select(WarrantyExtension))}
        complaints = scoped(db.session.scalars(sa.select(Complaint)).all(), contract=False)
        visits = scoped(db.session.scalars(sa.select(Visit)).all())
        logs = scoped(db.session.scalars(sa.select(ServiceLog)).all())
        surveys = scoped(db.session.scalars(sa.select(Survey)).all())
    counts = {}
    filed = [t for t in tickets if lo <= t.filed_at < hi]
    for name in M.CLOCK_ROWS:
        met = broken = pending = 0
        for t in filed:
            due, done = getattr(t, f"{name}_due"), getattr(t, f"{name}_met")
            if name in t.waived.split(","):
                continue
            if name in t.breached.split(","):
                broken += 1
            elif done is not None:
                if due is None or done <= due:
                    met += 1
                else:
                    broken += 1
            elif due is not None and due < now:
                broken += 1
            else:
                pending += 1
        counts[name] = (met, met + broken, pending)
    late = sum(1 for t in filed if (t.response_met is None and t.filed_at < now - timedelta(hours=24))
               or (t.response_met is not None and t.response_met - t.filed_at > timedelta(hours=24)))
    counts["no_response_24h"] = (late, len(filed))
    stopped = [t for t in filed if t.work_stopped]
    counts["extensions"] = (sum(1 for t in stopped if (t.id, 60) in extensions), len(stopped))
    received = [c for c in complaints if lo <= c.received_at < hi]
    late = [c for c in received if c.overdue_rounds or (c.due_at is not None and c.due_at < now)]
    in_time = [c for c in received if c not in late and c.due_at is None]
    counts["complaints_24h"] = (len(in_time), len(in_time) + len(late))
    closed = [c for c in received if c.status == "closed"]
    counts["complaints_satisfied"] = (sum(1 for c in closed if c.rating is None or c.rating >= 4), len(closed))
    today = now.astimezone(M.ZoneInfo("Asia/Shanghai")).date()
    for key, kind in M.VISIT_ROWS.items():
        due = [v for v in visits if v.kind == kind and period.start <= v.due_on < period.end]
        on_time = sum(1 for v in due if v.status != "scheduled" and v.done_on <= v.due_on)
        bad = sum(1 for v in due if (v.status != "scheduled" and v.done_on > v.due_on)
                  or (v.status == "scheduled" and v.due_on < today))
        counts[key] = (on_time, on_time + bad)
    done = [v for v in visits if v.done_on is not None and period.start <= v.done_on < period.end]
    counts["visit_signoff"] = (sum(1 for v in done if v.status == "signed"), len(done))
    entries = [e for e in logs if period.start <= e.work_date < period.end]
    counts["service_log"] = (sum(1 for e in entries if e.signed_at is not None), len(entries))
    answers = [t.rating for t in tickets if t.rating is not None and t.closed_at and lo <= t.closed_at < hi]
    answers += [v.satisfaction for v in visits if v.satisfaction is not None and lo <= v.signed_at < hi]
    answers += [s.rating for s in surveys if s.rating is not None and lo <= s.answered_at < hi]
    counts["satisfaction"] = (sum(1 for a in answers if a >= 4), len(answers))
    return counts


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_scorecard_agrees_with_a_plain_recount(app, make, seed):
    client, sites, contracts = random_world(app, make, seed)
    periods = [Period("month", date(2026, m, 1), date(2026, m + 1, 1)) for m in (9, 10, 11)]
    periods.append(Period("custom", date(2026, 9, 10), date(2026, 11, 20)))
    for scope in (Scope(client.id), Scope(client.id, site_id=sites[0].id), Scope(client.id, contracts[1].id),
                  Scope(client.id, contracts[0].id, sites[1].id)):
        for period in periods:
            expected = recount(app, scope, period, NOW)
            sc = card(app, scope, period)
            for key, figures_ in expected.items():
                row = sc.row(key)
                if key == "no_response_24h":
                    assert (row.value, row.total) == figures_, (key, scope, period)
                elif key in M.CLOCK_ROWS:
                    assert (row.measured, row.total, row.pending) == figures_, (key, scope, period)
                else:
                    assert (row.measured, row.total) == figures_, (key, scope, period)


def test_queries_do_not_grow_with_the_data(app, make, known, count_queries):
    from portal.tickets.models import ReplacedPart

    scope = Scope(known.a.id)

    def counted():
        found = []
        for call in (lambda: M.scorecard(scope, OCTOBER, now=NOW), lambda: M.trends(scope, now=NOW),
                     lambda: M.at_risk(now=NOW), lambda: M.scorecard(Scope(known.a.id, known.contract_a.id),
                                                                     OCTOBER, now=NOW)):
            with app.test_request_context(), count_queries() as queries:
                call()
            found.append(queries.count)
        return found

    few = counted()
    # Much more of everything in the same scope and period, and more contracts for the overview.
    filed = make.tickets([(known.admin, known.s1, known.a1)] * 15 + [(known.admin, known.s2, known.w1)] * 15,
                         now=at(10, 18, 0))
    make.save(*[ReplacedPart(ticket_id=t.id, description="x", replaced_on=date(2026, 10, 19),
                             covered_until=date(2027, 1, 1)) for t in filed])
    for n in range(10):
        make.visit(known.contract_a, known.s1, due_on=date(2026, 10, 1 + n))
        make.complaint(known.admin, known.s1, now=at(10, 1 + n, 0))
        make.service_log(known.contract_a, known.s1, work_date=date(2026, 10, 1 + n))
        client = make.client()
        site = make.site(client)
        contract = make.contract(client)
        make.ticket(make.user("client_staff", client=client), site, make.unit(contract, site, known.model),
                    now=at(10, 10, 0))
    assert counted() == few, few


def test_a_complaint_answered_late_after_a_period_was_past_due_at_its_end(app, make):
    from portal.complaints import services as complaints

    client = make.client()
    admin, manager, agent = make.user("client_admin", client=client), make.user("vendor_manager"), \
        make.user("vendor_agent")
    with app.test_request_context():
        c = complaints.file_complaint(db.session.get(User, admin.id), site=None, ticket=None, category="other",
                                      description="x", now=at(9, 29, 2))  # due 30 Sep 02:00 UTC
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
        (_s, _m, query), = M.evidence("complaints_open", Scope(client.id), Period(
            "month", date(2026, 9, 1), date(2026, 10, 1)), now=NOW, only_broken=True)
        assert [x.id for x in db.session.scalars(query)] == [c.id]
        (_s, _m, query), = M.evidence("complaints_open", Scope(client.id), OCTOBER, now=NOW, only_broken=True)
        assert db.session.scalars(query).all() == []


def test_a_complaint_answered_late_before_a_periods_end_is_not_past_due_at_it(app, make):
    """The answer that ends a late round is looked for among the complaint's own events: another complaint's answer
    after the period (same round number) does not make this one past due."""
    from portal.complaints import services as complaints

    client = make.client()
    admin, manager, agent = make.user("client_admin", client=client), make.user("vendor_manager"), \
        make.user("vendor_agent")
    with app.test_request_context():
        people = [db.session.get(User, u.id) for u in (admin, manager, agent)]
        early = complaints.file_complaint(people[0], site=None, ticket=None, category="other", description="x",
                                          now=at(9, 27, 2))  # due 28 Sep 02:00 UTC
        complaints.assign(early, people[1], people[2], now=at(9, 28, 5))
        complaints.answer(early, people[2], "答复", now=at(9, 28, 5))  # late, but answered within September
        later = complaints.file_complaint(people[0], site=None, ticket=None, category="other", description="y",
                                          now=at(9, 29, 2))  # due 30 Sep 02:00 UTC
        complaints.assign(later, people[1], people[2], now=at(10, 2, 2))
        complaints.answer(later, people[2], "答复", now=at(10, 2, 2))  # late, answered after September
        db.session.commit()
    september = Period("month", date(2026, 9, 1), date(2026, 10, 1))
    row = card(app, Scope(client.id), september).row("complaints_open")
    # At 30 Sep 16:00 UTC both are open (neither closed by the client); only the later one is past due then.
    assert (row.value, row.met, row.detail["past_due"]) == (2, False, 1)
    with app.test_request_context():
        (_s, _m, query), = M.evidence("complaints_open", Scope(client.id), september, now=NOW, only_broken=True)
        assert [x.id for x in db.session.scalars(query)] == [later.id]
