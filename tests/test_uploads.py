"""The one upload checker (portal.uploads): content, not name; names normalised; images re-encoded without their
metadata; the per-feature kinds; and the headers every stored file is served with."""

import hashlib
import io
import random
import time
import unicodedata
import zipfile
from urllib.parse import unquote

import pytest
import sqlalchemy as sa
from PIL import Image, PngImagePlugin
from werkzeug.datastructures import FileStorage

from portal.documents.samples import docx, pdf
from portal.equipment.io import to_xlsx
from portal.extensions import db
from portal.uploads import (
    ATTACHMENTS,
    DOCUMENTS,
    MAX_NAME,
    PHOTOS,
    REMOVED_CATEGORIES,
    TYPES,
    UploadRefused,
    check,
    normalise_name,
)

LIMIT = 1024 * 1024
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"


def image(kind, size=(8, 8), colour="red", **params):
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, kind, **params)
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


def checked(app, name, data, allowed=DOCUMENTS, limit=LIMIT):
    with app.test_request_context():
        return check(upload(name, data), allowed, limit)


def refused(app, name, data, allowed=DOCUMENTS, limit=LIMIT, lang="en"):
    with app.test_request_context(headers={"Accept-Language": lang}):
        with pytest.raises(UploadRefused) as caught:
            check(upload(name, data), allowed, limit)
        return str(caught.value.message)


# ---------------------------------------------------------------- kinds, by content


@pytest.mark.parametrize(
    "name, data, kind",
    [
        ("安装手册.pdf", pdf("x"), "pdf"),
        ("方案.DOCX", docx("一"), "docx"),
        ("清单.xlsx", to_xlsx(["a"], [["b"]], "s"), "xlsx"),
        ("培训.pptx", office("ppt/presentation.xml"), "pptx"),
        ("资料包.zip", plain_zip(), "zip"),
        ("方案打包.zip", docx("一"), "zip"),  # a Word file sent as a ZIP is still a ZIP
        ("照片.jpg", image("JPEG"), "jpeg"),
        ("照片.jpeg", image("JPEG"), "jpeg"),
        ("接线图.png", image("PNG"), "png"),
    ],
)
def test_documents_are_accepted_by_content(app, name, data, kind):
    result = checked(app, name, data)
    assert result.type.key == kind and result.filename == name
    if kind not in ("jpeg", "png"):  # kept as sent; images are re-encoded (below)
        assert result.size == len(data) and result.read() == data


@pytest.mark.parametrize(
    "name, data",
    [
        ("manual.pdf", b"this is plain text, not a PDF at all"),
        ("manual.pdf", image("PNG")),  # a real photo that claims to be a PDF
        ("manual.pdf", b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n"),  # cut short: no trailer
        ("manual.pdf", HTML),
        ("manual.pdf", b"%PDF-1.4\n" + HTML),  # HTML that starts like a PDF
        ("manual.pdf", b"%PDF-1.7\n" + HTML + b"\nstartxref\n0\n%%EOF\n"),  # …and ends like one
        ("manual.pdf", b"  %PDF-1.4\n1 0 obj\n<<>>\nendobj\nstartxref\n0\n%%EOF"),  # not at the start
        ("plan.docx", plain_zip()),  # a ZIP without a Word document inside
        ("plan.docx", pdf("x")),
        ("sheet.xlsx", docx("x")),  # a Word document named as a spreadsheet
        ("photo.png", image("PNG")[:40]),  # a truncated image
        ("photo.jpg", HTML),
        ("archive.zip", b"PK\x03\x04 not really a zip"),
    ],
)
def test_a_file_whose_content_does_not_match_its_name_is_refused(app, name, data):
    message = refused(app, name, data)
    assert "its content does not match its name" in message or "is not a whole" in message


@pytest.mark.parametrize("allowed", [DOCUMENTS, PHOTOS, ATTACHMENTS])
def test_html_disguised_as_a_pdf_is_refused_for_every_feature(app, allowed):
    for data in (b"%PDF-1.4\n" + HTML, b"%PDF-1.7\n" + HTML + b"\nstartxref\n0\n%%EOF\n", HTML):
        for name in ("report.pdf", "report", "report.html", "report.htm", "photo.jpg"):
            refused(app, name, data, allowed)


@pytest.mark.parametrize(
    "name",
    [
        "setup.exe",
        "macro.docm",
        "page.html",
        "archive.tar.gz",
        "x.svg",
        "a.gif",
        "data.csv",
        "noextension",
        "a.pdf.exe",
    ],
)
def test_other_kinds_of_file_are_refused_naming_what_is_accepted(app, name):
    assert refused(app, name, HTML).endswith("accepted here: PDF, DOCX, XLSX, PPTX, ZIP, JPEG, or PNG.")


@pytest.mark.parametrize(
    "allowed, name, data, accepted",
    [
        (PHOTOS, "a.jpg", image("JPEG"), True),
        (PHOTOS, "a.png", image("PNG"), True),
        (PHOTOS, "a.pdf", pdf("x"), False),
        (PHOTOS, "a", pdf("x"), False),
        (PHOTOS, "a.docx", docx("x"), False),
        (PHOTOS, "a.gif", image("GIF"), False),
        (PHOTOS, "a", image("GIF"), False),
        (PHOTOS, "a.webp", image("WEBP"), False),
        (ATTACHMENTS, "a.pdf", pdf("x"), True),
        (ATTACHMENTS, "a.jpg", image("JPEG"), True),
        (ATTACHMENTS, "a.docx", docx("x"), False),
        (ATTACHMENTS, "a", docx("x"), False),
        (ATTACHMENTS, "a.zip", plain_zip(), False),
    ],
)
def test_each_feature_accepts_its_own_kinds(app, allowed, name, data, accepted):
    if accepted:
        assert checked(app, name, data, allowed).type.key in allowed
    else:
        kinds = {PHOTOS: "JPEG or PNG", ATTACHMENTS: "JPEG, PNG, or PDF"}[allowed]
        assert f"is not a kind of file accepted here: {kinds}." in refused(app, name, data, allowed)


def test_a_name_without_an_extension_gets_the_one_of_its_content(app):
    assert checked(app, "扫描件", pdf("x")).filename == "扫描件.pdf"
    assert checked(app, "IMG_0001", image("JPEG"), PHOTOS).filename == "IMG_0001.jpg"
    assert checked(app, "report v1.2", pdf("x")).filename == "report v1.2.pdf"  # ".2" is no extension


def test_an_image_named_as_the_other_image_kind_gets_its_extension_corrected(app):
    result = checked(app, "现场.jpg", image("PNG"), PHOTOS)
    assert (result.filename, result.type.key, result.content_type) == ("现场.png", "png", "image/png")


def test_empty_and_oversize_files_are_refused(app):
    assert refused(app, "手册.pdf", b"") == "“手册.pdf” is empty."
    assert refused(app, "手册.pdf", pdf("x") + b" " * LIMIT) == "“手册.pdf” is larger than 1 MB."
    assert refused(app, "", pdf("x")) == "Choose a file."
    assert refused(app, "   ", pdf("x")) == "Choose a file."


def test_messages_are_in_chinese_for_a_chinese_reader(app):
    message = refused(app, "手册.pdf", b"not a pdf", lang="zh-CN")
    assert "手册.pdf" in message and "PDF" in message and "content" not in message
    message = refused(app, "a.exe", b"MZ", PHOTOS, lang="zh-CN")
    assert "JPEG或PNG" in message and "accepted" not in message


# ---------------------------------------------------------------- names


@pytest.mark.parametrize(
    "raw, name",
    [
        ("../../etc/passwd", "passwd.pdf"),
        ("..\\..\\windows\\manual.pdf", "manual.pdf"),
        ("folder/manual.pdf", "manual.pdf"),
        ("C:\\Users\\a\\manual.pdf", "manual.pdf"),
        ("/manual.pdf/", "manual.pdf"),
        ("manual\x00.pdf", "manual.pdf"),
        ("bad\nname.pdf", "badname.pdf"),
        ("tab\there.pdf", "tabhere.pdf"),
        (".htaccess", "htaccess.pdf"),
        ("...manual.pdf", "manual.pdf"),
        ("manual.pdf.", "manual.pdf"),
        ("\u202efdp.pdf", "fdp.pdf"),  # RIGHT-TO-LEFT OVERRIDE
        ("报告\u2066\u2069\u200b\u200e\u200f\ufeff.pdf", "报告.pdf"),  # isolates, zero-width space, marks, BOM
        ("line\u2028sep\u2029.pdf", "linesep.pdf"),
        ('a<b>:c|d?e*"f.pdf', "a_b__c_d_e__f.pdf"),  # not allowed in Windows names
        ("  年度   报告 .pdf", "年度 报告.pdf"),
        ("\u3000全角\u3000空格.pdf", "全角 空格.pdf"),
        ("cafe\u0301.pdf", "café.pdf"),  # NFC
        ("\u202e", "file.pdf"),
        ("/", "file.pdf"),
        ("...", "file.pdf"),
        (".pdf", "pdf.pdf"),
    ],
)
def test_hostile_names_are_normalised_not_refused(app, raw, name):
    result = checked(app, raw, pdf("x"))
    assert result.filename == name and result.type.key == "pdf"


def test_a_long_name_is_cut_keeping_its_extension(app):
    name = checked(app, "长" * 300 + ".pdf", pdf("x")).filename
    assert name == "长" * (MAX_NAME - 4) + ".pdf"
    name = checked(app, "长" * 300, pdf("x")).filename  # the extension added still fits
    assert len(name) <= MAX_NAME and name.endswith(".pdf")


def test_the_refused_names_message_shows_the_normalised_name(app):
    message = refused(app, "invoice\u202egpj.exe", pdf("x"))  # shown as "invoiceexe.jpg" in a bidi-naive list
    assert message.startswith("“invoicegpj.exe” is not a kind of file accepted here")
    message = refused(app, "../../x/\x1b[31mred\x07.pdf", b"not a pdf")
    assert message.startswith("“[31mred.pdf” is not a real PDF file")


PIECES = [
    "a",
    "报告",
    " ",
    ".",
    "..",
    "/",
    "\\",
    ":",
    "\u202e",
    "\u202d",
    "\u2066",
    "\u200b",
    "\x00",
    "\n",
    "\r",
    "\x7f",
    "\u0085",
    "\ufeff",
    "\ue000",
    "\udc80",
    "\u2028",
    "e\u0301",
    "<",
    '"',
    "pdf",
    ".pdf",
    "长" * 60,
]


def test_every_name_comes_out_safe(app):
    """The whole class, not the examples: names built at random from hostile pieces."""
    rng = random.Random(13)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        for _ in range(2000):
            raw = "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 12)))
            try:
                result = check(upload(raw, pdf("x")), DOCUMENTS, LIMIT)
            except UploadRefused as refusal:  # an extension that is not a PDF's: refused, the name shown clean
                text = str(refusal.message)
                assert not any(unicodedata.category(c) in REMOVED_CATEGORIES for c in text), repr(raw)
                continue
            name = result.filename
            assert name == unicodedata.normalize("NFC", name), repr(raw)
            assert 5 <= len(name) <= MAX_NAME and name.lower().endswith(".pdf"), repr(raw)
            assert "/" not in name and "\\" not in name and not name.startswith((".", " ")), repr(raw)
            assert not any(unicodedata.category(c) in REMOVED_CATEGORIES for c in name), repr(raw)
            assert not any(c in name for c in '<>:"|?*'), repr(raw)
            assert normalise_name(name) == name, repr(raw)  # normalising twice changes nothing


# ---------------------------------------------------------------- images


def quadrants(size=(60, 40)):
    """An image whose four quadrants have four colours, to see where each corner ends up."""
    picture = Image.new("RGB", size)
    w, h = size
    for box, colour in (
        ((0, 0, w // 2, h // 2), (255, 0, 0)),
        ((w // 2, 0, w, h // 2), (0, 255, 0)),
        ((0, h // 2, w // 2, h), (0, 0, 255)),
        ((w // 2, h // 2, w, h), (255, 255, 0)),
    ):
        picture.paste(colour, box)
    return picture


def gps_exif(orientation=None):
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Phone 15"  # Model
    if orientation:
        exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (30.0, 15.0, 36.0), 3: "E", 4: (120.0, 9.0, 0.0)})
    return exif


def close(a, b, tolerance=40):
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=False))


def test_a_photos_exif_with_its_gps_position_xmp_and_comment_are_removed_and_its_pixels_kept(app):
    out = io.BytesIO()
    quadrants().save(
        out,
        "JPEG",
        quality=95,
        exif=gps_exif(),
        comment=b"shot at No. 1 Middle School",
        xmp=b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>GPS 30.26 120.15</x:xmpmeta>",
    )
    original = out.getvalue()
    with Image.open(io.BytesIO(original)) as before:  # the sample really has what must go
        assert before.getexif().get_ifd(0x8825) and "comment" in before.info and "xmp" in before.info
    result = checked(app, "现场.jpg", original, PHOTOS)
    data = result.read()
    assert b"PhoneMaker" not in data and b"GPS" not in data and b"Middle School" not in data and b"Exif" not in data
    with Image.open(io.BytesIO(data)) as after:
        assert after.format == "JPEG" and not after.getexif() and "comment" not in after.info
        assert "xmp" not in after.info and "exif" not in after.info
        assert (after.size, (result.width, result.height)) == ((60, 40), (60, 40))
        for (x, y), colour in (
            ((5, 5), (255, 0, 0)),
            ((55, 5), (0, 255, 0)),
            ((5, 35), (0, 0, 255)),
            ((55, 35), (255, 255, 0)),
        ):
            assert close(after.convert("RGB").getpixel((x, y)), colour), (x, y)
    assert result.size == len(data) and result.content_type == "image/jpeg"


@pytest.mark.parametrize("kind", ["JPEG", "PNG"])
def test_the_exif_orientation_is_applied_before_it_is_removed(app, kind):
    out = io.BytesIO()
    quadrants().save(out, kind, exif=gps_exif(orientation=6))  # 6: the camera was turned; show it rotated 90° CW
    result = checked(app, f"竖拍.{kind.lower()}", out.getvalue(), PHOTOS)
    with Image.open(result.stream) as after:
        assert after.size == (40, 60) and (result.width, result.height) == (40, 60) and not after.getexif()
        rgb = after.convert("RGB")
        # Turned clockwise: the top-left (red) quadrant is now at the top right, the bottom-left (blue) at the top left.
        assert close(rgb.getpixel((35, 5)), (255, 0, 0)) and close(rgb.getpixel((5, 5)), (0, 0, 255))
        assert close(rgb.getpixel((5, 55)), (255, 255, 0)) and close(rgb.getpixel((35, 55)), (0, 255, 0))


def test_a_pngs_text_chunks_and_exif_are_removed_its_pixels_and_transparency_kept(app):
    picture = quadrants().convert("RGBA")
    picture.putpixel((0, 0), (1, 2, 3, 0))
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "GPS 30.26 120.15")
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>secret</x:xmpmeta>")
    out = io.BytesIO()
    picture.save(out, "PNG", pnginfo=info, exif=gps_exif())
    result = checked(app, "截图.png", out.getvalue(), PHOTOS)
    data = result.read()
    assert b"GPS" not in data and b"secret" not in data and b"eXIf" not in data
    with Image.open(io.BytesIO(data)) as after:
        assert not after.getexif() and not getattr(after, "text", {})
        assert after.convert("RGBA").tobytes() == picture.tobytes()  # lossless: every pixel


def test_a_decompression_bomb_is_refused_before_it_is_decoded(app):
    out = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(out, "PNG")  # 100 million pixels in a few kilobytes
    assert len(out.getvalue()) < 100_000
    started = time.perf_counter()
    message = refused(app, "bomb.png", out.getvalue(), PHOTOS)
    assert message == "“bomb.png” has too many pixels (at most 50 megapixels)."
    assert time.perf_counter() - started < 1


def test_a_broken_image_is_refused(app):
    data = image("JPEG", size=(200, 200))
    assert "is not a whole JPEG image" in refused(app, "cut.jpg", data[: len(data) // 2], PHOTOS)


def test_a_broken_image_is_refused_after_a_pdf_was_rendered(app):
    """WeasyPrint turns Pillow's LOAD_TRUNCATED_IMAGES on, for the whole process, when it is imported: a worker that
    rendered an evidence pack must still refuse half a photo."""
    import importlib

    from PIL import ImageFile

    importlib.import_module("weasyprint")  # the import is what changes Pillow's setting

    ImageFile.LOAD_TRUNCATED_IMAGES = True  # as WeasyPrint leaves it, whichever test imported it first
    data = image("JPEG", size=(200, 200))
    assert "is not a whole JPEG image" in refused(app, "cut.jpg", data[: len(data) // 2], PHOTOS)
    with app.app_context():
        from portal.reports.pdf import render

        render("<html><body><p>PDF</p></body></html>")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


# ---------------------------------------------------------------- serving


def headers_are_safe(response):
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    csp = response.headers["Content-Security-Policy"]
    assert "sandbox" in csp and "default-src 'none'" in csp and "script-src" not in csp
    assert "html" not in response.mimetype


def test_a_photo_is_served_inline_as_an_image_that_runs_nothing(app, world):
    client = app.test_client(user=world.a_staff)
    data = {
        "severity": "B",
        "kind": "hardware",
        "title": "屏幕不亮",
        "description": "302教室黑屏",
        "contact_name": "张老师",
        "contact_phone": "13800000000",
        "channel": "portal",
        "unit": world.unit_a1.id,
        "photos": [(io.BytesIO(image("PNG")), "现场\u202egnp.exe.png")],
    }
    response = client.post("/tickets/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    from portal.tickets.models import TicketPhoto

    ticket_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        photo = db.session.scalars(sa.select(TicketPhoto).where(TicketPhoto.ticket_id == ticket_id)).one()
        assert photo.filename == "现场gnp.exe.png"
        url = f"/tickets/{photo.ticket_id}/photos/{photo.id}"
    served = client.get(url)
    assert served.status_code == 200 and served.mimetype == "image/png"
    headers_are_safe(served)
    disposition = served.headers["Content-Disposition"]
    assert disposition.startswith("inline; ") and unquote(disposition.split("''", 1)[1]) == "现场gnp.exe.png"


@pytest.mark.parametrize("feature", ["complaint", "visit"])
def test_a_pdf_attachment_is_served_as_a_download_that_runs_nothing(app, world, make, feature):
    content = b"%PDF-1.4\n" + HTML + b"\n%%EOF"  # what older versions let in: it is never shown as a page
    if feature == "complaint":
        item = make.complaint(world.a_staff, world.a_site1, attachment=content)
        url = f"/complaints/{item.id}/attachments/{item.attachments[0].id}"
        name = "证明材料.PDF"
    else:
        item = make.visit(world.contract_a, world.a_site1, recorded_by=world.agent, attachment=content)
        url = f"/inspections/{item.id}/attachments/{item.attachments[0].id}"
        name = "巡检单.pdf"
    served = app.test_client(user=world.a_admin).get(url)
    assert served.status_code == 200 and served.mimetype == "application/pdf" and served.data == content
    headers_are_safe(served)
    disposition = served.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="') and unquote(disposition.split("''", 1)[1]) == name
    assert disposition.count('"') == 2


def test_a_stored_file_of_an_unknown_type_is_a_download_of_octets(app, world, make):
    from portal.complaints.models import ComplaintAttachment

    complaint = make.complaint(world.a_staff, world.a_site1, attachment=HTML)
    with app.app_context():
        db.session.execute(sa.update(ComplaintAttachment).values(content_type="text/html", filename="x.html"))
        db.session.commit()
    served = app.test_client(user=world.a_admin).get(
        f"/complaints/{complaint.id}/attachments/{complaint.attachments[0].id}"
    )
    assert served.mimetype == "application/octet-stream" and served.headers["Content-Disposition"].startswith(
        "attachment; "
    )
    headers_are_safe(served)


def test_a_document_download_runs_nothing(app, world):
    served = app.test_client(user=world.a_staff).get(f"/documents/{world.doc_a.id}/download")
    assert served.status_code == 200 and served.headers["Content-Disposition"].startswith("attachment; ")
    headers_are_safe(served)


def test_every_kind_has_a_content_type_that_is_not_a_page():
    assert all(
        "html" not in t.content_type and "svg" not in t.content_type and not t.content_type.startswith("text/")
        for t in TYPES.values()
    )


def test_images_stored_before_with_their_gps_are_scrubbed_once(app, world, make):
    from portal.complaints.models import ComplaintAttachment
    from portal.tickets.models import TicketPhoto

    out = io.BytesIO()
    quadrants().save(out, "JPEG", exif=gps_exif(orientation=6))
    with_gps = out.getvalue()
    ticket = make.ticket(world.a_staff, world.a_site1, photo=with_gps)
    complaint = make.complaint(world.a_staff, world.a_site1, attachment=with_gps)
    with app.app_context():
        db.session.execute(
            sa.update(ComplaintAttachment)
            .where(ComplaintAttachment.complaint_id == complaint.id)
            .values(content_type="image/jpeg")
        )
        db.session.execute(
            sa.update(TicketPhoto).where(TicketPhoto.ticket_id == ticket.id).values(content_type="image/jpeg")
        )
        db.session.commit()
    clean = image("PNG")
    other = make.ticket(world.a_staff, world.a_site1, photo=clean)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["uploads-scrub"])
    assert result.exit_code == 0 and "ticket_photo: " in result.output
    with app.app_context():
        photo = db.session.scalars(sa.select(TicketPhoto).where(TicketPhoto.ticket_id == ticket.id)).one()
        untouched = db.session.scalars(sa.select(TicketPhoto).where(TicketPhoto.ticket_id == other.id)).one()
        attachment = db.session.scalars(
            sa.select(ComplaintAttachment).where(ComplaintAttachment.complaint_id == complaint.id)
        ).one()
        for item in (photo, attachment):
            data = stored_bytes(item)
            with Image.open(io.BytesIO(data)) as after:
                assert not after.getexif() and after.size == (40, 60) and item.size == len(data)
            assert item.sha256 == hashlib.sha256(data).hexdigest()
        assert (photo.width, photo.height) == (40, 60)
        assert stored_bytes(untouched) == clean
        scrubbed_once = stored_bytes(photo)
    assert "0 re-encoded" in runner.invoke(args=["uploads-scrub"]).output.splitlines()[0]
    with app.app_context():
        assert stored_bytes(db.session.get(TicketPhoto, photo.id)) == scrubbed_once
    assert app.test_cli_runner().invoke(args=["documents-check"]).exit_code == 0  # the old files went


def stored_bytes(item):
    from portal.storage import storage

    with storage().open(item.storage_key) as handle:
        return handle.read()
