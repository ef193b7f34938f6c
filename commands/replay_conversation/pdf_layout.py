"""The PDF layout of a Markdown transcript (pdf.py's ``render``), on fpdf2.

A module of its own so that fpdf2 (with the fontTools and Pillow it loads: +34.5 MB) is imported by the first PDF
export, in the worker thread that renders it, not by every web process at start (docs/adr/0062-lean-web-process.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.fonts import FontFace

FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/local/share/fonts")
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf", "mono": "DejaVuSansMono.ttf"}
# relative column widths of the export's tables, by their first heading (wide enough for a time and an id unbroken)
WIDTHS: dict[str | int, tuple[int, ...]] = {
    "v": (4, 19, 27, 50),  # the timeline
    "time (UTC)": (19, 21, 18, 42),  # the audit trail
    10: (3, 20, 14, 4, 5, 9, 9, 7, 8, 21),  # the model calls
}
NEXT: dict[str, Any] = {"new_x": "LMARGIN", "new_y": "NEXT"}  # each block starts a line of its own
_SPLIT = re.compile(r"(?<!\\)\|")


class _Document(FPDF):
    def __init__(self) -> None:
        super().__init__(orientation="landscape", format="A4")
        self.set_auto_page_break(True, margin=12)
        self.set_margins(10, 10, 10)
        found = _fonts()
        self.unicode = found is not None
        if found is not None:
            self.add_font("body", "", found[""])
            self.add_font("body", "B", found["B"])
            self.add_font("mono", "", found["mono"])
            self.body, self.mono = "body", "mono"
        else:
            self.body, self.mono = "helvetica", "courier"
        self.alias_nb_pages()

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font(self.body, "", 7)
        self.cell(0, 5, f"page {self.page_no()} / {{nb}}", align="R")

    def text_of(self, text: str) -> str:
        """What the font can print: all of it in DejaVu; Latin-1 in the core fonts ("?" for the rest)."""
        return text if self.unicode else text.encode("latin-1", "replace").decode("latin-1")


def _fonts() -> dict[str, str] | None:
    for folder in FONT_DIRS:
        paths = {style: Path(folder) / name for style, name in FONT_FILES.items()}
        if all(p.is_file() for p in paths.values()):
            return {style: str(p) for style, p in paths.items()}
    return None


def _cells(line: str) -> list[str]:
    inner = line.strip()[1:-1]
    return [c.strip().replace("\\|", "|").replace("`", "") for c in _SPLIT.split(inner)]


def _lines(chunks: Iterable[str]) -> Iterator[str]:
    rest = ""
    for chunk in chunks:
        rest += chunk
        *whole, rest = rest.split("\n")
        yield from whole
    if rest:
        yield rest


def render(chunks: Iterable[str]) -> bytes:
    """The PDF of a Markdown transcript (export.markdown's chunks, read as they come). Blocks."""
    pdf = _Document()
    pdf.add_page()
    if not pdf.unicode:
        pdf.set_font(pdf.body, "", 8)
        pdf.multi_cell(0, 4, "Fonts: DejaVu Sans not found; characters outside Latin-1 are shown as '?'.", **NEXT)
    table: list[list[str]] = []
    code: list[str] | None = None
    for line in _lines(chunks):
        if code is not None:  # inside a ```json block
            if line.startswith("```"):
                pdf.set_font(pdf.mono, "", 7)
                pdf.multi_cell(0, 3.2, pdf.text_of("\n".join(code)), **NEXT)
                code = None
            else:
                code.append(line)
            continue
        if line.startswith("|"):
            if not set(line) <= set("|-: "):  # not the header's separator row
                table.append(_cells(line))
            continue
        if table:
            _table(pdf, table)
            table = []
        if line.startswith("```"):
            code = []
        elif line.startswith("# "):
            pdf.set_font(pdf.body, "B", 15)
            pdf.multi_cell(0, 8, pdf.text_of(line[2:]), **NEXT)
        elif line.startswith("## "):
            pdf.ln(2)
            pdf.set_font(pdf.body, "B", 12)
            pdf.multi_cell(0, 7, pdf.text_of(line[3:]), **NEXT)
        elif line.startswith("- "):
            pdf.set_font(pdf.body, "", 9)
            pdf.multi_cell(0, 5, pdf.text_of(("• " if pdf.unicode else "- ") + line[2:]), **NEXT)
        elif line.strip():
            pdf.set_font(pdf.body, "", 9)
            pdf.multi_cell(0, 5, pdf.text_of(line), **NEXT)
    if table:
        _table(pdf, table)
    return bytes(pdf.output())


def _table(pdf: _Document, rows: list[list[str]]) -> None:
    columns = len(rows[0])
    pdf.set_font(pdf.body, "", 7)
    widths: Any = WIDTHS.get(rows[0][0] if columns == 4 else columns)
    with pdf.table(
        col_widths=widths,
        line_height=3.6,
        text_align="LEFT",
        headings_style=FontFace(emphasis="BOLD", fill_color=(230, 230, 230)),
        first_row_as_headings=True,
    ) as table:
        for cells in rows:
            row = table.row()
            for i in range(columns):
                row.cell(pdf.text_of(cells[i] if i < len(cells) else ""))
    pdf.ln(2)
