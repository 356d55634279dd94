"""What an uploaded document may be: checked by its content, not its name or what the browser says.

Accepted: PDF, DOCX, XLSX, PPTX, ZIP, JPEG and PNG. The name must end with the extension of what the content
really is (a ZIP holding a Word document may still be sent as a ZIP); a name with folders, control characters or
a leading dot is refused, whatever the content. Nothing here trusts the name for storage: files are stored under
generated names (``portal.storage``).
"""
import io
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass

from PIL import Image

from ..i18n import _l
from ..steps import Refused

MAX_NAME = 200
MAX_PIXELS = 100_000_000


@dataclass(frozen=True)
class FileType:
    key: str
    label: str  # as shown: upper case, the same in every language
    content_type: str
    extensions: tuple


TYPES = {t.key: t for t in (
    FileType("pdf", "PDF", "application/pdf", (".pdf",)),
    FileType("docx", "DOCX", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", (".docx",)),
    FileType("xlsx", "XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",)),
    FileType("pptx", "PPTX", "application/vnd.openxmlformats-officedocument.presentationml.presentation", (".pptx",)),
    FileType("zip", "ZIP", "application/zip", (".zip",)),
    FileType("jpeg", "JPEG", "image/jpeg", (".jpg", ".jpeg")),
    FileType("png", "PNG", "image/png", (".png",)),
)}
BY_EXTENSION = {ext: t for t in TYPES.values() for ext in t.extensions}
ACCEPT = ",".join(BY_EXTENSION)  # for <input type=file accept=…>
OFFICE_PARTS = {"docx": "word/document.xml", "xlsx": "xl/workbook.xml", "pptx": "ppt/presentation.xml"}


class FileRefused(Refused):
    """Refused: the message says why."""


@dataclass(frozen=True)
class Checked:
    filename: str
    type: FileType
    size: int


def shown(name):
    """A name safe to put in a message: control characters made visible, cut to a sensible length."""
    text = "".join(c if c.isprintable() else "\N{REPLACEMENT CHARACTER}" for c in name)
    return text if len(text) <= 80 else text[:77] + "…"


def check_name(raw):
    """The file name as it will be shown and offered for download, or FileRefused."""
    name = unicodedata.normalize("NFC", (raw or "").strip())
    if not name:
        raise FileRefused(_l("Choose a file."))
    if ("/" in name or "\\" in name or name.startswith(".") or any(not c.isprintable() for c in name)):
        raise FileRefused(_l("“%(name)s” cannot be accepted as a file name: it may not contain folders (/ or \\), "
                             "control characters or begin with a dot. Rename the file and send it again.",
                             name=shown(name)))
    if len(name) > MAX_NAME:
        raise FileRefused(_l("The file name is longer than %(n)d characters. Shorten it and send it again.",
                             n=MAX_NAME))
    return name


def extension_type(name):
    dot = name.rfind(".")
    found = BY_EXTENSION.get(name[dot:].lower()) if dot > 0 else None
    if found is None:
        raise FileRefused(_l("“%(name)s” is not a file the portal accepts: PDF, DOCX, XLSX, PPTX, ZIP, JPEG or PNG.",
                             name=shown(name)))
    return found


def sniff(stream, size):
    """The real type of the content (a key of TYPES), or None."""
    stream.seek(0)
    head = stream.read(8)
    if head.startswith(b"%PDF-"):
        stream.seek(max(0, size - 2048))
        return "pdf" if b"%%EOF" in stream.read() else None  # a PDF ends with its trailer
    if head.startswith(b"\x89PNG\r\n\x1a\n") or head.startswith(b"\xff\xd8\xff"):
        return _image(stream)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _zip(stream)
    return None


def _image(stream):
    stream.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(stream) as image:
                kind = image.format
                if image.size[0] * image.size[1] > MAX_PIXELS:
                    return None
                image.verify()
    except Exception:  # Pillow raises many kinds for a file that is not a whole image
        return None
    return {"PNG": "png", "JPEG": "jpeg"}.get(kind)


def _zip(stream):
    stream.seek(0)
    try:
        with zipfile.ZipFile(stream) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    if "[Content_Types].xml" in names:
        for key, part in OFFICE_PARTS.items():
            if part in names:
                return key
    return "zip"


def check(storage, max_bytes):
    """Check an uploaded file (a werkzeug FileStorage): its name, its size, its content. Returns Checked, leaves
    the stream at its start, or raises FileRefused with a message for the form."""
    name = check_name(storage.filename)
    expected = extension_type(name)
    stream = storage.stream
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    if size == 0:
        raise FileRefused(_l("“%(name)s” is empty.", name=shown(name)))
    if size > max_bytes:
        raise FileRefused(_l("“%(name)s” is larger than %(mb)d MB.", name=shown(name), mb=max_bytes // (1024 * 1024)))
    found = sniff(stream, size)
    stream.seek(0)
    if found != expected.key and not (expected.key == "zip" and found in OFFICE_PARTS):
        raise FileRefused(_l("“%(name)s” is not a real %(type)s file: its content does not match its name.",
                             name=shown(name), type=expected.label))
    return Checked(filename=name, type=expected, size=size)
