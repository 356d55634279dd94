"""Demo data: a vendor with its service team, two clients with their sites, one account per role, contracts,
a catalogue of models and a few hundred units in every warranty state (dates relative to today), the present's
tickets, complaints, quotes and visits, and (``portal.demo_history``) a past: last calendar year and this year so
far, so that every row of the service scorecard shows promises kept and broken for each contract in service."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from .auth.models import User
from .auth.passwords import SecurityPolicy
from .catalog.models import EquipmentModel
from .cli import DEMO_PASSWORD
from .contracts.models import Contract
from .equipment import warranty
from .equipment.models import Equipment, WarrantyExtension
from .extensions import db
from .orgs.models import Client, Site, TeamMember, Vendor

MODELS = [  # maker (and in English), model number, category, names
    ("希沃", "Seewo", "F86EA", "touch", "86 英寸交互智能平板", "86-inch interactive panel"),
    ("联想", "Lenovo", "M730e", "computer", "启天台式计算机", "Qitian desktop computer"),
    ("海康威视", "Hikvision", "DS-2CD3T47", "security", "400 万像素网络摄像机", "4 MP network camera"),
    ("华为", "Huawei", "S5735-L24T4S", "network", "24 口千兆交换机", "24-port gigabit switch"),
    ("爱普生", "Epson", "CB-FH52", "projector", "高清投影机", "Full HD projector"),
    ("戴尔", "Dell", "P2422H", "display", "24 英寸显示器", "24-inch monitor"),
    ("山特", "Santak", "C3KS", "other", "3kVA 在线式不间断电源", "3 kVA online UPS"),
]

EDU_SCHOOLS = [
    ("示范区第一中学", "Demo District No. 1 Middle School", "示范区学府路 1 号"),
    ("示范区第二中学", "Demo District No. 2 Middle School", "示范区文昌路 18 号"),
    ("示范区实验小学", "Demo District Experimental Primary School", "示范区育才街 6 号"),
    ("示范区第三小学", "Demo District No. 3 Primary School", "示范区春晖路 32 号"),
    ("示范区职业高中", "Demo District Vocational High School", "示范区工业大道 99 号"),
]
INFO_DEPARTMENTS = [
    ("数据中心机房", "Data Centre", "示范市政务服务中心 B1"),
    ("网络运维部", "Network Operations", "示范市政务服务中心 5 层"),
    ("综合办公室", "General Office", "示范市政务服务中心 8 层"),
]


def seed():
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
        TeamMember(name="张伟", role_zh="技术工程师", role_en="Service engineer", phone="138 0000 0003", position=3),
        TeamMember(name="陈静", role_zh="售后客服", role_en="Service desk agent", phone="400-800-1234", position=4),
    ]
    db.session.add(vendor)
    # The published demo accounts sign in with a password only (a crawler does): a month to set up two-step sign-in.
    db.session.add(SecurityPolicy(id=1, grace_days=30))

    edu = Client(
        name_zh="示范区教育局",
        name_en="Demo District Education Bureau",
        contact_name="刘主任",
        contact_phone="010-6000 1000",
        address="示范区政务大楼 3 层",
    )
    edu.sites = [
        Site(name_zh=zh, name_en=en, address=addr, contact_name="", contact_phone="") for zh, en, addr in EDU_SCHOOLS
    ]
    info = Client(
        name_zh="示范市信息中心",
        name_en="Demo City Information Centre",
        contact_name="赵科长",
        contact_phone="010-6000 2000",
        address="示范市政务服务中心",
    )
    info.sites = [Site(name_zh=zh, name_en=en, address=addr) for zh, en, addr in INFO_DEPARTMENTS]
    db.session.add_all([edu, info])
    db.session.flush()

    people = [
        ("manager@vendor.example.com", "李娜", "vendor_manager", None, None),
        ("agent@vendor.example.com", "张伟", "vendor_agent", None, None),
        ("admin@edu.example.com", "刘洋", "client_admin", edu, None),
        ("it@edu.example.com", "孙磊", "client_staff", edu, None),
        ("school1@edu.example.com", "周敏", "site_admin", edu, edu.sites[0]),
        ("admin@info.example.com", "赵强", "client_admin", info, None),
        # The vendor's three separated administrators (三权分立): accounts, sign-in security, the audit trail.
        ("sysadmin@vendor.example.com", "陈静", "system_admin", None, None),
        ("security@vendor.example.com", "吴刚", "security_admin", None, None),
        ("auditor@vendor.example.com", "郑丽", "auditor", None, None),
    ]
    for email, name, role, client, site in people:
        user = User(
            email=email,
            name=name,
            role=role,
            phone="",
            client_id=client.id if client else None,
            site_id=site.id if site else None,
            demo=True,
        )
        user.set_password(DEMO_PASSWORD)
        db.session.add(user)
    db.session.flush()
    from .sla.holidays import load_from_library

    load_from_library(2020)
    seed_equipment(edu, info, manager_id=db.session.scalar(db.select(User.id).where(User.role == "vendor_manager")))


def today():
    return datetime.now(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).date()


def seed_equipment(edu, info, manager_id=None):
    now = today()
    models = {}
    for maker, maker_en, number, category, zh, en in MODELS:
        models[number] = EquipmentModel(
            manufacturer=maker, manufacturer_en=maker_en, model_number=number, category=category, name_zh=zh, name_en=en
        )
    db.session.add_all(models.values())

    three_years = warranty.add_months(now, -36) + timedelta(days=40)
    contracts = {
        "old": Contract(
            client_id=edu.id,
            number="HT-2023-017",
            title="智慧教室建设项目",
            price=Decimal("2860000.00"),
            signed_on=three_years - timedelta(days=75),
            accepted_on=three_years,
            warranty_months=36,
        ),
        "year": Contract(
            client_id=info.id,
            number="HT-2025-042",
            title="数据中心网络改造项目",
            price=Decimal("1480000.00"),
            signed_on=warranty.add_months(now, -13),
            accepted_on=warranty.add_months(now, -11) + timedelta(days=20),
            warranty_months=12,
        ),
        "new": Contract(
            client_id=edu.id,
            number="HT-2026-008",
            title="计算机教室更新项目",
            price=Decimal("936000.00"),
            signed_on=now - timedelta(days=70),
            accepted_on=now - timedelta(days=20),
            warranty_months=36,
        ),
        "pending": Contract(
            client_id=edu.id,
            number="HT-2026-015",
            title="校园安防补充采购",
            price=Decimal("318000.00"),
            signed_on=now - timedelta(days=30),
            accepted_on=None,
            warranty_months=36,
        ),
        # The offices' contract, on a working-hours clock, reaching the end of its life in a few weeks; its bid
        # names an annual maintenance ceiling (年度维护费最高限价).
        "life": Contract(
            client_id=info.id,
            number="HT-2023-051",
            title="政务服务中心办公设备采购项目",
            price=Decimal("312000.00"),
            signed_on=warranty.add_months(now, -38),
            accepted_on=warranty.add_months(now, -36) + timedelta(days=25),
            warranty_months=36,
            renewal_ceiling=Decimal("20000.00"),
        ),
    }
    for contract in contracts.values():  # the quality deposit: 5 % of the price, returned 12 months after acceptance
        contract.deposit_rate, contract.deposit_months = Decimal("0.05"), 12
    db.session.add_all(contracts.values())
    db.session.flush()

    units = []

    def unit(contract, site, number, serial, price, building, room, **extra):
        units.append(
            Equipment(
                client_id=contract.client_id,
                site_id=site.id,
                contract_id=contract.id,
                model_id=models[number].id,
                serial=serial,
                asset_tag=f"ZC-{len(units) + 1:05d}",
                building=building,
                room=room,
                unit_price=Decimal(price),
                installed_on=(contract.accepted_on or now) - timedelta(days=7),
                **extra,
            )
        )
        return units[-1]

    for s, site in enumerate(edu.sites, start=1):
        # The old project was accepted school by school (分批验收): the warranties end over several months.
        phase = {"warranty_start": three_years + timedelta(days=35 * s - 60)}
        for i in range(1, 13):  # classroom panels; some from an earlier batch, already out of warranty
            extra = {"warranty_start": three_years - timedelta(days=120)} if i % 6 == 0 else phase
            unit(
                contracts["old"],
                site,
                "F86EA",
                f"F86{s:02d}{i:04d}",
                "23800.00",
                "教学楼",
                f"{100 * (1 + i // 5) + i}",
                **extra,
            )
        for i in range(1, 16):
            unit(contracts["old"], site, "M730e", f"M7{s:02d}{i:05d}", "5200.00", "实验楼", "计算机教室一", **phase)
        for i in range(1, 5):
            unit(contracts["old"], site, "DS-2CD3T47", f"HK{s:02d}{i:06d}", "1600.00", "校门", f"{i} 号杆", **phase)
        for i in range(1, 3):
            unit(contracts["old"], site, "S5735-L24T4S", f"HW{s:02d}{i:06d}", "4300.00", "行政楼", "弱电间", **phase)
        for i in range(1, 3):
            unit(
                contracts["old"],
                site,
                "CB-FH52",
                f"EP{s:02d}{i:06d}",
                "6800.00",
                "报告厅",
                "",
                **phase,
                status="under_repair" if i == 2 and s == 2 else "in_service",
            )
        for i in range(1, 9):
            unit(contracts["new"], site, "M730e", f"MN{s:02d}{i:05d}", "5600.00", "实验楼", "计算机教室二")
        for i in range(1, 5):
            unit(contracts["pending"], site, "DS-2CD3T47", f"HP{s:02d}{i:06d}", "1750.00", "操场", f"{i} 号杆")
    for s, site in enumerate(info.sites, start=1):
        for i in range(1, 11):
            unit(
                contracts["year"],
                site,
                "S5735-L24T4S",
                f"HX{s:02d}{i:06d}",
                "4300.00",
                "机房",
                f"A{i:02d} 机柜",
                **({"warranty_months": 36} if i % 4 == 0 else {}),
            )
        for i in range(1, 9):
            unit(contracts["year"], site, "P2422H", f"DL{s:02d}{i:06d}", "1450.00", "监控中心", "")
        for i in range(1, 5):
            unit(contracts["year"], site, "C3KS", f"ST{s:02d}{i:06d}", "8900.00", "机房", "配电区")
    for s, site in enumerate(info.sites, start=1):
        for i in range(1, 9):
            unit(contracts["life"], site, "M730e", f"MG{s:02d}{i:05d}", "5200.00", "办公区", f"{s}0{i} 工位")
        for i in range(1, 3):
            unit(contracts["life"], site, "CB-FH52", f"EG{s:02d}{i:06d}", "6800.00", "会议室", f"{i} 号会议室")
    db.session.add_all(units)
    db.session.flush()

    # Unresolved faults extended a few warranties by 60 days each, visibly.
    extended = [u for u in units if u.contract_id == contracts["old"].id and u.serial.endswith("0003")][:4]
    for u in extended:
        db.session.add(
            WarrantyExtension(
                equipment_id=u.id, days=60, created_by_id=manager_id, reason="故障未能及时修复，按承诺质保期顺延 60 天"
            )
        )
        u.extension_days = 60
    by_id = {c.id: c for c in contracts.values()}
    for u in units:
        c = by_id[u.contract_id]
        u.warranty_end = warranty.warranty_end(
            u.warranty_start or c.accepted_on, u.warranty_months or c.warranty_months, u.extension_days or 0
        )
        u.covered_until = u.warranty_end
    db.session.flush()

    from . import demo_history

    demo_history.working_policy(contracts["life"])
    demo_history.seed(edu, info, contracts, units, now)  # the past first: the present's notifications are newest
    seed_renewals(edu, models, contracts, units, manager_id, now)
    seed_tickets(edu, info, units)
    seed_complaints(edu, info)
    seed_documents(models, contracts)
    seed_inspections(edu, info, contracts)
    demo_history.seed_surveys(datetime.now(UTC).replace(microsecond=0), now)
    seed_notifications()


def seed_documents(models, contracts):
    """Manuals for the models (two versions of one, Chinese and English), general documents, project documents of
    two contracts, one withdrawn manual, and some downloads by the clients' users."""
    import io

    from werkzeug.datastructures import FileStorage

    from .documents import services as d
    from .documents.models import Document
    from .documents.samples import docx, pdf
    from .equipment.io import to_xlsx
    from .uploads import DOCUMENTS, check

    now = datetime.now(UTC)
    by_email = {u.email: u for u in db.session.scalars(db.select(User))}
    manager, agent = by_email["manager@vendor.example.com"], by_email["agent@vendor.example.com"]

    def upload(filename, data):
        storage = FileStorage(io.BytesIO(data), filename=filename)
        return d.store(check(storage, DOCUMENTS, current_app.config["DOCUMENT_MAX_BYTES"]))

    def publish(
        kind,
        zh,
        en,
        language,
        filename,
        data,
        *,
        model=None,
        contract=None,
        label="V1.0",
        days=60,
        description="",
        by=manager,
    ):
        return d.publish(
            by,
            kind=kind,
            title_zh=zh,
            title_en=en,
            language=language,
            description=description,
            model_id=models[model].id if model else None,
            contract_id=contracts[contract].id if contract else None,
            label=label,
            note="",
            file=upload(filename, data),
            now=now - timedelta(days=days),
        )

    panel = publish(
        "installation",
        "希沃 F86EA 安装手册",
        "Seewo F86EA installation manual",
        "zh",
        "希沃F86EA安装手册.pdf",
        pdf("Seewo F86EA", "Installation manual", "Version 1.0"),
        model="F86EA",
        days=400,
        description="壁挂与移动支架两种安装方式、布线要求、首次开机设置。",
    )
    d.add_version(
        panel,
        agent,
        label="V1.2",
        note="增加移动支架安装步骤，更正接线图。",
        file=upload("希沃F86EA安装手册（V1.2）.pdf", pdf("Seewo F86EA", "Installation manual", "Version 1.2")),
        now=now - timedelta(days=45),
    )
    publish(
        "user",
        "希沃 F86EA 用户手册（英文）",
        "Seewo F86EA user manual",
        "en",
        "Seewo F86EA User Manual.pdf",
        pdf("Seewo F86EA", "User manual", "English edition"),
        model="F86EA",
        days=380,
    )
    publish(
        "user",
        "联想 M730e 用户手册",
        "Lenovo M730e user guide",
        "both",
        "ThinkCentre M730e 用户指南.pdf",
        pdf("ThinkCentre M730e", "User guide / Yonghu zhinan"),
        model="M730e",
        label="V3.0",
        days=300,
    )
    publish(
        "maintenance",
        "华为 S5735 交换机维护手册",
        "Huawei S5735 maintenance manual",
        "zh",
        "S5735维护手册.docx",
        docx("华为 S5735-L24T4S 维护手册", "一、日常巡检", "二、配置备份与恢复", "三、常见故障处理"),
        model="S5735-L24T4S",
        label="2025-06",
        days=200,
    )
    publish(
        "authorisation",
        "制造商授权书",
        "Manufacturer's letter of authorisation",
        "zh",
        "制造商授权书.pdf",
        pdf("Letter of authorisation"),
        days=500,
        description="制造商对本项目投标及售后服务的授权，原件已随投标文件提交。",
    )
    publish(
        "white_paper",
        "智慧教室解决方案白皮书",
        "Smart classroom white paper",
        "both",
        "智慧教室白皮书.pdf",
        pdf("Smart classroom", "White paper"),
        days=420,
    )
    sites = [
        ["杭州服务中心", "杭州市西湖区文三路 90 号", "0571-8888 6666", "7×24"],
        ["宁波服务网点", "宁波市鄞州区天童南路 588 号", "0574-8777 5555", "工作日 8:30–17:30"],
    ]
    publish(
        "other",
        "售后服务网点清单",
        "List of service points",
        "zh",
        "售后服务网点清单.xlsx",
        to_xlsx(["网点", "地址", "电话", "服务时间"], sites, "服务网点"),
        days=90,
    )
    publish(
        "technical_plan",
        "智慧教室建设项目技术方案",
        "Smart classroom project: technical plan",
        "zh",
        "HT-2023-017 技术方案.docx",
        docx("智慧教室建设项目技术方案", "一、项目概况", "二、系统架构", "三、实施计划"),
        contract="old",
        days=1150,
    )
    publish(
        "acceptance",
        "智慧教室建设项目验收报告",
        "Smart classroom project: acceptance report",
        "zh",
        "HT-2023-017 验收报告.pdf",
        pdf("HT-2023-017", "Acceptance report"),
        contract="old",
        days=1050,
    )
    publish(
        "training",
        "交互平板使用培训课件",
        "Interactive panel training slides",
        "zh",
        "交互平板培训.pdf",
        pdf("Training", "Interactive panel"),
        contract="old",
        days=1040,
    )
    publish(
        "acceptance",
        "数据中心网络改造项目验收报告",
        "Data centre network project: acceptance report",
        "zh",
        "HT-2025-042 验收报告.pdf",
        pdf("HT-2025-042", "Acceptance report"),
        contract="year",
        days=320,
    )
    old = publish(
        "user",
        "爱普生 CB-FH52 使用说明（旧版）",
        "Epson CB-FH52 instructions (old)",
        "zh",
        "CB-FH52说明书.pdf",
        pdf("Epson CB-FH52", "Instructions"),
        model="CB-FH52",
        days=600,
    )
    old.withdrawn = True
    db.session.flush()

    readers = [by_email[e] for e in ("it@edu.example.com", "school1@edu.example.com", "admin@edu.example.com")]
    for n, reader in enumerate(readers * 3):
        d.record_download(panel, panel.current, reader, now=now - timedelta(days=n * 3 + 1))
    info_admin = by_email["admin@info.example.com"]
    general = db.session.scalar(db.select(Document).where(Document.kind == "authorisation"))
    for n in range(2):
        d.record_download(general, general.current, info_admin, now=now - timedelta(days=n + 2))


def seed_inspections(edu, info, contracts):
    """The smart-classroom contract's plan (quarterly, 4 phone visits, return visits, the end-of-life inspection)
    scheduled from acceptance: the past visits recorded and signed, except the latest round: the first school's
    inspection overdue, the second's recorded with an issue turned into a fault report and waiting for sign-off,
    the third's disputed. Past visits are done a few days before their due date, except those of
    ``past_exceptions`` (late, missed, never signed off). The data centre contract's plan (half-yearly) and a month
    and a half of the resident engineers' service log, mostly signed; the offices' contract's plan (half-yearly, with
    its end-of-life inspection done in its window) and service logs since last January (``seed_service_log``)."""
    from datetime import time

    from .inspections import services as s
    from .inspections.models import ServiceLog, UnitResult, Visit

    day = today()
    now = datetime.now(UTC).replace(microsecond=0)
    by_email = {u.email: u for u in db.session.scalars(db.select(User))}
    manager, agent = by_email["manager@vendor.example.com"], by_email["agent@vendor.example.com"]
    it, school, info_admin = (
        by_email[e] for e in ("it@edu.example.com", "school1@edu.example.com", "admin@info.example.com")
    )
    old, year = contracts["old"], contracts["year"]
    plan, _ = s.save_plan(
        old,
        manager,
        frequency="quarterly",
        months=[],
        phone_visits=4,
        return_visits=True,
        end_of_life=True,
        sites=[],
        today=old.accepted_on,
    )
    s.save_plan(
        year,
        manager,
        frequency="half_yearly",
        months=[],
        phone_visits=4,
        return_visits=True,
        end_of_life=False,
        sites=[],
        today=year.accepted_on,
    )
    life = contracts["life"]
    s.save_plan(
        life,
        manager,
        frequency="half_yearly",
        months=[],
        phone_visits=4,
        return_visits=True,
        end_of_life=True,
        sites=[],
        today=life.accepted_on,
    )
    visits = db.session.scalars(db.select(Visit).where(Visit.due_on < day).order_by(Visit.due_on, Visit.id)).all()
    latest = {}
    for v in visits:
        if v.kind == "inspection":
            latest[v.site_id] = v
    first, second, third = (latest.get(site.id) for site in edu.sites[:3])
    texts = {
        "hardware": "交互平板、计算机、摄像机外观及接口正常；两台计算机风扇积尘已清理。",
        "software": "操作系统补丁与杀毒软件病毒库已更新至最新版本；录播系统运行正常。",
        "risks": "教学楼弱电间温度偏高，夏季存在交换机过热风险。",
        "recommendations": "建议弱电间加装空调或排风扇；下学期开学前对投影机滤网统一清洁。",
    }
    late, missed, unsigned = past_exceptions(visits, (old, life), day)
    tz = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])

    def local(on, hour):
        return min(datetime.combine(on, time(hour), tz).astimezone(UTC), now)

    eol = db.session.scalars(
        db.select(Visit)
        .where(Visit.contract_id == life.id, Visit.kind == "end_of_life", Visit.due_on >= day)
        .order_by(Visit.id)
    ).all()
    for v in visits + eol:
        if (
            v is first
            or v.id in missed
            or (v.kind == "return_visit" and v.client_id == info.id and v.due_on > day - timedelta(days=60))
        ):
            continue  # overdue: not recorded
        recent = v in (second, third)
        results = {}
        if v.on_site:  # every unit of the school checked, as the product records it: each unit's page shows it
            for n, unit in enumerate(s.site_units(v)):
                results[unit.id] = (
                    (UnitResult.ISSUE.value, "触控偶尔失灵，需进一步检测")
                    if recent and n == 2
                    else (UnitResult.FIXED.value, "灯泡亮度不足，已现场清洁滤网")
                    if recent and n == 5
                    else (UnitResult.OK.value, "")
                )
        method = "phone" if v.kind == "phone_visit" else "on_site"
        if v.id in late:
            done_on = min(v.due_on + timedelta(days=6 + v.id % 4), day)
        elif v.kind == "end_of_life":  # the full inspection within the 3 months before the end of the system's life
            done_on = max(v.window_start, day - timedelta(days=12 + v.id % 3))
        else:  # on time, a few days before the due date, within its window
            done_on = min(max(v.window_start, v.due_on - timedelta(days=1 + v.id % 5)), day)
        recorded = local(done_on, 17)
        s.record(
            v,
            agent,
            done_on=done_on,
            method=method,
            engineers="张伟、王强" if method == "on_site" else "张伟",
            hardware=texts["hardware"] if method == "on_site" else "",
            software=texts["software"] if method == "on_site" else "",
            risks=texts["risks"] if method == "on_site" else "",
            recommendations=texts["recommendations"] if method == "on_site" else "用户反馈设备使用正常。",
            results=results,
            now=recorded,
        )
        db.session.flush()
        if v is second:
            row = next(r for r in v.units if r.result == UnitResult.ISSUE.value)
            found = s.open_ticket(row, agent, now=recorded)
            if recorded + timedelta(hours=20) < now:  # handled remotely since (closed by itself, unconfirmed)
                from .tickets import services as t

                t.respond(
                    found, agent, "已根据巡检记录登记，先远程检查触控驱动。", now=recorded + timedelta(minutes=15)
                )
                t.propose(found, agent, "远程更新触控驱动并重新校准。", now=recorded + timedelta(minutes=40))
                t.resolve(
                    found,
                    agent,
                    problem_kind="software",
                    cause="触控驱动版本过旧。",
                    solution="更新驱动并校准。",
                    loss="无",
                    now=recorded + timedelta(hours=20),
                    today=(recorded + timedelta(hours=20)).date(),
                )
            continue  # waits for the school's sign-off
        if v is third:
            s.dispute(v, it, reason="记录中的巡检日期与实际到校日期不符，实际为次日上午。")
            continue
        if v.id in unsigned:
            continue  # recorded, never signed off by the school
        signer = info_admin if v.client_id == info.id else (school if v.site_id == school.site_id else it)
        satisfaction = (3 if v.kind == "inspection" else 4) if v.id in late else 4 if v.id % 4 == 0 else 5
        s.sign(
            v,
            signer,
            name=signer.name,
            satisfaction=satisfaction,
            comment="巡检晚于约定时间。" if v.id in late else "",
            now=local(done_on + timedelta(days=1 + v.id % 3), 10),
        )
    seed_service_log(contracts, edu, info, agent, it, info_admin, day, now)

    site = info.sites[0]
    start = (day.replace(day=1) - timedelta(days=1)).replace(day=1)
    works = [
        "核心交换机配置备份，检查端口错误计数",
        "机房巡视，记录温湿度及 UPS 负载",
        "处理财务科网络中断，更换跳线",
        "服务器补丁更新（维护窗口内）",
        "配合信息中心完成等保测评资料整理",
    ]
    current = start
    n = 0
    while current <= day:
        if current.weekday() < 5:
            entry = ServiceLog(
                contract_id=year.id,
                client_id=info.id,
                site_id=site.id,
                work_date=current,
                engineers="刘洋、陈静" if n % 3 else "刘洋",
                headcount=2 if n % 3 else 1,
                time_in=time(8, 30),
                time_out=time(17, 30) if n % 4 else time(18, 10),
                place="信息中心机房",
                work_done=works[n % len(works)],
                result="完成，运行正常",
                recorded_by_id=agent.id,
                recorded_at=now,
            )
            if current < day - timedelta(days=3):
                entry.signed_name, entry.signed_by_id, entry.signed_at = info_admin.name, info_admin.id, now
            db.session.add(entry)
            n += 1
        current += timedelta(days=1)
    db.session.flush()


def past_exceptions(visits, contracts, day):
    """The visits of the past that did not go as promised, per contract: last year's and this year's second
    inspection done late, a phone visit and a return visit done late last year, one inspection missed last year
    and last year's last one never signed off."""
    late, missed, unsigned = set(), set(), set()
    settled = day - timedelta(days=20)

    def of(contract, kind, year):
        return [
            v
            for v in visits
            if v.contract_id == contract.id and v.kind == kind and v.due_on.year == year and v.due_on < settled
        ]

    for contract in contracts:
        for year in (day.year - 1, day.year):
            inspections = of(contract, "inspection", year)
            if len(inspections) > 2:
                late.add(inspections[1].id)
        inspections = of(contract, "inspection", day.year - 1)
        if len(inspections) > 3:
            missed.add(inspections[len(inspections) // 2].id)
            unsigned.add(inspections[-1].id)
        for kind, n in (("phone_visit", 1), ("return_visit", 2)):
            done = of(contract, kind, day.year - 1)
            if len(done) > n:
                late.add(done[n].id)
    return late, missed, unsigned


def seed_service_log(contracts, edu, info, agent, it, info_admin, day, now):
    """The resident engineer's log at the offices (every Wednesday since last January) and the schools' monthly
    maintenance day (the first Tuesday of each month): signed by the client within two days, except a few."""
    from datetime import time

    from .inspections.models import ServiceLog

    tz = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    works = [
        "更换办公区打印机硒鼓，清理卡纸",
        "检查会议室投影及扩声设备",
        "办公电脑系统补丁更新与病毒库升级",
        "新员工电脑开通及网络配置",
        "会议室视频会议保障",
    ]
    current, n = date(day.year - 1, 1, 1), 0
    while current < day - timedelta(days=7):
        weekly = current.weekday() == 2
        monthly = current.weekday() == 1 and current.day <= 7
        for contract, site, signer in (
            (contracts["life"], info.sites[1], info_admin) if weekly else (None,) * 3,
            (contracts["old"], edu.sites[1], it) if monthly else (None,) * 3,
        ):
            if contract is None:
                continue
            at = datetime.combine(current, time(18), tz).astimezone(UTC)
            entry = ServiceLog(
                contract_id=contract.id,
                client_id=contract.client_id,
                site_id=site.id,
                work_date=current,
                engineers="陈静" if weekly else "张伟、王强",
                headcount=1 if weekly else 2,
                time_in=time(9, 0),
                time_out=time(17, 0) if n % 5 else time(18, 30),
                place="政务服务中心 5 层" if weekly else "各校巡回",
                work_done=works[n % len(works)],
                result="完成，运行正常",
                recorded_by_id=agent.id,
                recorded_at=at,
            )
            if n % 13 != 6:  # a few never signed
                entry.signed_name, entry.signed_by_id = signer.name, signer.id
                entry.signed_at = min(at + timedelta(days=1 + n % 2), now)
            db.session.add(entry)
            n += 1
        current += timedelta(days=1)
    db.session.flush()


PARTS = [
    ("触控笔", "Stylus", "300.00", "330.00", ["F86EA"]),
    ("电源适配器", "Power adapter", "150.00", "165.00", ["M730e", "P2422H"]),
    ("HDMI 高清线（5 米）", "HDMI cable (5 m)", "200.00", "220.00", []),
    ("平板遥控器", "Panel remote control", "80.00", "88.00", ["F86EA"]),
    ("投影机灯泡", "Projector lamp", "1200.00", "1320.00", ["CB-FH52"]),
]


def seed_renewals(edu, models, contracts, units, manager_id, now):
    """The price list, and two quotes: one waiting for the vendor, one issued and waiting for the client."""
    from .renewals import services
    from .renewals.models import SparePart

    for zh, en, price, market, fits in PARTS:
        db.session.add(
            SparePart(
                name_zh=zh,
                name_en=en,
                unit_price=Decimal(price),
                market_price=Decimal(market),
                models=[models[n] for n in fits],
            )
        )
    admin = db.session.scalar(db.select(User).where(User.email == "admin@edu.example.com"))
    expiring = [u for u in units if u.contract_id == contracts["old"].id and u.serial.startswith("EP")][:4]
    services.request_quote(admin, edu.id, 1, units=expiring, note="报告厅投影机即将过保，请报续保价格。", today=now)
    panels = [u for u in units if u.contract_id == contracts["old"].id and u.serial.startswith("F8601")][:6]
    quote = services.request_quote(admin, edu.id, 2, units=panels, today=now)
    manager = db.session.get(User, manager_id)
    services.issue(quote, manager, now + timedelta(days=30), "含每季度巡检一次。", today=now)
    # Last month the bureau renewed three panels whose warranty had ended: they show as renewed.
    lapsed = [u for u in units if u.serial.startswith("F860") and u.warranty_end and u.warranty_end < now][:3]
    renewed = services.request_quote(admin, edu.id, 1, units=lapsed, today=now)
    services.issue(renewed, manager, now + timedelta(days=30), today=now)
    services.accept(renewed, admin, now)
    db.session.flush()


def seed_tickets(edu, info, units):
    """Fault reports in every state, filed at realistic moments before now: some running, one at risk, one
    breached, one waiting for the client, one with a spare unit on loan, resolved ones waiting for the client's
    confirmation, closed and rated ones, and a unit due for replacement after the same fault three times."""

    from .tickets import services as t

    now = datetime.now(UTC)
    users = {
        u.email.split("@")[0] + "@" + u.email.split("@")[1].split(".")[0]: u
        for u in db.session.scalars(db.select(User))
    }
    school, it, info_admin = users["school1@edu"], users["it@edu"], users["admin@info"]
    agent, manager = users["agent@vendor"], users["manager@vendor"]
    school_units = [u for u in units if u.site_id == school.site_id and u.status == "in_service"]
    info_units = [u for u in units if u.client_id == info.id]
    edu_units = [u for u in units if u.client_id == edu.id and u.site_id != school.site_id]

    def ago(**kw):
        return now - timedelta(**kw)

    def file(by, unit, at, severity, title, description, kind="unknown", channel="portal", text=""):
        site = unit.site if unit else db.session.get(Site, by.site_id or edu.sites[1].id)
        return t.file_ticket(
            by,
            site,
            unit,
            text,
            severity=severity,
            kind=kind,
            channel=channel,
            title=title,
            description=description,
            contact_name=by.name,
            contact_phone="0571-8888 6666",
            now=at,
            today=at.date(),
        )

    # Just filed, nobody has answered yet.
    file(
        school,
        school_units[0],
        ago(minutes=8),
        "A",
        "302教室触控一体机黑屏",
        "上课时屏幕突然黑屏，指示灯为红色，重启无效。",
        "hardware",
    )
    # Answered, the proposal is late (breached) and the on-site clock at risk.
    late = file(
        it, edu_units[0], ago(minutes=100), "B", "录播教室投影画面闪烁", "投影画面每隔几分钟闪烁一次，影响录课。"
    )
    t.respond(late, agent, "已远程查看，初步判断为信号线接触不良，请勿频繁插拔。", now=ago(minutes=85))
    # Being handled remotely.
    remote = file(school, school_units[1], ago(hours=3), "C", "白板软件无法启动", "希沃白板打开后闪退。", "software")
    t.respond(remote, agent, "请提供软件版本号，我们远程协助。", now=ago(hours=2, minutes=50))
    t.propose(remote, agent, "卸载后安装 5.2.4 版本，并清理用户缓存。", now=ago(hours=2, minutes=20))
    # On site, arrived by scanning the label.
    visit = file(
        it,
        edu_units[1],
        ago(hours=1, minutes=30),
        "B",
        "机房交换机端口大量丢包",
        "三楼机房交换机 1-8 口丢包严重。",
        "hardware",
        channel="phone",
    )
    t.respond(visit, agent, "已安排工程师携带备件前往。", now=ago(hours=1, minutes=15))
    t.arrive(visit, agent, ago(minutes=40), "到达现场，开始排查。", scanned=True, now=ago(minutes=40))
    # Waiting for the client: the resolution clock is paused.
    waiting = file(
        school,
        school_units[2],
        ago(days=1, hours=2),
        "C",
        "实验室平板无法连接无线网络",
        "实验室 6 台平板均连不上校园网。",
        "configuration",
    )
    t.respond(waiting, agent, "疑似 MAC 地址未登记，需学校网管配合。", now=ago(days=1, hours=1, minutes=45))
    t.propose(waiting, agent, "在无线控制器上登记平板 MAC 地址并下发策略。", now=ago(days=1, hours=1, minutes=30))
    t.wait(waiting, agent, "请学校网管提供无线控制器的管理账号或到场配合。", now=ago(days=1))
    # A spare unit on loan while the original is repaired.
    loan = file(
        info_admin,
        info_units[0],
        ago(days=2),
        "A",
        "核心服务器硬盘故障",
        "RAID 阵列告警，一块硬盘离线。",
        "hardware",
        channel="phone",
    )
    t.respond(loan, agent, "已确认硬盘故障，安排备机。", now=ago(days=2) + timedelta(minutes=20))
    t.arrive(loan, agent, ago(days=2) + timedelta(minutes=100), "到达机房。", now=ago(days=2) + timedelta(minutes=100))
    t.lend_spare(loan, agent, "备用服务器 R750 · SN BJ-2026-007", "原机送修。", now=ago(days=1, hours=20))
    # Resolved, waiting for the client's confirmation; a part replaced.
    done = file(
        school, school_units[3], ago(days=2, hours=5), "C", "教师机键盘失灵", "讲台电脑键盘部分按键无反应。", "hardware"
    )
    t.respond(done, agent, "建议先更换键盘测试。", now=ago(days=2, hours=4, minutes=40))
    t.propose(done, agent, "携带备用键盘上门更换。", now=ago(days=2, hours=4, minutes=20))
    t.arrive(done, agent, ago(days=2, hours=3), now=ago(days=2, hours=3))
    t.resolve(
        done,
        agent,
        problem_kind="hardware",
        cause="键盘进水导致按键失灵。",
        solution="更换键盘并测试正常。",
        loss="无",
        parts=[{"description": "USB 键盘", "quantity": 1}],
        now=ago(days=2, hours=2),
        today=ago(days=2).date(),
    )
    # Closed and rated.
    rated = file(it, edu_units[2], ago(days=12), "D", "咨询：如何批量导出课堂录像", "需要按学期导出录像。", "operation")
    t.respond(rated, agent, "后台“资源管理—批量导出”可按日期筛选导出。", now=ago(days=12) + timedelta(minutes=12))
    t.resolve(
        rated,
        agent,
        problem_kind="operation",
        cause="操作不熟悉。",
        solution="电话指导完成批量导出。",
        loss="无",
        now=ago(days=12) + timedelta(minutes=30),
        today=ago(days=12).date(),
    )
    t.confirm(rated, it, 5, "响应很快，讲解清楚。", now=ago(days=11))
    # Resolved eight days ago and never confirmed: shown closed, and the first sweep records it.
    silent = file(school, school_units[4], ago(days=9), "C", "广播系统有杂音", "早操广播有电流声。", "hardware")
    t.respond(silent, agent, "将安排工程师检查功放接地。", now=ago(days=9) + timedelta(minutes=25))
    t.arrive(silent, agent, ago(days=9) + timedelta(minutes=95), now=ago(days=9) + timedelta(minutes=95))
    t.resolve(
        silent,
        agent,
        problem_kind="hardware",
        cause="功放接地不良。",
        solution="重新接地，杂音消除。",
        loss="无",
        now=ago(days=8),
        today=ago(days=8).date(),
    )
    # The same unit, the same hardware fault, a third time: replacement due. The last one stopped work (+60 days).
    flaky = edu_units[3]
    for n, days in enumerate((60, 30)):
        old = file(it, flaky, ago(days=days), "B", "触控失灵", "屏幕触控间歇性失灵。", "hardware")
        t.respond(old, agent, "远程重置触控驱动。", now=ago(days=days) + timedelta(minutes=20))
        t.propose(old, agent, "远程重新校准触控框。", now=ago(days=days) + timedelta(minutes=45))
        t.resolve(
            old,
            agent,
            problem_kind="hardware",
            cause="触控框老化。",
            solution="重新校准触控框。",
            loss="无",
            now=ago(days=days) + timedelta(hours=20),
            today=ago(days=days).date(),
        )
        t.confirm(old, it, 3 + n, "", now=ago(days=days - 1))
    again = file(it, flaky, ago(days=4), "A", "触控完全失灵", "第三次出现触控失灵，整堂课无法使用。", "hardware")
    t.respond(again, agent, "已登记为重复故障。", now=ago(days=4) + timedelta(minutes=25))
    t.arrive(again, agent, ago(days=4) + timedelta(minutes=80), now=ago(days=4) + timedelta(minutes=80))
    t.resolve(
        again,
        manager,
        problem_kind="hardware",
        cause="触控框硬件故障，无法修复。",
        solution="临时更换触控框，申请整机更换。",
        loss="影响 3 个班级 2 天的教学。",
        work_stopped=True,
        now=ago(days=1, hours=6),
        today=ago(days=1).date(),
    )
    # Equipment that is not in the registry.
    file(
        school,
        None,
        ago(minutes=50),
        "D",
        "走廊电子班牌不显示课表",
        "二楼走廊电子班牌显示空白。",
        text="电子班牌（型号未知），二楼走廊",
    )
    db.session.flush()


def seed_complaints(edu, info):
    """Complaints in each state: waiting for routing, overdue, answered, reopened after an answer that did not
    satisfy, and closed satisfied after two rounds."""

    from .complaints import services as c
    from .tickets.models import Ticket

    now = datetime.now(UTC)
    by_email = {u.email: u for u in db.session.scalars(db.select(User))}
    admin, it, school = (
        by_email["admin@edu.example.com"],
        by_email["it@edu.example.com"],
        by_email["school1@edu.example.com"],
    )
    info_admin, agent, manager = (
        by_email["admin@info.example.com"],
        by_email["agent@vendor.example.com"],
        by_email["manager@vendor.example.com"],
    )
    late_ticket = db.session.scalar(db.select(Ticket).where(Ticket.title == "录播教室投影画面闪烁"))
    school_site = db.session.get(Site, school.site_id)

    c.file_complaint(
        school,
        site=school_site,
        ticket=None,
        category="attitude",
        description="电话报修时客服语气生硬，没有说明处理时间。",
        now=now - timedelta(hours=2),
    )
    c.file_complaint(
        it,
        site=late_ticket.site,
        ticket=late_ticket,
        category="response_time",
        description="录播教室故障已超过 1 小时仍未给出解决方案，影响录课。",
        now=now - timedelta(hours=30),
    )
    answered = c.file_complaint(
        info_admin,
        site=None,
        ticket=None,
        category="billing",
        description="备件收费与价格表不一致。",
        now=now - timedelta(days=2),
    )
    c.assign(answered, manager, agent, now=now - timedelta(days=2) + timedelta(hours=1))
    c.answer(
        answered, agent, "经核实为开票错误，已重新开具发票并退还差价 120 元。", now=now - timedelta(days=1, hours=20)
    )
    reopened = c.file_complaint(
        admin,
        site=None,
        ticket=None,
        category="repair_quality",
        description="同一台触控一体机三次出现触控失灵。",
        now=now - timedelta(days=3),
    )
    c.assign(reopened, manager, agent, now=now - timedelta(days=3) + timedelta(hours=2))
    c.answer(reopened, agent, "已重新校准触控框并观察一周。", now=now - timedelta(days=2, hours=12))
    c.reject(reopened, admin, "校准只是临时办法，按合同应整机更换。", now=now - timedelta(hours=10))
    closed = c.file_complaint(
        it,
        site=None,
        ticket=None,
        category="response_time",
        description="周末报修无人接听。",
        now=now - timedelta(days=20),
    )
    c.assign(closed, manager, manager, now=now - timedelta(days=20) + timedelta(hours=1))
    c.answer(closed, manager, "已核查值班表，周末热线转接故障已修复。", now=now - timedelta(days=19, hours=20))
    c.reject(closed, it, "希望提供值班电话备用号码。", now=now - timedelta(days=19))
    c.assign(closed, manager, agent, now=now - timedelta(days=19) + timedelta(hours=1))
    c.answer(
        closed, agent, "已增加备用值班电话 0571-8888 0000，并在门户首页公布。", now=now - timedelta(days=18, hours=22)
    )
    c.close(closed, it, 5, "问题已解决。", now=now - timedelta(days=18))
    db.session.flush()


def seed_notifications(unread=3):
    """The demo's own steps told their people through ``tell`` (so each notification links to a real page its
    reader may open): each account keeps its newest few unread (at most half) and has read the rest; the sign-off requests of
    the visits signed since are gone. The past is told in the portal only: nobody is e-mailed about it when the
    worker starts."""
    from .inspections.models import Visit
    from .notify.models import Delivery, Notification
    from .notify.services import mark_read

    signed = db.select(Visit.id).where(Visit.status == "signed")
    db.session.execute(
        db.delete(Notification).where(  # years of visits signed since: no news any more
            Notification.kind == "visit.signoff", Notification.subject_id.in_(signed)
        )
    )
    from .surveys.models import Survey
    from .types import utcnow

    done = db.select(Survey.id).where(sa.or_(Survey.answered_at.is_not(None), Survey.expires_at <= utcnow()))
    db.session.execute(
        db.delete(Notification).where(  # surveys answered or expired since: no news any more
            Notification.kind == "survey.invite", Notification.subject_id.in_(done)
        )
    )
    for user in db.session.scalars(db.select(User).order_by(User.id)):
        ids = db.session.scalars(
            db.select(Notification.id).where(Notification.user_id == user.id).order_by(Notification.id.desc())
        ).all()
        mark_read(user, ids[min(unread, max(1, len(ids) // 2)) :])
    db.session.execute(db.delete(Delivery).where(Delivery.channel == "email"))
    db.session.flush()
