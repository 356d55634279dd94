"""Upload checks: content, not name; hostile names; empty and oversize files; the storage folder."""
import hashlib
import io
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from werkzeug.datastructures import FileStorage

from portal.documents.files import FileRefused, check
from portal.documents.samples import docx, pdf
from portal.equipment.io import to_xlsx
from portal.storage import FolderStorage

LIMIT = 1024 * 1024


def image(kind):
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, kind)
    return out.getvalue()


def office(part):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(part, "<x/>")
    return out.getvalue()


def plain_zip():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("说明.txt", "hello")
    return out.getvalue()


def upload(name, data):
    return FileStorage(io.BytesIO(data), filename=name)


def refused(app, name, data, limit=LIMIT):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        with pytest.raises(FileRefused) as caught:
            check(upload(name, data), limit)
        return str(caught.value.message)


@pytest.mark.parametrize("name, data, kind", [
    ("安装手册.pdf", pdf("x"), "pdf"),
    ("方案.DOCX", docx("一"), "docx"),
    ("清单.xlsx", to_xlsx(["a"], [["b"]], "s"), "xlsx"),
    ("培训.pptx", office("ppt/presentation.xml"), "pptx"),
    ("资料包.zip", plain_zip(), "zip"),
    ("方案打包.zip", docx("一"), "zip"),  # a Word file sent as a ZIP is still a ZIP
    ("照片.jpg", image("JPEG"), "jpeg"),
    ("照片.jpeg", image("JPEG"), "jpeg"),
    ("接线图.png", image("PNG"), "png"),
])
def test_accepted_by_content(app, name, data, kind):
    with app.test_request_context():
        checked = check(upload(name, data), LIMIT)
    assert checked.type.key == kind and checked.size == len(data) and checked.filename == name


@pytest.mark.parametrize("name, data", [
    ("manual.pdf", b"this is plain text, not a PDF at all"),
    ("manual.pdf", image("PNG")),  # a real photo that claims to be a PDF
    ("manual.pdf", b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n"),  # cut short: no trailer
    ("plan.docx", plain_zip()),  # a ZIP without a Word document inside
    ("plan.docx", pdf("x")),
    ("sheet.xlsx", docx("x")),  # a Word document named as a spreadsheet
    ("photo.jpg", image("PNG")),
    ("photo.png", image("PNG")[:40]),  # a truncated image
    ("archive.zip", b"PK\x03\x04 not really a zip"),
])
def test_a_file_whose_content_does_not_match_its_name_is_refused(app, name, data):
    assert "its content does not match its name" in refused(app, name, data)


@pytest.mark.parametrize("name", ["../../etc/passwd", "..\\..\\windows\\win.ini", "folder/manual.pdf",
                                  "C:\\Users\\a\\manual.pdf", "manual\x00.pdf", "bad\nname.pdf", ".htaccess",
                                  "\u202efdp.exe.pdf"])
def test_hostile_names_are_refused_whatever_the_content(app, name):
    message = refused(app, name, pdf("x"))
    assert "cannot be accepted as a file name" in message and "\x00" not in message and "\n" not in message


@pytest.mark.parametrize("name", ["setup.exe", "macro.docm", "page.html", "no-extension", "archive.tar.gz", "x.svg"])
def test_other_kinds_of_file_are_refused(app, name):
    assert "is not a file the portal accepts" in refused(app, name, pdf("x"))


def test_empty_and_oversize_files_are_refused(app):
    assert "is empty" in refused(app, "手册.pdf", b"")
    assert "is larger than 1 MB" in refused(app, "手册.pdf", pdf("x") + b" " * LIMIT)
    assert refused(app, "", pdf("x")) == "Choose a file."
    assert "longer than 200 characters" in refused(app, "长" * 200 + ".pdf", pdf("x"))


def test_messages_are_in_chinese_for_a_chinese_reader(app):
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        with pytest.raises(FileRefused) as caught:
            check(upload("手册.pdf", b"not a pdf"), LIMIT)
        assert "手册.pdf" in str(caught.value.message) and "PDF" in str(caught.value.message)
        assert "content" not in str(caught.value.message)


def test_folder_storage_writes_under_generated_names_with_the_hash(tmp_path):
    storage = FolderStorage(tmp_path)
    data = pdf("stored")
    saved = storage.save(io.BytesIO(data))
    assert saved.sha256 == hashlib.sha256(data).hexdigest() and saved.size == len(data)
    assert storage.exists(saved.key) and storage.open(saved.key).read() == data
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files == [tmp_path / saved.key]  # no temporary file left behind
    assert storage.save(io.BytesIO(data)).key != saved.key
    storage.delete(saved.key)
    assert not storage.exists(saved.key)
    for key in ("../../etc/passwd", "/etc/passwd", "ab/../../x", ""):
        with pytest.raises(ValueError):
            storage.open(key)


def test_documents_check_finds_missing_and_altered_files(app, world):
    from portal.documents.models import DocumentVersion
    from portal.extensions import db

    runner = app.test_cli_runner()
    result = runner.invoke(args=["documents-check"])
    assert result.exit_code == 0 and "checked: 4, problems: 0" in result.output
    with app.app_context():
        keys = [v.storage_key for v in db.session.scalars(db.select(DocumentVersion).order_by(DocumentVersion.id))]
    root = app.config["STORAGE_DIR"]
    (Path(root) / keys[0]).unlink()
    (Path(root) / keys[1]).write_bytes(b"changed")
    result = runner.invoke(args=["documents-check"])
    assert result.exit_code == 1 and "problems: 2" in result.output
    assert "missing:" in result.output and "differs:" in result.output
