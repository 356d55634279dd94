"""Demo data: a vendor with its service team, two clients with their sites, one account per role."""
from .auth.models import User
from .cli import DEMO_PASSWORD
from .extensions import db
from .orgs.models import Client, Site, TeamMember, Vendor

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
        TeamMember(name="李娜", role_zh="客服经理", role_en="Customer service manager", phone="138 0000 0002", position=2),
        TeamMember(name="张伟", role_zh="技术工程师", role_en="Service engineer", phone="138 0000 0003", position=3),
        TeamMember(name="陈静", role_zh="售后客服", role_en="Service desk agent", phone="400-800-1234", position=4),
    ]
    db.session.add(vendor)

    edu = Client(
        name_zh="示范区教育局",
        name_en="Demo District Education Bureau",
        contact_name="刘主任",
        contact_phone="010-6000 1000",
        address="示范区政务大楼 3 层",
    )
    edu.sites = [Site(name_zh=zh, name_en=en, address=addr, contact_name="", contact_phone="") for zh, en, addr in EDU_SCHOOLS]
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
    ]
    for email, name, role, client, site in people:
        user = User(
            email=email, name=name, role=role, phone="", client_id=client.id if client else None,
            site_id=site.id if site else None,
        )
        user.set_password(DEMO_PASSWORD)
        db.session.add(user)
    db.session.flush()
