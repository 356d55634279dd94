"""Every uploaded file goes through here: documents, fault photos, complaint and visit attachments.

``check(upload, allowed, max_bytes)`` takes a werkzeug ``FileStorage`` and returns a ``Checked`` file or raises
``UploadRefused`` with a message for the form, in the reader's language:

- the name is normalised rather than refused: only its last path part, NFC, without control, format or bidi
  characters (U+202E…), without a leading dot, at most ``MAX_NAME`` characters with its extension kept, never
  empty; a name without an extension gets the one of its content;
- the size is limited, an empty file refused;
- the content is identified by a maintained library (``puremagic``, pure Python: magic numbers at the start and
  end of the file), then checked for what each kind must be: a PDF has its header, a first object and its
  ``startxref``/``%%EOF`` trailer; an Office file is a ZIP with its main part; a photo decodes whole with Pillow;
- a name's extension must say what the content is (a Word file sent as a ``.zip`` is a ZIP; a PNG named ``.jpg``
  gets its extension corrected, since it is re-encoded anyway); anything else is refused;
- JPEG and PNG images are re-encoded without their metadata (EXIF with GPS position, XMP, comments, text
  chunks), the EXIF orientation applied first so that a photo is not turned sideways; a decompression bomb
  (too many pixels) is refused before it is decoded.

A checked file is then kept in storage (``portal.storage``) and served by ``portal.downloads``: images inline, PDFs
and everything else as attachments, always with ``X-Content-Type-Options: nosniff`` and a Content-Security-Policy
that runs nothing (``protect``).
"""

import io
import re
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass, replace
from typing import BinaryIO
from urllib.parse import quote

import puremagic
from babel.lists import format_list
from flask_babel import get_locale
from PIL import Image, ImageFile, ImageOps, JpegImagePlugin

from .i18n import _l
from .steps import Refused

MAX_NAME = 200  # characters, the extension included
MAX_EXTENSION = 10
MAX_PIXELS = 50_000_000  # a 48-megapixel phone photo passes; a decompression bomb does not
DEFAULT_STEM = "file"


@dataclass(frozen=True)
class FileType:
    key: str
    label: str  # as shown: upper case, the same in every language
    content_type: str
    extensions: tuple  # the first is added to a name that has none


TYPES = {
    t.key: t
    for t in (
        FileType("pdf", "PDF", "application/pdf", (".pdf",)),
        FileType("docx", "DOCX", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", (".docx",)),
        FileType("xlsx", "XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",)),
        FileType(
            "pptx", "PPTX", "application/vnd.openxmlformats-officedocument.presentationml.presentation", (".pptx",)
        ),
        FileType("zip", "ZIP", "application/zip", (".zip",)),
        FileType("jpeg", "JPEG", "image/jpeg", (".jpg", ".jpeg")),
        FileType("png", "PNG", "image/png", (".png",)),
    )
}
BY_EXTENSION = {ext: t for t in TYPES.values() for ext in t.extensions}
BY_CONTENT_TYPE = {t.content_type: t for t in TYPES.values()}

# What each feature accepts.
DOCUMENTS = ("pdf", "docx", "xlsx", "pptx", "zip", "jpeg", "png")
PHOTOS = ("jpeg", "png")
ATTACHMENTS = ("jpeg", "png", "pdf")


def accept(keys):
    """For ``<input type=file accept=…>``: the extensions of the kinds ``keys``."""
    return ",".join(ext for key in keys for ext in TYPES[key].extensions)


IMAGES = {"jpeg", "png"}
OFFICE_PARTS = {"docx": "word/document.xml", "xlsx": "xl/workbook.xml", "pptx": "ppt/presentation.xml"}
ZIP_FAMILY = ("zip", *OFFICE_PARTS)
# The library's answer (a MIME type; several for short or shared magic numbers) to the kinds it may be.
SNIFFED = {
    "application/pdf": ("pdf",),
    "image/jpeg": ("jpeg",),
    "image/png": ("png",),
    "application/zip": ZIP_FAMILY,
    "application/x-zip-compressed": ZIP_FAMILY,
    **{TYPES[key].content_type: ZIP_FAMILY for key in OFFICE_PARTS},
}
PILLOW_FORMATS = {"JPEG": "jpeg", "MPO": "jpeg", "PNG": "png"}  # MPO: a phone's JPEG with a second picture
# Removed from names: control, format (bidi overrides, zero-width…), private-use, surrogate and unassigned
# characters, and line or paragraph separators.
REMOVED_CATEGORIES = {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"}
RESERVED = str.maketrans({c: "_" for c in '<>:"|?*'})  # not allowed in Windows file names
EXTENSION = re.compile(r"\.[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*")
PDF_HEADER = re.compile(rb"%PDF-[12]\.\d")
PDF_FIRST_OBJECT = re.compile(rb"\d+\s+\d+\s+obj\b")


class UploadRefused(Refused):
    """Refused: the message says why, naming the file by its normalised name."""


@dataclass(frozen=True)
class Checked:
    """A checked file: its normalised name, its type and size, and its content (at position 0): the re-encoded
    image for a photo, the upload itself otherwise."""

    filename: str
    type: FileType
    size: int
    stream: BinaryIO
    width: int | None = None
    height: int | None = None

    @property
    def content_type(self):
        return self.type.content_type

    def read(self):
        self.stream.seek(0)
        return self.stream.read()


class _Listed:
    """The accepted kinds, as a lazy string: "PDF, JPEG or PNG" in the language of the page that shows it."""

    def __init__(self, keys):
        self.labels = [TYPES[k].label for k in keys]

    def __str__(self):
        return format_list(self.labels, style="or", locale=get_locale() or "en")


def shown(name):
    """A normalised name as a message shows it: cut to a sensible length."""
    return name if len(name) <= 80 else name[:77] + "…"


# ---------------------------------------------------------------- names


def split_extension(name):
    """("report", ".pdf") for "report.pdf"; ("report v1.2", "") when what follows the last dot is no extension."""
    stem, dot, tail = name.rpartition(".")
    if dot and stem and len(tail) < MAX_EXTENSION and EXTENSION.fullmatch(dot + tail):
        return stem, dot + tail
    return name, ""


def normalise_name(raw):
    """The name to keep, show and offer for download: never a path, never an invisible or bidi character, never
    empty (``DEFAULT_STEM``), at most ``MAX_NAME`` characters with its extension kept. Raises UploadRefused when
    no file was chosen."""
    name = unicodedata.normalize("NFC", raw or "")
    if not name.strip():
        raise UploadRefused(_l("Choose a file."))
    name = next((part for part in reversed(re.split(r"[/\\]", name)) if part.strip(" .")), "")
    name = "".join(c for c in name if unicodedata.category(c) not in REMOVED_CATEGORIES)
    name = " ".join(name.translate(RESERVED).split()).strip(" .")
    stem, extension = split_extension(name)
    stem = stem[: MAX_NAME - len(extension)].rstrip(" .") or DEFAULT_STEM
    return stem + extension


# ---------------------------------------------------------------- content


def sniff(stream):
    """The kinds (keys of TYPES) the content may be, from the library's reading of its magic numbers."""
    stream.seek(0)
    try:
        matches = puremagic.magic_stream(stream)
    except (puremagic.PureError, ValueError):
        return set()
    finally:
        stream.seek(0)
    return {key for match in matches for key in SNIFFED.get(match.mime_type, ())}


def _pdf(stream, size):
    """A PDF's header at the start, its first object after it, its cross-reference pointer and end at the end: a
    page of HTML that merely starts with ``%PDF-`` is not one."""
    stream.seek(0)
    head = stream.read(4096)
    if not PDF_HEADER.match(head) or not PDF_FIRST_OBJECT.search(head):
        return False
    stream.seek(max(0, size - 2048))
    tail = stream.read()
    return b"startxref" in tail and b"%%EOF" in tail


def _zip(stream):
    """ "docx", "xlsx" or "pptx" for an Office file, "zip" for another archive, None for a broken one."""
    stream.seek(0)
    try:
        with zipfile.ZipFile(stream) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        return None
    if "[Content_Types].xml" in names:
        for key, part in OFFICE_PARTS.items():
            if part in names:
                return key
    return "zip"


def identify(stream, size):
    """The real kind of the content (a key of TYPES), or None."""
    candidates = sniff(stream)
    if "pdf" in candidates and _pdf(stream, size):
        return "pdf"
    if candidates & set(ZIP_FAMILY):
        return _zip(stream)
    return next(iter(candidates & IMAGES), None)  # decoded whole when re-encoded


def reencode(stream, key, name):
    """The image decoded whole, turned upright by its EXIF orientation and encoded again with nothing but its
    pixels, colour profile and transparency: (bytes, width, height). None when it is not a whole image of kind
    ``key``; UploadRefused for a decompression bomb."""
    stream.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(stream) as image:
                if PILLOW_FORMATS.get(image.format) != key:
                    return None
                if image.width * image.height > MAX_PIXELS:
                    raise UploadRefused(
                        _l(
                            "“%(name)s” has too many pixels (at most %(mp)d megapixels).",
                            name=shown(name),
                            mp=MAX_PIXELS // 1_000_000,
                        )
                    )
                # The whole picture: a truncated or broken file fails here, whatever another library set for its
                # own images (WeasyPrint turns Pillow's LOAD_TRUNCATED_IMAGES on when it is imported).
                ImageFile.LOAD_TRUNCATED_IMAGES = False
                image.load()
                keep = {k: image.info[k] for k in ("icc_profile", "transparency") if k in image.info}
                if key == "jpeg":
                    quality = _jpeg_quality(image)
                upright = ImageOps.exif_transpose(image)
    except UploadRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UploadRefused(
            _l(
                "“%(name)s” has too many pixels (at most %(mp)d megapixels).",
                name=shown(name),
                mp=MAX_PIXELS // 1_000_000,
            )
        ) from None
    except Exception:  # Pillow raises many kinds for a file that is not a whole image
        return None
    upright.info = {}  # EXIF (GPS position…), XMP, comments, text chunks, DPI: none is written again
    out = io.BytesIO()
    if key == "jpeg":
        if upright.mode not in ("RGB", "L", "CMYK"):
            upright = upright.convert("RGB")
        upright.save(out, "JPEG", optimize=True, icc_profile=keep.get("icc_profile"), **quality)
    else:
        upright.save(out, "PNG", **keep)
    return out.getvalue(), upright.width, upright.height


METADATA = {"exif", "xmp", "XML:com.adobe.xmp", "comment", "photoshop", "iptc"}


def scrubbed(data):
    """For an image stored before uploads were re-encoded: (bytes, width, height) re-encoded without its metadata,
    or None when it has none (or is not a JPEG or PNG image), so that scrubbing twice changes nothing."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            key = PILLOW_FORMATS.get(image.format)
            if key is None or not (METADATA & set(image.info) or image.getexif() or getattr(image, "text", None)):
                return None
    except Exception:  # not an image after all: left alone
        return None
    try:
        return reencode(io.BytesIO(data), key, "")
    except UploadRefused:
        return None


def _jpeg_quality(image):
    """Re-encode a JPEG at the quality it came with (its own quantisation tables and chroma subsampling)."""
    tables = getattr(image, "quantization", None)
    if not tables:
        return {"quality": 90}
    sampling = JpegImagePlugin.get_sampling(image)
    return {"qtables": tables, **({"subsampling": sampling} if sampling != -1 else {})}


# ---------------------------------------------------------------- the check


def check(upload, allowed, max_bytes):
    """Check an uploaded file (a werkzeug FileStorage) for a feature that accepts the kinds ``allowed`` (keys of
    TYPES) up to ``max_bytes``. Returns Checked, or raises UploadRefused with a message for the form."""
    name = normalise_name(getattr(upload, "filename", ""))
    stem, extension = split_extension(name)
    declared = BY_EXTENSION.get(extension.lower()) if extension else None
    kinds = _Listed(allowed)
    if extension and (declared is None or declared.key not in allowed):
        raise UploadRefused(
            _l("“%(name)s” is not a kind of file accepted here: %(kinds)s.", name=shown(name), kinds=kinds)
        )
    stream = upload.stream
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    if size == 0:
        raise UploadRefused(_l("“%(name)s” is empty.", name=shown(name)))
    if size > max_bytes:
        raise UploadRefused(_l("“%(name)s” is larger than %(mb)d MB.", name=shown(name), mb=max_bytes // (1024 * 1024)))
    found = identify(stream, size)
    if declared is not None and found != declared.key:
        if declared.key == "zip" and found in OFFICE_PARTS:
            found = "zip"  # an Office file sent as a ZIP is still a ZIP
        elif not (declared.key in IMAGES and found in IMAGES):
            raise UploadRefused(
                _l(
                    "“%(name)s” is not a real %(type)s file: its content does not match its name.",
                    name=shown(name),
                    type=declared.label,
                )
            )
    if found not in allowed:
        raise UploadRefused(
            _l("“%(name)s” is not a kind of file accepted here: %(kinds)s.", name=shown(name), kinds=kinds)
        )
    kind = TYPES[found]
    if declared is None or declared.key != found:
        name = stem[: MAX_NAME - len(kind.extensions[0])] + kind.extensions[0]
    checked = Checked(filename=name, type=kind, size=size, stream=stream)
    if found in IMAGES:
        image = reencode(stream, found, name)
        if image is None:
            raise UploadRefused(
                _l(
                    "“%(name)s” is not a whole %(type)s image: it may be damaged or cut short.",
                    name=shown(name),
                    type=kind.label,
                )
            )
        data, width, height = image
        checked = replace(checked, stream=io.BytesIO(data), size=len(data), width=width, height=height)
    stream.seek(0)
    return checked


# ---------------------------------------------------------------- serving


INLINE = {"image/jpeg", "image/png"}
# A stored file runs nothing, even opened on its own: an image document needs its inline styles, nothing else.
IMAGE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
ATTACHMENT_CSP = "default-src 'none'; sandbox"


def content_disposition(disposition, filename, fallback):
    """``attachment`` or ``inline`` with the file's own name, Chinese included: RFC 6266 ``filename*`` for every
    current browser, and a plain ASCII name for the rare client that reads only ``filename`` (``fallback``, a
    safe ASCII name, when the name has no ASCII letters or digits)."""
    stem, extension = split_extension(filename)
    plain = "".join(c for c in stem if c.isascii() and (c.isalnum() or c in "-_. ")).strip(" .-_")
    plain = plain + (extension or split_extension(fallback)[1]) if plain else fallback
    return f"{disposition}; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


def protect(response, content_type):
    """The headers every stored file gets."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = IMAGE_CSP if content_type in INLINE else ATTACHMENT_CSP
    return response
