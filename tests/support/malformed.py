"""A corpus of hostile and broken files, generated (nothing binary is kept in the repository).

Each `Sample` is a file an attacker or a broken scanner could send to the upload form: zip bombs
dressed as DOCX/XLSX/ODT, billion laughs and external entities in Office XML, PDFs with
decompression bombs, encryption or truncation, contents that lie about their extension,
polyglots, random bytes, and hostile filenames. `corpus()` yields them deterministically from a
seed.
"""

from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from tests.support.pdf import make_pdf

CONTENT_TYPES = (b'<?xml version="1.0" encoding="UTF-8"?>'
                 b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                 b'<Default Extension="xml" ContentType="application/xml"/>'
                 b'<Override PartName="/word/document.xml" ContentType="application/'
                 b'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
                 b"</Types>")
WORD_NS = b'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


@dataclass(frozen=True)
class Sample:
    kind: str  # the family, for the report
    filename: str
    body: bytes
    content_type: str = "application/octet-stream"


def _zip(entries: list[tuple[str, bytes]], *, level: int = 9) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


def _docx(document_xml: bytes, extra: list[tuple[str, bytes]] | None = None) -> bytes:
    return _zip([("[Content_Types].xml", CONTENT_TYPES),
                 ("_rels/.rels", b'<?xml version="1.0"?><Relationships xmlns="http://schemas.'
                  b'openxmlformats.org/package/2006/relationships"/>'),
                 ("word/document.xml", document_xml), *(extra or [])])


def _xlsx(sheet_xml: bytes) -> bytes:
    return _zip([("[Content_Types].xml", CONTENT_TYPES.replace(b"word/document", b"xl/sheet")),
                 ("xl/workbook.xml", b"<workbook/>"), ("xl/worksheets/sheet1.xml", sheet_xml)])


def _odt(content_xml: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), b"application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", content_xml, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("META-INF/manifest.xml", b"<manifest/>",
                         compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _word_body(text: bytes) -> bytes:
    return (b'<?xml version="1.0"?><w:document ' + WORD_NS + b"><w:body><w:p><w:r><w:t>" + text
            + b"</w:t></w:r></w:p></w:body></w:document>")


def zip_bombs(rng: random.Random) -> Iterator[Sample]:
    """Archives far larger inside than outside, or with very many entries."""
    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    for n in range(8):
        inflated = (n + 1) * 256 * 1024 * 1024  # 256 MB .. 2 GB of one repeated byte
        fill = bytes([rng.randrange(256)])
        yield Sample("zip-bomb", f"bom-{n}.docx",
                     _bomb_zip([("word/document.xml", fill, inflated)]), docx)
        # The same bomb with headers that claim it holds a few kilobytes.
        yield Sample("zip-bomb-lying", f"bohong-{n}.docx",
                     _bomb_zip([("word/document.xml", fill, inflated)], declared=4096), docx)
    for n in range(6):
        entries = [(f"word/media/p{i}.xml", b"<a/>") for i in range(5000 * (n + 1))]
        yield Sample("zip-many-entries", f"banyak-{n}.docx", _docx(_word_body(b"x"), entries))
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    for n in range(6):
        yield Sample("zip-bomb", f"lembar-{n}.xlsx",
                     _bomb_zip([("xl/worksheets/sheet1.xml", b"<c><v>1</v></c>",
                                 (n + 1) * 300 * 1024 * 1024)],
                               declared=None if n % 2 else 2048), xlsx)
    inner = _bomb_zip([("a.xml", b"0", 1024 * 1024 * 1024)])
    for n in range(4):
        nested = _zip([(f"inner{i}.zip", inner) for i in range(n + 1)], level=0)
        yield Sample("zip-nested", f"bersarang-{n}.docx",
                     _docx(_word_body(b"y"), [("word/embeddings/x.zip", nested)]))


def _deflated_repeats(fill: bytes, total: int) -> tuple[bytes, int]:
    """Raw deflate of `fill` repeated up to `total` bytes, built in a moment.

    A full flush after one megabyte makes its compressed form independent of what came
    before, so the stream is that form repeated: a gigabyte costs one megabyte of zlib.
    The CRC is left at 0 (computing it would cost the whole gigabyte): a reader only
    learns that after it has inflated everything, which is what a bomb is for.
    """
    chunk = (fill * (1024 * 1024 // len(fill) + 1))[:1024 * 1024]
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    if total <= len(chunk):
        return _deflated_once(chunk[:total])
    return block * (total // len(chunk)) + b"\x03\x00", 0  # an empty final block ends it


def _bomb_zip(entries: list[tuple[str, bytes, int]], *, declared: int | None = None) -> bytes:
    """A zip of [Content_Types].xml and entries `(name, fill, inflated size)`.

    `declared`, when given, is the uncompressed size written in the headers instead of the
    true one: the archive lies, and only a reader that counts what it inflates notices.
    """
    files = [("[Content_Types].xml", *_deflated_once(CONTENT_TYPES))]
    files += [(name, *_deflated_repeats(fill, size)) for name, fill, size in entries]
    sizes = {"[Content_Types].xml": len(CONTENT_TYPES)}
    sizes.update({name: size for name, _, size in entries})
    body, directory = io.BytesIO(), io.BytesIO()
    for name, data, crc in files:
        offset, raw = body.tell(), name.encode()
        size = sizes[name] if declared is None or name.startswith("[") else declared
        size = size - size % (1024 * 1024) if size > 1024 * 1024 else size
        body.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x5B21, crc, len(data),
                               size, len(raw), 0) + raw + data)
        directory.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x5B21,
                                    crc, len(data), size, len(raw), 0, 0, 0, 0, 0, offset) + raw)
    central = directory.getvalue()
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(files), len(files), len(central),
                      body.tell(), 0)
    return body.getvalue() + central + end


def _deflated_once(data: bytes) -> tuple[bytes, int]:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(), zlib.crc32(data)


def xml_attacks(rng: random.Random) -> Iterator[Sample]:
    """Entity expansion and external entities inside Office and ODF XML."""
    laughs = (b'<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY lol "lol">'
              + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1
                                                         else b"&lol;") * 10)
                         for i in range(1, 10))
              + b"]>")
    for n in range(8):
        depth = 5 + n % 5
        body = laughs + b"<w:document " + WORD_NS + b"><w:body><w:p><w:r><w:t>&lol%d;" % depth \
            + b"</w:t></w:r></w:p></w:body></w:document>"
        yield Sample("billion-laughs", f"tawa-{n}.docx", _docx(body))
        yield Sample("billion-laughs", f"tawa-{n}.odt", _odt(body.replace(b"w:document",
                                                                          b"office:document")))
    targets = [b"file:///etc/passwd", b"file:///proc/self/environ", b"http://127.0.0.1:9200/",
               b"http://169.254.169.254/latest/meta-data/", b"file:///dev/zero"]
    for n, target in enumerate(targets * 2):
        body = (b'<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY xxe SYSTEM "' + target
                + b'">]><w:document ' + WORD_NS + b"><w:body><w:p><w:r><w:t>&xxe;"
                b"</w:t></w:r></w:p></w:body></w:document>")
        yield Sample("xxe", f"entitas-{n}.docx", _docx(body))
        sheet = (b'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "' + target
                 + b'">]><worksheet><sheetData><row><c t="inlineStr"><is><t>&xxe;</t></is></c>'
                 b"</row></sheetData></worksheet>")
        yield Sample("xxe", f"entitas-{n}.xlsx", _xlsx(sheet))


def _pdf_with_stream(stream: bytes, filters: bytes) -> bytes:
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
               b"<< /Length %d /Filter %s >>\nstream\n" % (len(stream), filters) + stream
               + b"\nendstream"]
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objects) + 1, xref))
    return out.getvalue()


def pdf_attacks(rng: random.Random) -> Iterator[Sample]:
    """Decompression bombs, nested filters, encryption, truncation and broken structure."""
    compressor = zlib.compressobj(9)
    chunk = bytes(1024 * 1024)
    bomb = b"".join(compressor.compress(chunk) for _ in range(200)) + compressor.flush()
    for n in range(10):
        inner, filters = bomb, b"/FlateDecode"
        for _ in range(n % 3):  # the same bomb behind one, two or three filters
            inner = zlib.compress(inner, 9)
            filters = b"[/FlateDecode " + filters.strip(b"[]") + b"]"
        yield Sample("pdf-bomb", f"bom-{n}.pdf", _pdf_with_stream(inner, filters),
                     "application/pdf")
    base = make_pdf(["Laporan hasil pengawasan", "Halaman kedua berisi tabel"])
    for n in range(40):
        cut = rng.randrange(16, len(base) - 1)
        yield Sample("pdf-truncated", f"terpotong-{n}.pdf", base[:cut], "application/pdf")
    for n in range(10):
        yield Sample("pdf-encrypted", f"terkunci-{n}.pdf", _encrypted_pdf(base, n),
                     "application/pdf")
    for n in range(15):
        broken = bytearray(base)
        for _ in range(20):
            broken[rng.randrange(len(broken))] = rng.randrange(256)
        yield Sample("pdf-corrupt", f"rusak-{n}.pdf", bytes(broken), "application/pdf")
    for n in range(5):
        loop = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
                b"2 0 obj << /Type /Pages /Kids [2 0 R] /Count 99999999 >> endobj\n"
                b"trailer << /Root 1 0 R >>\n%%EOF\n") * (n + 1)
        yield Sample("pdf-loop", f"lingkar-{n}.pdf", loop, "application/pdf")


def _encrypted_pdf(base: bytes, n: int) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(base)))
    writer.encrypt(user_password=f"rahasia{n}" if n % 2 else "", owner_password=f"pemilik{n}")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def lies_and_polyglots(rng: random.Random) -> Iterator[Sample]:
    """Contents that are not what their name or declared type says."""
    executable = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(200)
    elf = b"\x7fELF\x02\x01\x01" + bytes(120)
    html = b"<!doctype html><html><script>alert(document.cookie)</script></html>"
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    shell = b"#!/bin/sh\nrm -rf /\n"
    for n, (body, kind) in enumerate([(executable, "exe"), (elf, "elf"), (html, "html"),
                                      (svg, "svg"), (shell, "sh")] * 4):
        name = ["laporan.pdf", "foto.jpg", "data.xlsx", "surat.docx"][n % 4]
        declared = ["application/pdf", "image/jpeg", "text/plain", "application/msword"][n % 4]
        yield Sample(f"mismatch-{kind}", f"{n}-{name}", body, declared)
    pdf = make_pdf(["Isi yang sah"])
    for n in range(8):
        archive = _zip([("payload.exe", executable), ("x.js", b"alert(1)")])
        yield Sample("polyglot-pdf-zip", f"poliglot-{n}.pdf", pdf + archive, "application/pdf")
        yield Sample("polyglot-zip-pdf", f"poliglot-{n}.docx", archive + pdf)
    jpeg_head = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    png_head = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x7f\xff\x00\x00\x7f\xff\x08\x02"
    tiff_head = b"II*\x00\x08\x00\x00\x00\xff\xff"
    for n in range(10):
        junk = rng.randbytes(rng.randrange(10, 4000))
        yield Sample("image-broken", f"gambar-{n}.jpg", jpeg_head + junk, "image/jpeg")
        yield Sample("image-broken", f"gambar-{n}.png", png_head + junk, "image/png")
        yield Sample("image-broken", f"gambar-{n}.tif", tiff_head + junk, "image/tiff")
    for n in range(40):
        yield Sample("random", f"acak-{n}.pdf", rng.randbytes(rng.randrange(1, 50_000)))
    for n in range(5):
        yield Sample("empty", f"kosong-{n}.txt", b"", "text/plain")
    for n in range(5):
        yield Sample("binary-text", f"biner-{n}.txt", b"\x00\x01\x02" * 1000, "text/plain")


HOSTILE_NAMES = [
    "../../etc/passwd", "..\\..\\windows\\system32\\config\\sam", "/etc/shadow",
    "....//....//x.txt", "%2e%2e%2fetc%2fpasswd", "laporan\x00.exe.txt", "a\r\nX-Injected: 1.txt",
    "\u202etxt.exe", "con.txt", "nul", "   .txt", ".", "..", "~/.ssh/id_rsa", "$(reboot).txt",
    "`id`.txt", "<script>alert(1)</script>.txt", "laporan\x1b[31m.txt", "\t\n\v\f.txt",
    "x" * 300 + ".txt", "Ω" * 2000 + ".txt", "😀" * 500 + ".txt", "تقرير.txt", "laporan%00.txt",
]


def hostile_filenames(rng: random.Random) -> Iterator[Sample]:
    """Ordinary text under names that try to be paths, commands, markup or terminal codes."""
    for n, name in enumerate(HOSTILE_NAMES * 2):
        yield Sample("filename", name, f"Catatan rapat nomor {n}.\n".encode(), "text/plain")


def corpus(seed: int = 2026) -> list[Sample]:
    """Every sample, in a stable order."""
    rng = random.Random(seed)
    samples: list[Sample] = []
    for family in (zip_bombs, xml_attacks, pdf_attacks, lies_and_polyglots, hostile_filenames):
        samples.extend(family(rng))
    return samples
