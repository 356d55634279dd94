"""``flask seed-scale``: a database at a vendor's real size, for measuring (issue 16).

A vendor with its team, ``clients`` bureaus with ``schools_per_client`` schools each, three contracts per bureau
(accepted about four, two and one year ago, so that warranties end over the past and the future) with their SLA
policies and inspection plans, a catalogue, ``units`` units, ``tickets`` fault reports (most closed, a few thousand
open in every state, their clocks computed by the tickets' own rules), ``visits`` inspection visits and
``complaints`` complaints, and the demo accounts of ``portal.demo`` (same e-mails and password) so that a
benchmark can sign in: the vendor manager and agent, the first bureau's administrator and staff, its first
school's administrator, and the second bureau's administrator.

Rows are written in batches with Core ``insert()`` (executemany: ``insertmanyvalues`` on PostgreSQL) with ids
given here, never ORM objects one by one; a fixed random seed makes every run write the same rows (serials, asset
tags, places, numbers); only the dates are relative to today, as in the demo.
"""

import random
import time as clock_time
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import click
import sqlalchemy as sa
from flask import current_app

from . import search
from .auth.models import User, new_token
from .catalog.models import EquipmentModel
from .cli import DEMO_PASSWORD
from .complaints.models import Complaint, ComplaintCounter, ComplaintEvent
from .contracts.models import Contract
from .demo import MODELS
from .equipment import warranty
from .equipment.models import Equipment
from .extensions import db
from .inspections.models import InspectionPlan, Visit, plan_site
from .orgs.models import Client, Site, TeamMember, Vendor
from .sla.models import BID_TARGETS, SlaPolicy, SlaTarget
from .tickets import services as ticket_services
from .tickets.models import CLOCKS, Ticket, TicketCounter, TicketEvent

BATCH = 5000
TZ = "Asia/Shanghai"
# Extra catalogue models beside the demo's, so that a list has some variety: (maker, maker_en, prefix, category, zh, en).
MORE_MODELS = [
    ("希沃", "Seewo", "F75EB", "touch", "75 英寸交互智能平板", "75-inch interactive panel"),
    ("联想", "Lenovo", "E14", "computer", "昭阳笔记本电脑", "Zhaoyang laptop"),
    ("海康威视", "Hikvision", "DS-7808N", "security", "8 路网络硬盘录像机", "8-channel network video recorder"),
    ("华为", "Huawei", "AirEngine5761", "network", "无线接入点", "Wireless access point"),
    ("华三", "H3C", "S5130S-28S", "network", "28 口千兆交换机", "28-port gigabit switch"),
    ("爱普生", "Epson", "CB-L520U", "projector", "激光投影机", "Laser projector"),
    ("明基", "BenQ", "GW2790", "display", "27 英寸显示器", "27-inch monitor"),
    ("大华", "Dahua", "IPC-HFW2431", "security", "400 万像素枪式摄像机", "4 MP bullet camera"),
]
SCHOOL_KINDS = [
    ("第{n}中学", "No. {n} Middle School"),
    ("第{n}小学", "No. {n} Primary School"),
    ("实验学校{n}", "Experimental School {n}"),
    ("职业高中{n}", "Vocational High School {n}"),
]
BUILDINGS = ["教学楼", "实验楼", "行政楼", "图书馆", "报告厅", "综合楼", "体育馆", "宿舍楼"]
TITLES = [
    ("触控失灵", "屏幕触控间歇性失灵。", "hardware"),
    ("黑屏无法开机", "按电源键无反应，指示灯不亮。", "hardware"),
    ("网络中断", "教室无法上网，交换机指示灯闪烁异常。", "configuration"),
    ("软件闪退", "教学软件打开后闪退。", "software"),
    ("投影画面偏色", "投影画面整体偏黄。", "hardware"),
    ("咨询使用方法", "不清楚如何投屏。", "operation"),
    ("摄像机离线", "监控平台显示摄像机离线。", "hardware"),
    ("系统无法登录", "提示密码错误，已确认密码正确。", "software"),
]
COMPLAINTS = [
    ("response_time", "报修后很久无人响应。"),
    ("attitude", "客服语气生硬。"),
    ("repair_quality", "同一故障反复出现。"),
    ("billing", "备件收费与价格表不一致。"),
    ("other", "服务时间安排不合理。"),
]
DEMO_PEOPLE = [  # e-mail, name, role, client index, site index (the first school of the first bureau)
    ("manager@vendor.example.com", "李娜", "vendor_manager", None, None),
    ("agent@vendor.example.com", "张伟", "vendor_agent", None, None),
    ("admin@edu.example.com", "刘洋", "client_admin", 0, None),
    ("it@edu.example.com", "孙磊", "client_staff", 0, None),
    ("school1@edu.example.com", "周敏", "site_admin", 0, 0),
    ("admin@info.example.com", "赵强", "client_admin", 1, None),
]
# Open tickets: their share of all, and the states they are in (a few thousand at 200,000).
OPEN_SHARE = 0.015
OPEN_STATES = ["new", "responded", "in_progress", "on_site", "waiting", "reopened", "resolved"]


class NotEmpty(click.ClickException):
    pass


def _next_id(model):
    return (db.session.scalar(sa.select(sa.func.max(model.id))) or 0) + 1


def _advance_counters(counter, existing, added):
    """A yearly numbering counter (tickets', complaints') moved past the numbers the seed gave: ``existing`` is
    {year: last} before the seed, ``added`` {year: how many it numbered}."""
    for year, count in added.items():
        if year in existing:
            db.session.execute(sa.update(counter).where(counter.year == year).values(last=existing[year] + count))
        else:
            db.session.execute(sa.insert(counter).values(year=year, last=count))


def _insert(table, rows):
    """Write ``rows`` (dicts with the same keys) in batches of ``BATCH``."""
    table = getattr(table, "__table__", table)
    for start in range(0, len(rows), BATCH):
        db.session.execute(table.insert(), rows[start : start + BATCH])


def _fix_sequences():
    """Ids were given here: move PostgreSQL's sequences past them (SQLite takes max(id) + 1 by itself)."""
    if db.engine.dialect.name != "postgresql":
        return
    for table in db.metadata.sorted_tables:
        if "id" in table.c and table.c.id.primary_key and table.c.id.autoincrement is not False:
            db.session.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "  # nosec B608  # table names from the models' metadata, no user input
                    f"COALESCE((SELECT max(id) FROM {table.name}), 1))"
                )
            )


@search.filled_at_the_end()
def seed_scale(
    *, units, tickets, visits, complaints, clients=100, schools_per_client=20, seed=1, force=False, echo=print
):
    """Fill the database (empty, or with ``force`` anything, e.g. the demo) and return the counts written."""
    started = clock_time.monotonic()
    rng = random.Random(seed)  # nosec B311  # repeatable benchmark data, not security
    has_data = db.session.scalar(sa.select(sa.func.count(Equipment.id))) or db.session.scalar(
        sa.select(sa.func.count(User.id))
    )
    if has_data and not force:
        raise NotEmpty("The database is not empty: seed-scale fills an empty database (or use --force).")
    clients = max(clients, 2)
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    now = datetime.now(UTC).replace(microsecond=0)
    today = now.astimezone(zone).date()
    tag = "" if not has_data else f"-{seed}"  # on top of other data: numbers and names of their own

    def step(what):
        echo(f"  {what} ({clock_time.monotonic() - started:.1f} s)")

    # ------------------------------------------------------------ the vendor, its team, the holiday calendar
    if db.session.scalar(sa.select(Vendor.id).limit(1)) is None:
        vendor = Vendor(
            name_zh="华信智联科技有限公司",
            name_en="Huaxin Smart Link Technology Co., Ltd.",
            hotline="400-800-1234",
            email="service@vendor.example.com",
            address="示范市高新区创新路 88 号",
        )
        vendor.team = [
            TeamMember(name="王建国", role_zh="项目负责人", role_en="Project lead", phone="138 0000 0001", position=1),
            TeamMember(
                name="李娜", role_zh="客服经理", role_en="Customer service manager", phone="138 0000 0002", position=2
            ),
            TeamMember(
                name="张伟", role_zh="技术工程师", role_en="Service engineer", phone="138 0000 0003", position=3
            ),
        ]
        db.session.add(vendor)
        db.session.flush()
    from .sla.holidays import load_from_library

    load_from_library(2020)

    # ------------------------------------------------------------ clients and their schools
    client_id, site_id = _next_id(Client), _next_id(Site)
    client_rows, site_rows, sites_of = [], [], {}
    for c in range(clients):
        cid = client_id + c
        if c == 1:
            zh, en = f"示范市信息中心{tag}", f"Demo City Information Centre{tag}"
        elif c == 0:
            zh, en = f"示范区教育局{tag}", f"Demo District Education Bureau{tag}"
        else:
            zh, en = f"第{c + 1:03d}区教育局{tag}", f"District {c + 1:03d} Education Bureau{tag}"
        client_rows.append(
            dict(
                id=cid,
                name_zh=zh,
                name_en=en,
                contact_name="刘主任",
                contact_phone=f"010-6{c:03d} 1000",
                address=f"{zh}政务大楼 3 层",
                created_at=now - timedelta(days=1500),
            )
        )
        sites_of[cid] = []
        for s in range(schools_per_client):
            kind_zh, kind_en = SCHOOL_KINDS[s % len(SCHOOL_KINDS)]
            n = s // len(SCHOOL_KINDS) + 1
            sid = site_id + len(site_rows)
            site_rows.append(
                dict(
                    id=sid,
                    client_id=cid,
                    name_zh=f"{zh[:-3]}{kind_zh.format(n=n)}",
                    name_en=f"{en} {kind_en.format(n=n)}",
                    address=f"学府路 {s + 1} 号",
                    timezone=TZ,
                    contact_name="",
                    contact_phone="",
                    created_at=now - timedelta(days=1500),
                )
            )
            sites_of[cid].append(sid)
    _insert(Client, client_rows)
    _insert(Site, site_rows)
    site_client = {r["id"]: r["client_id"] for r in site_rows}
    step(f"{len(client_rows)} clients, {len(site_rows)} schools")

    # ------------------------------------------------------------ accounts
    password_hash = User(email="", name="")
    password_hash.set_password(DEMO_PASSWORD)
    password_hash = password_hash.password_hash
    existing = set(db.session.scalars(sa.select(User.email)))
    user_id = _next_id(User)
    user_rows = []
    first = [r["id"] for r in client_rows]
    for email, name, role, c, s in DEMO_PEOPLE:
        if email in existing:
            continue
        cid = first[c] if c is not None else None
        user_rows.append(
            dict(
                id=user_id + len(user_rows),
                email=email,
                name=name,
                phone="",
                role=role,
                client_id=cid,
                site_id=sites_of[cid][s] if s is not None else None,
                locale=None,
                active=True,
                password_hash=password_hash,
                session_token=new_token(),
                created_at=now - timedelta(days=1400),
                last_login_at=None,
            )
        )
    for n in range(6):  # more engineers, assigned to tickets
        email = f"engineer{n + 1}{tag}@vendor.example.com"
        if email not in existing:
            user_rows.append(
                dict(
                    id=user_id + len(user_rows),
                    email=email,
                    name=f"工程师{n + 1}",
                    phone="",
                    role="vendor_agent",
                    client_id=None,
                    site_id=None,
                    locale=None,
                    active=True,
                    password_hash=password_hash,
                    session_token=new_token(),
                    created_at=now - timedelta(days=1400),
                    last_login_at=None,
                )
            )
    _insert(User, user_rows)
    users = {u.email: u for u in db.session.scalars(sa.select(User))}
    agents = [u.id for u in users.values() if u.role in ("vendor_agent", "vendor_manager")]
    manager_id = users["manager@vendor.example.com"].id
    client_users = {}  # client id: the ids of its users (who files its faults)
    for u in users.values():
        if u.client_id in sites_of:
            client_users.setdefault(u.client_id, []).append(u.id)

    # ------------------------------------------------------------ catalogue
    known = {(m.manufacturer, m.model_number): m.id for m in db.session.scalars(sa.select(EquipmentModel))}
    model_id = _next_id(EquipmentModel)
    model_rows = []
    for maker, maker_en, number, category, zh, en in MODELS + MORE_MODELS:
        if (maker, number) not in known:
            known[(maker, number)] = model_id + len(model_rows)
            model_rows.append(
                dict(
                    id=known[(maker, number)],
                    manufacturer=maker,
                    manufacturer_en=maker_en,
                    model_number=number,
                    category=category,
                    name_zh=zh,
                    name_en=en,
                )
            )
    _insert(EquipmentModel, model_rows)
    catalogue = [(known[(m[0], m[2])], m[2]) for m in MODELS + MORE_MODELS]

    # ------------------------------------------------------------ contracts, SLA policies, inspection plans
    contract_id, policy_id, target_id, plan_id = (
        _next_id(Contract),
        _next_id(SlaPolicy),
        _next_id(SlaTarget),
        _next_id(InspectionPlan),
    )
    contract_rows, policy_rows, target_rows, plan_rows, plan_site_rows = [], [], [], [], []
    contracts_of = {}
    for c, cid in enumerate(first):
        contracts_of[cid] = []
        for k, (years, months, title) in enumerate(
            [(4, 36, "智慧教室建设项目"), (2, 36, "计算机教室更新项目"), (1, 12, "校园安防补充采购")]
        ):
            accepted = warranty.add_months(today, -12 * years) + timedelta(days=rng.randint(-150, 150))
            if accepted >= today:
                accepted = today - timedelta(days=30)
            ctid = contract_id + len(contract_rows)
            contract_rows.append(
                dict(
                    id=ctid,
                    client_id=cid,
                    number=f"HT-{accepted.year}-{c + 1:03d}{k + 1}{tag}",
                    title=title,
                    signed_on=accepted - timedelta(days=75),
                    accepted_on=accepted,
                    price=Decimal(rng.randint(300, 3000) * 1000),
                    warranty_months=months,
                    renewal_rate=Decimal("0.08"),
                    created_at=now - timedelta(days=(today - accepted).days + 80),
                )
            )
            contracts_of[cid].append((ctid, accepted, months))
            pid = policy_id + len(policy_rows)
            policy_rows.append(
                dict(
                    id=pid,
                    contract_id=ctid,
                    clock="24x7",
                    day_starts=time(9, 0),
                    day_ends=time(17, 0),
                    updated_by_id=None,
                    updated_at=now - timedelta(days=400),
                )
            )
            for severity in "ABCD":
                target_rows.append(
                    dict(id=target_id + len(target_rows), policy_id=pid, severity=severity, **BID_TARGETS)
                )
            plan = plan_id + len(plan_rows)
            plan_rows.append(
                dict(
                    id=plan,
                    contract_id=ctid,
                    client_id=cid,
                    frequency="quarterly",
                    months="",
                    phone_visits=4,
                    return_visits=True,
                    end_of_life=True,
                    updated_by_id=None,
                    updated_at=now - timedelta(days=400),
                )
            )
            plan_site_rows += [dict(plan_id=plan, site_id=sid) for sid in sites_of[cid]]
    _insert(Contract, contract_rows)
    _insert(SlaPolicy, policy_rows)
    _insert(SlaTarget, target_rows)
    _insert(InspectionPlan, plan_rows)
    _insert(plan_site, plan_site_rows)
    step(f"{len(contract_rows)} contracts with their SLA policies and inspection plans")

    # ------------------------------------------------------------ units
    unit_id = _next_id(Equipment)
    all_sites = [r["id"] for r in site_rows]
    unit_rows = []
    units_of_site = {}
    for n in range(units):
        sid = all_sites[n % len(all_sites)] if n < len(all_sites) else rng.choice(all_sites)
        cid = site_client[sid]
        ctid, accepted, months = rng.choice(contracts_of[cid])
        mid, number = rng.choice(catalogue)
        start = accepted + timedelta(days=rng.choice((0, 0, 0, 14, 35, 70)))  # accepted school by school
        own_start = start if start != accepted else None
        end = warranty.warranty_end(start, months)
        uid = unit_id + n
        unit_rows.append(
            dict(
                id=uid,
                client_id=cid,
                site_id=sid,
                contract_id=ctid,
                model_id=mid,
                serial=f"{number.replace('-', '')[:4].upper()}{accepted.year % 100:02d}{seed:02d}{n:07d}",
                asset_tag=f"ZC-{seed}{n + 1:07d}",
                building=rng.choice(BUILDINGS),
                room=f"{rng.randint(1, 6)}{rng.randint(1, 30):02d}",
                installed_on=accepted - timedelta(days=7),
                warranty_start=own_start,
                warranty_months=None,
                unit_price=Decimal(rng.randint(10, 300) * 100),
                status="under_repair" if rng.random() < 0.005 else "in_service",
                extension_days=0,
                warranty_end=end,
                renewed_until=None,
                covered_until=end,
                replacement_due_since=None,
                replacement_ticket_id=None,
                replacement_recorded_at=None,
                replacement_note="",
                created_at=now - timedelta(days=(today - accepted).days),
                updated_at=now - timedelta(days=(today - accepted).days),
            )
        )
        units_of_site.setdefault(sid, []).append(n)
    _insert(Equipment, unit_rows)
    step(f"{len(unit_rows)} units")

    # ------------------------------------------------------------ tickets
    ticket_id, event_id = _next_id(Ticket), _next_id(TicketEvent)
    counters = {c.year: c.last for c in db.session.scalars(sa.select(TicketCounter))}
    new_counters = {}
    n_open = min(tickets, max(len(OPEN_STATES), round(tickets * OPEN_SHARE)))
    horizon = 3 * 365 * 24 * 3600  # closed ones: filed over the last three years
    ticket_rows, event_rows = [], []
    demo_site = sites_of[first[0]][0]

    def ev(tid, user, action, at, body=""):
        event_rows.append(
            dict(
                id=event_id + len(event_rows),
                ticket_id=tid,
                at=at,
                user_id=user,
                action=action,
                body=body,
                internal=False,
                key=None,
            )
        )

    for n in range(tickets):
        is_open_kind = n >= tickets - n_open  # the newest are the open ones
        if n % 40 == 0 and unit_rows:  # some at the demo school, so that its administrator has a queue too
            u = unit_rows[rng.choice(units_of_site[demo_site])] if demo_site in units_of_site else rng.choice(unit_rows)
        else:
            u = rng.choice(unit_rows) if unit_rows else None
        if u is None:
            break
        start = max(
            datetime.combine(u["installed_on"] + timedelta(days=8), time(1), UTC), now - timedelta(seconds=horizon)
        )
        if is_open_kind:
            filed = now - timedelta(minutes=rng.randint(5, 14 * 24 * 60))
            state = OPEN_STATES[n % len(OPEN_STATES)]
        else:
            filed = start + timedelta(seconds=rng.randint(0, max(1, int((now - start).total_seconds()) - 10 * 86400)))
            state = "closed"
        filed = filed.replace(microsecond=0)
        year = filed.astimezone(zone).year
        seq = counters.get(year, 0) + new_counters.get(year, 0) + 1
        new_counters[year] = new_counters.get(year, 0) + 1
        title, description, kind = TITLES[n % len(TITLES)]
        severity = "ABCCCDD"[rng.randrange(7)]
        filer = rng.choice(client_users.get(u["client_id"]) or [manager_id])
        end = u["covered_until"]
        coverage = "in_warranty" if end is not None and filed.astimezone(zone).date() <= end else "expired"
        t = SimpleNamespace(
            id=ticket_id + n,
            number=f"GZ-{year}-{seq:05d}{tag}",
            client_id=u["client_id"],
            site_id=u["site_id"],
            equipment_id=u["id"],
            equipment_text="",
            contract_id=u["contract_id"],
            severity=severity,
            kind=kind,
            channel=("portal", "portal", "phone", "email")[n % 4],
            title=title,
            description=description,
            contact_name="联系人",
            contact_phone="0571-8888 6666",
            coverage=coverage,
            coverage_note="",
            status="new",
            is_open=True,
            resume_to=None,
            assignee_id=None,
            filed_by_id=filer,
            filed_at=filed,
            timezone=TZ,
            clock="24x7",
            day_starts=time(9, 0),
            day_ends=time(17, 0),
            resolution_from=filed,
            paused_at=None,
            paused_seconds=0,
            waived="",
            breached="",
            open_loan=None,
            resolved_at=None,
            problem_kind=None,
            cause="",
            solution="",
            loss="",
            work_stopped=False,
            closed_at=None,
            auto_closed=False,
            rating=None,
            rating_comment="",
            version=1,
            **{f"{c}_minutes": BID_TARGETS[c] for c in CLOCKS},
            **{f"{c}_met": None for c in CLOCKS},
            resolution_met_by=None,
        )
        ticket_services.schedule(t)
        ev(t.id, filer, "filed", filed)
        agent = rng.choice(agents)
        if state != "new":  # responded within the half hour
            at = filed + timedelta(minutes=rng.randint(3, 28))
            if is_open_kind and at > now:
                at = now
            t.status, t.assignee_id, t.response_met = "responded", agent, at
            ev(t.id, agent, "responded", at, "已受理，正在分析原因。")
        last = t.response_met
        if state in ("in_progress", "waiting", "resolved", "closed", "reopened") and last is not None:
            at = min(last + timedelta(minutes=rng.randint(5, 25)), now)
            t.status, t.proposal_met, t.waived = "in_progress", at, "on_site"
            ev(t.id, agent, "proposal", at, "远程指导处理。")
            last = at
        if state == "on_site":
            at = min(last + timedelta(minutes=rng.randint(20, 90)), now)
            t.status, t.on_site_met, t.proposal_met = "on_site", at, at
            ev(t.id, agent, "on_site", at)
        if state == "waiting":
            at = min(last + timedelta(minutes=30), now)
            t.status, t.resume_to, t.paused_at = "waiting", "in_progress", at
            t.resolution_due = t.resolution_risk = None
            ev(t.id, agent, "waiting", at, "等待学校配合。")
        if state in ("resolved", "closed", "reopened"):
            at = min(last + timedelta(hours=rng.randint(1, 40)), now)
            t.status, t.is_open, t.resolved_at, t.resolution_met, t.resolution_met_by = "resolved", False, at, at, "fix"
            t.problem_kind, t.cause, t.solution, t.loss = kind, "部件老化。", "更换部件后测试正常。", "无"
            ev(t.id, agent, "resolved", at, "更换部件后测试正常。")
            last = at
        if state == "reopened":  # the client was not satisfied: the resolution clock starts again
            at = min(last + timedelta(hours=2), now)
            t.status, t.is_open, t.resolution_from, t.resolution_met, t.resolution_met_by = (
                "reopened",
                True,
                at,
                None,
                None,
            )
            t.resolved_at, t.paused_seconds = None, 0
            ticket_services.schedule(t)
            ev(t.id, filer, "reopened", at, "问题仍然存在。")
        if state == "closed":
            confirmed = rng.random() < 0.6
            at = t.resolved_at + (timedelta(hours=rng.randint(2, 72)) if confirmed else timedelta(days=7))
            t.status, t.closed_at = "closed", at
            if confirmed:
                t.rating = rng.choice((3, 4, 5, 5, 5))
                ev(t.id, filer, "closed", at)
            else:
                t.auto_closed = True
                event_rows.append(
                    dict(
                        id=event_id + len(event_rows),
                        ticket_id=t.id,
                        at=at,
                        user_id=None,
                        action="auto_closed",
                        body="",
                        internal=False,
                        key="auto_closed",
                    )
                )
        ticket_services.refresh(t)
        row = {c.name: getattr(t, c.name) for c in Ticket.__table__.columns if c.name != "updated_at"}
        row["updated_at"] = last or filed
        ticket_rows.append(row)
        if len(ticket_rows) >= BATCH:
            _insert(Ticket, ticket_rows)
            _insert(TicketEvent, event_rows)
            event_id += len(event_rows)
            ticket_rows.clear()
            event_rows.clear()
    _insert(Ticket, ticket_rows)
    _insert(TicketEvent, event_rows)
    _advance_counters(TicketCounter, counters, new_counters)
    step(f"{tickets} tickets ({n_open} open or resolved recently) with their timelines")

    # ------------------------------------------------------------ inspection visits
    visit_id = _next_id(Visit)
    visit_rows = []
    span = 3 * 365 + 180
    for n in range(visits):
        cid = rng.choice(first)
        ctid, accepted, _months = rng.choice(contracts_of[cid])
        due = max(accepted + timedelta(days=30), today - timedelta(days=3 * 365)) + timedelta(days=rng.randrange(span))
        due = due.replace(day=15)
        kind = "phone_visit" if n % 5 == 4 else "inspection"
        row = dict(
            id=visit_id + n,
            plan_id=None,
            contract_id=ctid,
            client_id=cid,
            site_id=None if kind == "phone_visit" else rng.choice(sites_of[cid]),
            kind=kind,
            due_on=due,
            window_start=due - timedelta(days=14),
            status="scheduled",
            method=None,
            done_on=None,
            engineers="",
            hardware="",
            software="",
            risks="",
            recommendations="",
            recorded_by_id=None,
            recorded_at=None,
            signed_name="",
            signed_by_id=None,
            signed_at=None,
            sign_comment="",
            satisfaction=None,
            dispute_reason="",
            disputed_at=None,
            version=1,
        )
        if due < today - timedelta(days=20) or (due < today and n % 3):
            done = due - timedelta(days=rng.randint(0, 5))
            done_at = datetime.combine(done, time(8), UTC)
            agent = rng.choice(agents)
            row.update(
                status="signed",
                method="phone" if kind == "phone_visit" else "on_site",
                done_on=done,
                engineers="张伟",
                hardware="设备运行正常" if kind == "inspection" else "",
                recommendations="用户反馈设备使用正常。",
                recorded_by_id=agent,
                recorded_at=done_at,
                signed_name="刘主任",
                signed_by_id=(client_users.get(cid) or [None])[0],
                signed_at=done_at + timedelta(days=1),
                satisfaction=rng.choice((4, 5, 5)),
            )
            if due >= today - timedelta(days=60) and n % 7 == 0:  # recent ones still waiting for the sign-off
                row.update(status="done", signed_name="", signed_by_id=None, signed_at=None, satisfaction=None)
        visit_rows.append(row)
    _insert(Visit, visit_rows)
    step(f"{visits} visits")

    # ------------------------------------------------------------ complaints
    complaint_id, cevent_id = _next_id(Complaint), _next_id(ComplaintEvent)
    ccounters = {c.year: c.last for c in db.session.scalars(sa.select(ComplaintCounter))}
    new_ccounters = {}
    complaint_rows, cevent_rows = [], []
    hours = current_app.config["COMPLAINT_ANSWER_HOURS"]
    n_open_c = min(complaints, max(4, round(complaints * 0.01)))
    for n in range(complaints):
        cid = rng.choice(first)
        filer = rng.choice(client_users.get(cid) or [manager_id])
        category, description = COMPLAINTS[n % len(COMPLAINTS)]
        is_open_kind = n >= complaints - n_open_c
        received = (
            now - timedelta(minutes=rng.randint(10, 5 * 24 * 60))
            if is_open_kind
            else now - timedelta(seconds=rng.randint(10 * 86400, 3 * 365 * 86400))
        )
        year = received.astimezone(zone).year
        new_ccounters[year] = new_ccounters.get(year, 0) + 1
        seq = ccounters.get(year, 0) + new_ccounters[year]
        pid = complaint_id + n
        row = dict(
            id=pid,
            number=f"TS-{year}-{seq:04d}{tag}",
            client_id=cid,
            site_id=None,
            ticket_id=None,
            category=category,
            description=description,
            channel="portal",
            status="new",
            is_open=True,
            round=1,
            handler_id=None,
            filed_by_id=filer,
            received_at=received,
            due_at=received + timedelta(hours=hours),
            answered_at=None,
            closed_at=None,
            rating=None,
            overdue_rounds=0,
            version=1,
        )

        def cev(action, at, user, body="", pid=pid):
            cevent_rows.append(
                dict(
                    id=cevent_id + len(cevent_rows),
                    complaint_id=pid,
                    round=1,
                    at=at,
                    user_id=user,
                    action=action,
                    body=body,
                )
            )

        cev("filed", received, filer, description)
        if not is_open_kind or n % 2:
            handler = rng.choice(agents)
            at = min(received + timedelta(hours=1), now)
            row.update(status="assigned", handler_id=handler)
            cev("assigned", at, manager_id, "工程师")
            if not is_open_kind:
                answered = received + timedelta(hours=rng.randint(2, 20))
                row.update(
                    status="closed",
                    is_open=False,
                    due_at=None,
                    answered_at=answered,
                    closed_at=answered + timedelta(days=1),
                    rating=rng.choice((3, 4, 5, 5)),
                )
                cev("answered", answered, handler, "已核实并整改。")
                cev("closed", answered + timedelta(days=1), filer, "")
        complaint_rows.append(row)
    _insert(Complaint, complaint_rows)
    _insert(ComplaintEvent, cevent_rows)
    _advance_counters(ComplaintCounter, ccounters, new_ccounters)
    step(f"{complaints} complaints")
    _fix_sequences()

    # ------------------------------------------------------------ a few documents (the demo's), if there are none
    from .documents.models import Document

    if not has_data and db.session.scalar(sa.select(sa.func.count(Document.id))) == 0:
        from .demo import seed_documents

        by_number = {number: db.session.get(EquipmentModel, mid) for mid, number in catalogue}
        contracts = {
            "old": db.session.get(Contract, contracts_of[first[0]][0][0]),
            "year": db.session.get(Contract, contracts_of[first[1]][2][0]),
        }
        seed_documents(by_number, contracts)
    db.session.flush()
    return dict(
        clients=len(client_rows),
        sites=len(site_rows),
        units=len(unit_rows),
        tickets=tickets,
        open_tickets=n_open,
        visits=visits,
        complaints=complaints,
        seconds=round(clock_time.monotonic() - started, 1),
    )


def init_app(app):
    @app.cli.command("seed-scale")
    @click.option("--units", default=100_000, show_default=True)
    @click.option("--tickets", default=200_000, show_default=True)
    @click.option("--visits", default=100_000, show_default=True)
    @click.option("--complaints", default=20_000, show_default=True)
    @click.option("--clients", default=100, show_default=True, help="Bureaus (at least 2).")
    @click.option("--schools-per-client", default=20, show_default=True)
    @click.option("--seed", default=1, show_default=True, help="The random seed: the same seed writes the same rows.")
    @click.option("--force", is_flag=True, help="Add to a database that already has data (e.g. the demo's).")
    def seed_scale_command(units, tickets, visits, complaints, clients, schools_per_client, seed, force):
        """Fill an empty database at a vendor's real size, for measuring (see ``make bench-scale``)."""
        done = seed_scale(
            units=units,
            tickets=tickets,
            visits=visits,
            complaints=complaints,
            clients=clients,
            schools_per_client=schools_per_client,
            seed=seed,
            force=force,
            echo=click.echo,
        )
        db.session.commit()
        from .sweeps import run

        started = clock_time.monotonic()
        run()  # as after seed-demo: the breaches the open tickets' past holds recorded, old resolved ones closed
        if db.engine.dialect.name == "postgresql":
            # The planner's statistics and the visibility map (index-only counts), as autovacuum leaves a database
            # in use: VACUUM cannot run inside a transaction.
            db.session.commit()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(sa.text("VACUUM ANALYZE"))
        done["seconds"] = round(done["seconds"] + clock_time.monotonic() - started, 1)
        click.echo(
            "Seeded {clients} clients, {sites} schools, {units} units, {tickets} tickets ({open_tickets} "
            "recent), {visits} visits, {complaints} complaints in {seconds} s.".format(**done)
        )
