"""Render a `Document` to PDF bytes with reportlab: receipts on an 80 or 58 mm roll, labels on 4x6 in and
2.25x1.25 in pages. Used for printers driven through CUPS, for e-mailed receipts and for the demo counter.

Fonts: DejaVu Sans when it is installed (found by walking the usual font folders, without matplotlib or
fontconfig), because the core Helvetica has no glyphs outside Latin-1 and € would print as a black box; else
Helvetica. Barcodes are drawn as vectors with reportlab.graphics.barcode at a narrow bar of 3 (at least 2)
printer dots at 203 dpi, since thinner bars were unreadable once rasterised. GS1-128 is reportlab's Code 128
with FNC1 ("\\xf1") in front and after each variable-length element. DataMatrix comes from zxing-cpp (reportlab's
own encoder pads with NUL characters that scanners return as data) and is drawn as vector squares.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import zxingcpp
from biip.gs1_messages import GS1Message
from reportlab.graphics import renderPDF
from reportlab.graphics.barcode import createBarcodeDrawing
from reportlab.graphics.shapes import Drawing, Rect
from reportlab.lib.colors import black
from reportlab.lib.units import inch, mm
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from app.documents.model import Barcode, Columns, Cut, Document, Feed, Image, Qr, Rule, Text, wrap

log = logging.getLogger(__name__)

PRINTER_DPI = 203
MIN_BAR_DOTS = 2
PREFERRED_BAR_DOTS = 3
FNC1 = "\xf1"

PAGE_BY_KIND: dict[str, tuple[float, float]] = {
    "shipping_label": (4 * inch, 6 * inch),
    "packing_slip": (4 * inch, 6 * inch),
    "shelf_label": (2.25 * inch, 1.25 * inch),
}
FONT_DIRS = (
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    "~/.local/share/fonts",
    "~/.fonts",
    "/Library/Fonts",
    "~/Library/Fonts",
    "C:/Windows/Fonts",
)


@dataclass(frozen=True)
class Fonts:
    regular: str
    bold: str
    mono: str
    mono_bold: str


def _find_font_file(name: str, folders: Iterable[str]) -> Path | None:
    for folder in folders:
        root = Path(folder).expanduser()
        if not root.is_dir():
            continue
        for dirpath, _dirs, files in os.walk(root):
            if name in files:
                return Path(dirpath) / name
    return None


@lru_cache(maxsize=1)
def document_fonts() -> Fonts:
    """Register DejaVu Sans and Sans Mono (regular and bold) if present; else Helvetica and Courier."""
    extra = os.environ.get("COUNTERLINE_FONT_DIR")
    folders = ([extra] if extra else []) + list(FONT_DIRS)
    names = ("DejaVuSans", "DejaVuSans-Bold", "DejaVuSansMono", "DejaVuSansMono-Bold")
    files = [_find_font_file(f"{name}.ttf", folders) for name in names]
    if any(found is None for found in files):
        return Fonts("Helvetica", "Helvetica-Bold", "Courier", "Courier-Bold")
    for name, found in zip(names, files, strict=True):
        pdfmetrics.registerFont(TTFont(name, str(found)))
    return Fonts(*names)


def dots(count: float) -> float:
    """Printer dots at 203 dpi in PDF points."""
    return count * 72.0 / PRINTER_DPI


def page_size(document: Document, roll_mm: float | None = None) -> tuple[float, float | None]:
    """(width, height) in points; height None means "as long as the content" (receipt rolls)."""
    if document.kind in PAGE_BY_KIND:
        return PAGE_BY_KIND[document.kind]
    width_mm = roll_mm or (58 if document.width_chars <= 32 else 80)
    return width_mm * mm, None


def gs1_128_code128_value(hri: str) -> str:
    """The Code 128 data for a GS1 element string: FNC1 first and after every variable-length element."""
    elements = list(GS1Message.parse_hri(hri).element_strings)
    value = FNC1
    for index, element in enumerate(elements):
        value += element.ai.ai + element.value
        if element.ai.separator_required and index < len(elements) - 1:
            value += FNC1
    return value


class _PdfWriter:
    def __init__(self, document: Document, width: float, height: float | None, scale: float = 1.0) -> None:
        self.document = document
        self.fonts = document_fonts()
        self.width = width
        self.margin = 3 * mm if width < 3 * inch else 5 * mm
        self.usable = width - 2 * self.margin
        # Size the font so width_chars average characters fill the line (average glyph ~0.55 em).
        self.font_size = min(14.0, self.usable / document.width_chars / 0.55) * scale
        self.line_height = self.font_size * 1.25
        self.fixed_height = height
        # Small labels (shelf edge) get short bars; the bar width, which decides readability, never shrinks.
        self.barcode_height = 12 * mm if height is None or height > 2 * inch else height * 0.3

    def _barcode_drawing(self, block: Barcode) -> Drawing:
        height = self.barcode_height
        for bar_dots in (PREFERRED_BAR_DOTS, MIN_BAR_DOTS):
            # Quiet zones (10 modules each side) are left to the page margins so that 58 mm rolls still fit.
            common = {"barWidth": dots(bar_dots), "barHeight": height, "quiet": False}
            if block.symbology == "ean13":
                drawing = createBarcodeDrawing(
                    "EAN13",
                    value=block.data[:12],
                    humanReadable=block.hri,
                    fontName=self.fonts.regular,
                    fontSize=self.font_size * 0.9,
                    **common,
                )
            elif block.symbology == "gs1_128":
                drawing = createBarcodeDrawing(
                    "Code128", value=gs1_128_code128_value(block.data), humanReadable=False, **common
                )
            elif block.symbology == "datamatrix":
                return self._datamatrix_drawing(block.data)
            else:
                drawing = createBarcodeDrawing(
                    "Code128",
                    value=block.data,
                    humanReadable=block.hri,
                    fontName=self.fonts.regular,
                    fontSize=self.font_size * 0.9,
                    **common,
                )
            if drawing.width + 20 * dots(bar_dots) <= self.width:
                return drawing
        raise ValueError(f"{block.symbology} barcode for {block.data!r} does not fit the page width")

    def _datamatrix_drawing(self, data: str) -> Drawing:
        # reportlab's ECC200 encoder pads with NUL characters that scanners then return as data, so the
        # symbol comes from zxing-cpp and is drawn here as vector squares, 4 printer dots per module.
        matrix = np.asarray(
            zxingcpp.create_barcode(data, zxingcpp.BarcodeFormat.DataMatrix).to_image(
                scale=1, add_quiet_zones=False
            )
        )
        module = dots(4)
        rows, cols = matrix.shape
        drawing = Drawing(cols * module, rows * module)
        for row in range(rows):
            for col in range(cols):
                if matrix[row, col] < 128:
                    y = (rows - 1 - row) * module
                    drawing.add(Rect(col * module, y, module, module, fillColor=black, strokeColor=None))
        return drawing

    def _qr_drawing(self, block: Qr) -> Drawing:
        side = min(self.usable, 30 * mm, (self.fixed_height or 1e9) / 2)
        return createBarcodeDrawing("QR", value=block.data, barWidth=side, barHeight=side, barBorder=2)

    def _text_lines(self, text: str, font: str, size: float) -> list[str]:
        lines: list[str] = []
        for paragraph in text.split("\n"):
            lines.extend(simpleSplit(paragraph, font, size, self.usable) or [""])
        return lines

    def layout(self, canvas: Canvas | None, page_height: float) -> float:
        """Draw (or, without a canvas, only measure) the document; returns the height used on the last page."""
        y = page_height - self.margin

        def need(height: float) -> None:
            nonlocal y
            if canvas is not None and self.fixed_height is not None and y - height < self.margin:
                canvas.showPage()
                y = page_height - self.margin

        for block in self.document.blocks:
            if isinstance(block, Text):
                font = self.fonts.bold if block.bold else self.fonts.regular
                size = self.font_size * block.size
                lines = self._text_lines(block.text, font, size)
                if "  " in block.text:
                    # Runs of spaces mean the builder aligned columns by characters (tax table, indented
                    # detail lines): keep them in a monospaced font sized so width_chars fill the line.
                    font = self.fonts.mono_bold if block.bold else self.fonts.mono
                    size = self.usable / self.document.width_chars / 0.61 * block.size
                    lines = wrap(block.text, self.document.width_chars // block.size)
                for line in lines:
                    need(size * 1.25)
                    y -= size * 1.25
                    if canvas is not None:
                        canvas.setFont(font, size)
                        x = {"left": self.margin, "center": self.width / 2, "right": self.width - self.margin}
                        draw = {
                            "left": canvas.drawString,
                            "center": canvas.drawCentredString,
                            "right": canvas.drawRightString,
                        }[block.align]
                        draw(x[block.align], y + size * 0.25, line)
                        if block.underline:
                            text_width = pdfmetrics.stringWidth(line, font, size)
                            start = {
                                "left": self.margin,
                                "center": (self.width - text_width) / 2,
                                "right": self.width - self.margin - text_width,
                            }[block.align]
                            canvas.line(start, y + size * 0.1, start + text_width, y + size * 0.1)
            elif isinstance(block, Columns):
                font = self.fonts.bold if block.bold else self.fonts.regular
                right_width = pdfmetrics.stringWidth(block.right, font, self.font_size)
                left_lines = simpleSplit(block.left, font, self.font_size, self.usable) or [""]
                last_width = pdfmetrics.stringWidth(left_lines[-1], font, self.font_size)
                own_line = last_width + right_width + self.font_size > self.usable
                for index, line in enumerate(left_lines):
                    need(self.line_height)
                    y -= self.line_height
                    if canvas is not None:
                        canvas.setFont(font, self.font_size)
                        canvas.drawString(self.margin, y + self.font_size * 0.25, line)
                        if index == len(left_lines) - 1 and not own_line:
                            canvas.drawRightString(
                                self.width - self.margin, y + self.font_size * 0.25, block.right
                            )
                if own_line and block.right:
                    need(self.line_height)
                    y -= self.line_height
                    if canvas is not None:
                        canvas.setFont(font, self.font_size)
                        canvas.drawRightString(
                            self.width - self.margin, y + self.font_size * 0.25, block.right
                        )
            elif isinstance(block, Rule):
                need(self.line_height * 0.6)
                y -= self.line_height * 0.6
                if canvas is not None:
                    canvas.setLineWidth(1.2 if block.char == "=" else 0.5)
                    canvas.line(
                        self.margin,
                        y + self.line_height * 0.3,
                        self.width - self.margin,
                        y + self.line_height * 0.3,
                    )
            elif isinstance(block, Barcode | Qr):
                drawing = (
                    self._barcode_drawing(block) if isinstance(block, Barcode) else self._qr_drawing(block)
                )
                hri_below = isinstance(block, Barcode) and block.symbology == "gs1_128" and block.hri
                total = drawing.height + (self.line_height if hri_below else 0) + self.line_height * 0.5
                need(total)
                y -= drawing.height + self.line_height * 0.25
                if canvas is not None:
                    renderPDF.draw(drawing, canvas, (self.width - drawing.width) / 2, y)
                if hri_below:
                    y -= self.line_height
                    if canvas is not None:
                        canvas.setFont(self.fonts.regular, self.font_size)
                        canvas.drawCentredString(self.width / 2, y + self.font_size * 0.25, block.data)
                y -= self.line_height * 0.25
            elif isinstance(block, Image):
                try:
                    reader = ImageReader(block.path_or_key)
                except OSError as err:
                    log.warning("logo %r not drawn: %s", block.path_or_key, err)
                    continue
                pixel_w, pixel_h = reader.getSize()
                draw_w = min(self.usable, dots(pixel_w))
                draw_h = draw_w * pixel_h / pixel_w
                need(draw_h)
                y -= draw_h
                if canvas is not None:
                    canvas.drawImage(reader, (self.width - draw_w) / 2, y, draw_w, draw_h, mask="auto")
            elif isinstance(block, Feed):
                y -= self.line_height * block.lines
            elif isinstance(block, Cut):
                pass  # a PDF page has nothing to cut
        return page_height - y + self.margin


def render_pdf(document: Document, roll_mm: float | None = None) -> bytes:
    """PDF bytes for a document. Receipts get a page as long as their content on a roll_mm-wide page
    (80 or 58 mm, chosen from width_chars when not given); labels a 4x6 in or 2.25x1.25 in page each."""
    width, height = page_size(document, roll_mm)
    writer = _PdfWriter(document, width, height)
    if height is not None:
        # A label that almost fits is set a little smaller rather than split over two labels; a long
        # packing slip still continues on further pages.
        for scale in (0.9, 0.8, 0.7, 0.6):
            if writer.layout(None, 0.0) <= height:
                break
            writer = _PdfWriter(document, width, height, scale)
    page_height = height if height is not None else writer.layout(None, 0.0)
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(width, page_height), pageCompression=1)
    canvas.setTitle(document.kind)
    writer.layout(canvas, page_height)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
