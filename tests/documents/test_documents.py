"""Documents: publishing and its checks, version history, who sees what (lists, pages, files), the download's
name and record, the unit and contract pages."""

import hashlib
import io
from urllib.parse import unquote

import pytest
import sqlalchemy as sa

from portal.documents.models import Document, DocumentDownload, DocumentVersion
from portal.documents.samples import docx, pdf
from portal.extensions import db


def form(**changes):
    data = {
        "kind": "installation",
        "title_zh": "交互平板安装手册",
        "title_en": "Panel installation manual",
        "language": "zh",
        "target": "general",
        "model": "",
        "contract": "",
        "description": "",
        "label": "V1.0",
        "note": "",
    }
    data.update(changes)
    return data


def with_file(data, name="交互平板安装手册.pdf", content=None):
    return {**data, "file": (io.BytesIO(pdf("manual") if content is None else content), name)}


def rows(app, model):
    with app.app_context():
        return db.session.scalars(sa.select(model)).all()


def stored_files(app):
    from pathlib import Path

    root = Path(app.config["STORAGE_DIR"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_vendor_staff_publish_a_manual_for_a_model(app, world):
    agent = app.test_client(user=world.agent)
    content = pdf("F86EA", "installation")
    response = agent.post(
        "/documents/new?lang=en",
        data=with_file(form(target="model", model=world.model.id), content=content),
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    doc_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        document = db.session.get(Document, doc_id)
        version = document.current
        assert (document.model_id, document.contract_id, document.kind, document.language) == (
            world.model.id,
            None,
            "installation",
            "zh",
        )
        assert (version.seq, version.label, version.filename, version.file_type) == (
            1,
            "V1.0",
            "交互平板安装手册.pdf",
            "pdf",
        )
        assert version.sha256 == hashlib.sha256(content).hexdigest() and version.size == len(content)
        assert version.uploaded_by_id == world.agent.id
        key = version.storage_key
    path = app.config["STORAGE_DIR"] + "/" + key
    assert open(path, "rb").read() == content
    assert "交互平板" not in key and "pdf" not in key  # stored under a generated name
    page = agent.get(f"/documents/{doc_id}?lang=en").get_data(as_text=True)
    assert (
        "Panel installation manual" in page and "V1.0" in page and "“Panel installation manual” is published." in page
    )


def test_a_refused_file_keeps_what_was_typed_and_stores_nothing(app, world):
    agent = app.test_client(user=world.agent)
    before = len(stored_files(app))
    response = agent.post(
        "/documents/new?lang=en",
        data=with_file(form(title_zh="我的手册"), "手册.pdf", b"not a pdf"),
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "“手册.pdf” is not a real PDF file: its content does not match its name." in page
    assert 'value="我的手册"' in page and 'value="V1.0"' in page
    assert len(stored_files(app)) == before and len(rows(app, Document)) == 4  # the world's four


def test_each_field_says_what_is_wrong(app, world):
    agent = app.test_client(user=world.agent)
    response = agent.post(
        "/documents/new?lang=en",
        data=form(kind="", title_zh="", label="", target="model"),
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for message in (
        "Choose the kind of document.",
        "Give the document a Chinese title.",
        "Give the version, e.g. V1.0.",
        "Choose the equipment model.",
        "Choose a file.",
    ):
        assert message in page, message
    response = agent.post(
        "/documents/new?lang=en",
        data=with_file(form(target="contract", contract=999_999)),
        content_type="multipart/form-data",
    )
    assert "Choose the contract." in response.get_data(as_text=True)


def test_fields_valid_but_file_chosen_again_after_an_error_elsewhere(app, world):
    agent = app.test_client(user=world.agent)
    before = stored_files(app)
    response = agent.post(
        "/documents/new?lang=en", data=with_file(form(title_zh="")), content_type="multipart/form-data"
    )
    assert "Choose the file again" in response.get_data(as_text=True)
    assert stored_files(app) == before and len(rows(app, Document)) == 4  # nothing stored for a refused form


def test_a_request_larger_than_the_portal_accepts_gets_a_page_in_the_users_language(app, world):
    app.config["MAX_CONTENT_LENGTH"] = 2000
    response = app.test_client(user=world.agent).post(
        "/documents/new?lang=en",
        data=with_file(form(), content=pdf("x") + b" " * 5000),
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert "larger than the portal accepts" in response.get_data(as_text=True)


def test_an_oversize_file_within_the_request_limit_is_refused_on_its_field(app, world):
    app.config["DOCUMENT_MAX_BYTES"] = 1024 * 1024
    response = app.test_client(user=world.agent).post(
        "/documents/new?lang=en",
        data=with_file(form(), content=pdf("x") + b" " * (1024 * 1024)),
        content_type="multipart/form-data",
    )
    assert response.status_code == 200 and "is larger than 1 MB." in response.get_data(as_text=True)


def test_versions_are_kept_and_the_newest_is_offered_first(app, world):
    agent = app.test_client(user=world.agent)
    doc = world.doc_a
    first = agent.get(f"/documents/{doc.id}/download").get_data()
    v2 = docx("第二版")
    response = agent.post(
        f"/documents/{doc.id}/versions",
        data={"label": "V2.0", "note": "重写第三章", "file": (io.BytesIO(v2), "甲技术方案 V2.docx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    with app.app_context():
        document = db.session.get(Document, doc.id)
        assert [(v.seq, v.label) for v in document.versions] == [(2, "V2.0"), (1, "V1.0")]
        assert document.current.label == "V2.0" and document.current.file_type == "docx"
        old_id = document.versions[1].id
    newest = agent.get(f"/documents/{doc.id}/download")
    assert newest.get_data() == v2 and "docx" in newest.headers["Content-Disposition"]
    assert agent.get(f"/documents/{doc.id}/versions/{old_id}/download").get_data() == first
    page = app.test_client(user=world.a_staff).get(f"/documents/{doc.id}?lang=en").get_data(as_text=True)
    assert page.index("V2.0") < page.index("V1.0") and "重写第三章" in page and "Newest" in page


def test_a_version_label_or_file_given_twice_is_refused(app, world):
    agent = app.test_client(user=world.agent)
    doc = world.doc_a
    response = agent.post(
        f"/documents/{doc.id}/versions?lang=en",
        data={"label": "v1.0", "file": (io.BytesIO(pdf("other")), "x.pdf")},
        content_type="multipart/form-data",
    )
    assert "Version v1.0 already exists" in response.get_data(as_text=True)
    with app.app_context():
        same = open(
            app.config["STORAGE_DIR"] + "/" + db.session.get(DocumentVersion, world.version_a.id).storage_key, "rb"
        ).read()
    files = len(stored_files(app))
    response = agent.post(
        f"/documents/{doc.id}/versions?lang=en",
        data={"label": "V1.1", "file": (io.BytesIO(same), "again.pdf")},
        content_type="multipart/form-data",
    )
    assert "This file is the same as version V1.0." in response.get_data(as_text=True)
    assert len(stored_files(app)) == files  # the refused copy was removed from storage
    assert len(rows(app, DocumentVersion)) == 4


def titles(app, user, query=""):
    page = app.test_client(user=user).get(f"/documents/{query}").get_data(as_text=True)
    return {
        t for t in ("厂商授权函", "甲技术方案", "甲二验收报告", "乙技术方案", "乙型号手册", "通用型号手册") if t in page
    }


def test_who_sees_which_documents(app, world, make):
    model_b = make.model(manufacturer="山特", model_number="C3KS")
    make.unit(world.contract_b, world.b_site, model_b, serial="B-UPS-1")
    make.document(world.manager, model=model_b, title_zh="乙型号手册", filename="ups.pdf")
    make.document(world.manager, model=world.model, title_zh="通用型号手册", filename="panel.pdf")  # everyone owns it
    everything = {"厂商授权函", "甲技术方案", "甲二验收报告", "乙技术方案", "乙型号手册", "通用型号手册"}
    assert titles(app, world.manager) == everything and titles(app, world.agent) == everything
    assert titles(app, world.a_admin) == {"厂商授权函", "甲技术方案", "甲二验收报告", "通用型号手册"}
    assert titles(app, world.a_staff) == {"厂商授权函", "甲技术方案", "甲二验收报告", "通用型号手册"}
    assert titles(app, world.a_school) == {"厂商授权函", "甲技术方案", "通用型号手册"}
    assert titles(app, world.a_school2) == {"厂商授权函", "甲二验收报告", "通用型号手册"}
    assert titles(app, world.b_staff) == {"厂商授权函", "乙技术方案", "乙型号手册", "通用型号手册"}
    # A filter naming another client's model or contract finds nothing more.
    assert titles(app, world.a_admin, f"?model={model_b.id}") == set()
    assert titles(app, world.a_admin, f"?contract={world.contract_b.id}") == set()


def test_withdrawn_documents_are_hidden_from_clients_with_their_files(app, world):
    manager = app.test_client(user=world.manager)
    doc = world.doc_a
    assert manager.post(f"/documents/{doc.id}/withdraw", data={"withdrawn": "1"}).status_code == 302
    staff = app.test_client(user=world.a_staff)
    for url in (
        f"/documents/{doc.id}",
        f"/documents/{doc.id}/download",
        f"/documents/{doc.id}/versions/{world.version_a.id}/download",
    ):
        assert staff.get(url).status_code == 404, url
        assert manager.get(url).status_code == 200, url
    assert "甲技术方案" not in staff.get("/documents/").get_data(as_text=True)
    assert "甲技术方案" not in manager.get("/documents/").get_data(as_text=True)  # published ones by default
    assert "甲技术方案" in manager.get("/documents/?state=withdrawn").get_data(as_text=True)
    assert manager.post(f"/documents/{doc.id}/withdraw", data={"withdrawn": "0"}).status_code == 302
    assert staff.get(f"/documents/{doc.id}").status_code == 200


def test_a_version_is_found_only_under_its_own_document(app, world):
    staff = app.test_client(user=world.a_staff)
    assert staff.get(f"/documents/{world.doc_a.id}/versions/{world.version_a.id}/download").status_code == 200
    assert staff.get(f"/documents/{world.doc_a.id}/versions/{world.version_b.id}/download").status_code == 404
    assert staff.get(f"/documents/{world.doc_a.id}/versions/{world.version_a2.id}/download").status_code == 404


def test_download_keeps_the_chinese_name_for_every_browser(app, world, make):
    doc = make.document(world.manager, filename="希沃 F86EA 安装手册（第2版）.pdf")
    response = app.test_client(user=world.a_school).get(f"/documents/{doc.id}/download")
    header = response.headers["Content-Disposition"]
    assert header.startswith("attachment; ")
    encoded = header.split("filename*=UTF-8''", 1)[1]
    assert unquote(encoded) == "希沃 F86EA 安装手册（第2版）.pdf" and " " not in encoded and '"' not in encoded
    assert 'filename="F86EA 2.pdf"' in header  # the ASCII part, for a client that reads only filename=
    assert response.mimetype == "application/pdf" and response.headers["X-Content-Type-Options"] == "nosniff"
    assert int(response.headers["Content-Length"]) == len(response.get_data())
    only_chinese = make.document(world.manager, filename="授权书.pdf")
    header = (
        app.test_client(user=world.a_school)
        .get(f"/documents/{only_chinese.id}/download")
        .headers["Content-Disposition"]
    )
    assert f'filename="document-{only_chinese.id}-1.pdf"' in header and unquote(header.split("''")[1]) == "授权书.pdf"


def test_a_name_with_quotes_cannot_break_the_header(app, world, make):
    doc = make.document(world.manager, filename='a"; filename=evil.exe; x=".pdf')
    header = app.test_client(user=world.a_staff).get(f"/documents/{doc.id}/download").headers["Content-Disposition"]
    assert header.count('"') == 2 and "evil.exe;" not in header


def test_each_download_is_recorded_and_counted(app, world):
    for user in (world.a_staff, world.a_staff, world.a_school):
        assert app.test_client(user=user).get(f"/documents/{world.doc_a.id}/download").status_code == 200
    assert app.test_client(user=world.a_staff).head(f"/documents/{world.doc_a.id}/download").status_code == 200
    with app.app_context():
        downloads = db.session.scalars(sa.select(DocumentDownload).order_by(DocumentDownload.id)).all()
        assert [(d.user_id, d.version_id, d.document_id) for d in downloads] == [
            (world.a_staff.id, world.version_a.id, world.doc_a.id)
        ] * 2 + [(world.a_school.id, world.version_a.id, world.doc_a.id)]
        assert all(d.at is not None for d in downloads)
        assert db.session.get(Document, world.doc_a.id).download_count == 3
        assert db.session.get(DocumentVersion, world.version_a.id).download_count == 3
    page = app.test_client(user=world.manager).get(f"/documents/{world.doc_a.id}?lang=en").get_data(as_text=True)
    assert "Bureau A" in page and world.a_school.name in page and ">3<" in page.replace(" ", "")
    client_page = app.test_client(user=world.a_staff).get(f"/documents/{world.doc_a.id}?lang=en").get_data(as_text=True)
    assert "Latest downloads" not in client_page and world.a_school.name not in client_page


def test_the_unit_page_offers_its_models_manuals_and_its_contracts_documents(app, world, make):
    other_model = make.model(manufacturer="戴尔", model_number="P2422H")
    make.document(
        world.manager,
        model=world.model,
        title_zh="平板用户手册",
        title_en="Panel user manual",
        kind="user",
        language="en",
        filename="manual-en.pdf",
    )
    make.document(
        world.manager,
        model=world.model,
        title_zh="平板安装手册",
        title_en="Panel install guide",
        kind="installation",
        filename="安装.pdf",
    )
    make.document(world.manager, model=other_model, title_zh="显示器手册", filename="monitor.pdf")
    page = app.test_client(user=world.a_school).get(f"/equipment/{world.unit_a1.id}?lang=zh").get_data(as_text=True)
    assert "平板用户手册" in page and "平板安装手册" in page and "甲技术方案" in page
    assert "显示器手册" not in page and "甲二验收报告" not in page and "厂商授权函" not in page
    assert page.index("平板安装手册") < page.index("平板用户手册")  # the reader's language first among manuals
    english = app.test_client(user=world.a_school).get(f"/equipment/{world.unit_a1.id}?lang=en").get_data(as_text=True)
    assert english.index("Panel user manual") < english.index("Panel install guide")
    contract_page = app.test_client(user=world.a_admin).get(f"/contracts/{world.contract_a.id}").get_data(as_text=True)
    assert "甲技术方案" in contract_page and "甲二验收报告" not in contract_page


def test_the_list_filters_and_answers_htmx_with_a_fragment(app, world, make):
    make.document(
        world.manager, model=world.model, title_zh="平板用户手册", kind="user", language="en", filename="manual-en.pdf"
    )
    staff = app.test_client(user=world.a_staff)
    assert titles(app, world.a_staff, "?kind=technical_plan") == {"甲技术方案"}
    assert titles(app, world.a_staff, "?q=验收") == {"甲二验收报告"}
    assert titles(app, world.a_staff, f"?contract={world.contract_a.id}") == {"甲技术方案"}
    page = staff.get("/documents/?language=en").get_data(as_text=True)
    assert "平板用户手册" in page and "甲技术方案" not in page
    assert "平板用户手册" in staff.get(f"/documents/?model={world.model.id}").get_data(as_text=True)
    fragment = staff.get("/documents/?kind=user", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "平板用户手册" in fragment and "<html" not in fragment
    full = staff.get("/documents/?kind=user").get_data(as_text=True)
    assert "<html" in full and 'value="user" selected' in full
    assert staff.get("/documents/?q=%25_%5C").status_code == 200  # LIKE wildcards are searched as text


def test_editing_the_details_moves_a_document_to_another_target(app, world):
    manager = app.test_client(user=world.manager)
    response = manager.post(
        f"/documents/{world.doc_b.id}/edit",
        data=form(kind="white_paper", title_zh="白皮书", target="general", language="both"),
    )
    assert response.status_code == 302
    with app.app_context():
        document = db.session.get(Document, world.doc_b.id)
        assert (document.contract_id, document.model_id, document.kind, document.language) == (
            None,
            None,
            "white_paper",
            "both",
        )
    assert app.test_client(user=world.a_staff).get(f"/documents/{world.doc_b.id}").status_code == 200
    response = manager.post(f"/documents/{world.doc_b.id}/edit?lang=en", data=form(title_zh="", target="model"))
    page = response.get_data(as_text=True)
    assert (
        response.status_code == 200
        and "Give the document a Chinese title." in page
        and "Choose the equipment model." in page
    )


@pytest.mark.parametrize("user", ["manager", "a_staff"])
def test_a_documents_page_needs_the_same_queries_with_many_versions_and_downloads(
    app, world, make, count_queries, user
):
    browser = app.test_client(user=getattr(world, user))
    with count_queries() as few:
        assert browser.get(f"/documents/{world.doc_a.id}").status_code == 200
    for n in range(8):
        make.version(world.doc_a, world.agent, label=f"V{n + 2}.0")
        app.test_client(user=world.a_school if n % 2 else world.b_staff).get(f"/documents/{world.doc_a.id}/download")
        app.test_client(user=world.a_staff).get(f"/documents/{world.doc_a.id}/download")
    with count_queries() as many:
        assert browser.get(f"/documents/{world.doc_a.id}").status_code == 200
    assert many.count == few.count, many.statements
