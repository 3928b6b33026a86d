"""Make small, valid PDFs with a real text layer, for tests (no PDF library needed)."""

from __future__ import annotations


def escape(text: str) -> str:
    """`text` as the inside of a PDF string literal."""
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def assemble(objects: list[bytes], *, info: int | None = None) -> bytes:
    """A PDF file of `objects` (numbered from 1; object 1 is the catalog), with its xref table
    and trailer; `info` is the number of the document-information object, if any."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    info_entry = f" /Info {info} 0 R" if info is not None else ""
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R{info_entry} >>\n"
            f"startxref\n{xref}\n%%EOF\n").encode()
    return bytes(out)


def make_pdf(lines: list[str], *, title: str = "Dokumen uji") -> bytes:
    """A one-page PDF (Helvetica, WinAnsi) whose text layer holds `lines`."""
    content = "BT /F1 12 Tf 72 770 Td 16 TL " + " ".join(
        f"({escape(line)}) Tj T*" for line in lines) + " ET"
    stream = content.encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Title (" + escape(title).encode("latin-1", "replace") + b") >>",
    ]
    return assemble(objects, info=6)
