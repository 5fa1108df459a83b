"""Render a label `Document` (shelf label, shipping label, packing slip) to ZPL II for Zebra-type printers.

Blocks flow top to bottom on the label; a block that does not fit starts the next label (a long packing slip
prints on as many labels as it needs, nothing is clipped). Text uses the scalable font 0 in one-line field
blocks (^FB) so alignment is done by the printer; field data goes through ^FH hex escapes (^, ~ and \\ would
otherwise be read as commands) and ^CI28 (UTF-8) so € and accented letters print.
Barcodes: ^BC Code 128; GS1-128 as ^BC with ">;>8" (start in subset C, then FNC1) when every part between
FNC1s is an even run of digits (SSCC, GTIN, dates), else ^BC mode D (the printer's UCC/EAN mode);
^BE EAN-13; ^BQ QR; ^BX DataMatrix. Module widths are whole dots (2-4) and chosen to fit the label.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import zxingcpp
from biip.gs1_messages import GS1Message
from PIL import Image as PILImage
from PIL import ImageOps

from app.documents.model import Barcode, Columns, Cut, Document, Feed, Image, Qr, Rule, Text, wrap

DEFAULT_DPI = 203
# Label sizes in inches (width, height) by document kind.
MEDIA_BY_KIND: dict[str, tuple[float, float]] = {
    "shipping_label": (4.0, 6.0),
    "packing_slip": (4.0, 6.0),
    "shelf_label": (2.25, 1.25),
}
DEFAULT_MEDIA = (4.0, 6.0)


@dataclass(frozen=True)
class LabelGeometry:
    """Label size and layout figures in printer dots."""

    width: int
    height: int
    margin: int
    char_width: int
    font_height: int
    line_height: int
    barcode_height: int


def geometry_for(
    document: Document, dpi: int = DEFAULT_DPI, media: tuple[float, float] | None = None
) -> LabelGeometry:
    """Dots for a document's label: 4x6 in for shipping labels and slips, 2.25x1.25 in for shelf labels."""
    width_in, height_in = media or MEDIA_BY_KIND.get(document.kind, DEFAULT_MEDIA)
    width, height = round(width_in * dpi), round(height_in * dpi)
    margin = max(8, round(0.06 * dpi))
    char_width = max(8, (width - 2 * margin) // document.width_chars)
    small = height_in < 2
    # Shelf labels are short: a slightly squatter font keeps name, price, unit price and barcode on one label.
    font_height = round(char_width * (1.3 if small else 1.5))
    return LabelGeometry(
        width=width,
        height=height,
        margin=margin,
        char_width=char_width,
        font_height=font_height,
        line_height=font_height + max(2, font_height // 6),
        barcode_height=round(dpi * (0.25 if small else 0.6)),
    )


def escape_field(text: str) -> str:
    r"""Field data for use after ^FH\: the three characters ZPL would read as commands become hex escapes."""
    return text.replace("\\", "\\5C").replace("^", "\\5E").replace("~", "\\7E")


def gs1_128_field_data(hri: str) -> tuple[str, str]:
    """(^BC mode, ^FD data) for a GS1 element string given as "(AI)value(AI)value".

    FNC1 (">8") separates a variable-length element from the next, as GS1 requires.
    """
    message = GS1Message.parse_hri(hri)
    elements = list(message.element_strings)
    runs: list[str] = []
    current = ""
    for index, element in enumerate(elements):
        current += element.ai.ai + element.value
        if element.ai.separator_required and index < len(elements) - 1:
            runs.append(current)
            current = ""
    runs.append(current)
    if all(run.isdigit() and len(run) % 2 == 0 for run in runs):
        return "N", ">;>8" + ">8".join(runs)
    # Mixed or odd-length data: let the printer's UCC/EAN mode pick the subsets.
    return "D", ">8".join(runs)


def _linear_modules(data: str, gs1: bool) -> int:
    """Width in modules of the Code 128 symbol for data (zxing-cpp picks subsets as a printer would)."""
    created = zxingcpp.create_barcode(data, zxingcpp.BarcodeFormat.Code128, gs1=gs1)
    return int(np.asarray(created.to_image(scale=1, add_quiet_zones=False)).shape[1])


class _ZplWriter:
    def __init__(self, document: Document, geometry: LabelGeometry, dpi: int) -> None:
        self.document = document
        self.g = geometry
        self.dpi = dpi
        self.labels: list[list[str]] = [[]]
        self.y = geometry.margin
        self.usable = geometry.width - 2 * geometry.margin

    # -- layout helpers -------------------------------------------------------------------------------------
    def _reserve(self, height: int) -> int:
        """Top y for a block of `height` dots, starting a new label when it does not fit on this one."""
        if self.y + height > self.g.height - self.g.margin and self.labels[-1]:
            self.labels.append([])
            self.y = self.g.margin
        top = self.y
        self.y += height
        return top

    def _emit(self, command: str) -> None:
        self.labels[-1].append(command)

    def _font(self, size: int) -> str:
        return f"^A0N,{self.g.font_height * size},{self.g.char_width * size}"

    def _line(self, text: str, size: int = 1, align: str = "L", bold: bool = False) -> None:
        top = self._reserve(self.g.line_height * size)
        data = escape_field(text)
        field = f"^FO{self.g.margin},{top}{self._font(size)}^FB{self.usable},1,0,{align}^FH\\^FD{data}^FS"
        self._emit(field)
        if bold:
            # Font 0 has no bold variant: overprint one dot to the right, as Zebra's own templates do.
            self._emit(field.replace(f"^FO{self.g.margin},", f"^FO{self.g.margin + 2},", 1))

    # -- blocks ---------------------------------------------------------------------------------------------
    def render(self) -> bytes:
        for block in self.document.blocks:
            if isinstance(block, Text):
                align = {"left": "L", "center": "C", "right": "R"}[block.align]
                for line in wrap(block.text, self.document.width_chars // block.size):
                    self._line(line, block.size, align, block.bold)
                    if block.underline:
                        self._emit(f"^FO{self.g.margin},{self.y - 2}^GB{self.usable},2,2^FS")
            elif isinstance(block, Columns):
                self._columns(block)
            elif isinstance(block, Rule):
                thickness = 4 if block.char == "=" else 2
                top = self._reserve(thickness + 10)
                self._emit(f"^FO{self.g.margin},{top + 5}^GB{self.usable},{thickness},{thickness}^FS")
            elif isinstance(block, Barcode):
                self._barcode(block)
            elif isinstance(block, Qr):
                self._qr(block)
            elif isinstance(block, Image):
                self._image(block)
            elif isinstance(block, Feed):
                self.y += block.lines * self.g.line_height
            elif isinstance(block, Cut):
                pass  # labels are separated by the media itself
        header = f"^XA^CI28^PW{self.g.width}^LL{self.g.height}^LH0,0"
        labels = [header + "\n" + "\n".join(commands) + "\n^XZ\n" for commands in self.labels]
        return "".join(labels).encode("utf-8")

    def _columns(self, block: Columns) -> None:
        width = self.document.width_chars
        if len(block.left) + 1 + len(block.right) <= width:
            top = self._reserve(self.g.line_height)
            for text, align in ((block.left, "L"), (block.right, "R")):
                self._emit(
                    f"^FO{self.g.margin},{top}{self._font(1)}^FB{self.usable},1,0,{align}"
                    f"^FH\\^FD{escape_field(text)}^FS"
                )
            return
        for line in wrap(block.left, width):
            self._line(line, bold=block.bold)
        if block.right:
            self._line(block.right, align="R", bold=block.bold)

    def _module_width(self, modules: int) -> int:
        for dots in (4, 3, 2):
            if modules * dots <= self.usable:
                return dots
        raise ValueError("barcode too wide for this label")

    def _barcode(self, block: Barcode) -> None:
        height = self.g.barcode_height
        hri_height = self.g.line_height if block.hri else 0
        if block.symbology == "datamatrix":
            self._datamatrix(block)
            return
        if block.symbology == "ean13":
            module = self._module_width(113)
            x = self.g.margin + (self.usable - 113 * module) // 2
            top = self._reserve(height + hri_height + 10)
            hri = "Y" if block.hri else "N"
            self._emit(f"^FO{x},{top}^BY{module},3,{height}^BEN,{height},{hri},N^FD{block.data[:12]}^FS")
            return
        if block.symbology == "gs1_128":
            mode, data = gs1_128_field_data(block.data)
            modules = _linear_modules(block.data, gs1=True)
            # The printer would print the digits without the AI parentheses; print the proper HRI ourselves.
            interpretation = "N"
        else:
            mode, data = "N", block.data.replace(">", "><")
            modules = _linear_modules(block.data, gs1=False)
            interpretation = "Y" if block.hri else "N"
        module = self._module_width(modules)
        x = self.g.margin + max(0, (self.usable - modules * module) // 2)
        own_hri = block.symbology == "gs1_128" and block.hri
        top = self._reserve(height + (0 if own_hri else hri_height) + 10)
        self._emit(
            f"^FO{x},{top}^BY{module},3,{height}^BCN,{height},{interpretation},N,N,{mode}"
            f"^FH\\^FD{escape_field(data)}^FS"
        )
        if own_hri:
            self._line(block.data, align="C")

    def _symbol_size(self, data: str, fmt: zxingcpp.BarcodeFormat) -> int:
        # Ask zxing-cpp for the symbol the printer will build, to know its size in modules before placing it.
        created = zxingcpp.create_barcode(data, fmt)
        return int(np.asarray(created.to_image(scale=1, add_quiet_zones=False)).shape[1])

    def _qr(self, block: Qr) -> None:
        modules = self._symbol_size(block.data, zxingcpp.BarcodeFormat.QRCode)
        limit = min(self.usable, self.g.height // 3)
        magnification = max(2, min(10, limit // (modules + 8)))
        size = (modules + 8) * magnification
        x = self.g.margin + (self.usable - size) // 2
        top = self._reserve(size + 10)
        # ^BQ: normal orientation, model 2; "MA," = error correction M, automatic data mode.
        self._emit(f"^FO{x},{top}^BQN,2,{magnification}^FH\\^FDMA,{escape_field(block.data)}^FS")

    def _datamatrix(self, block: Barcode) -> None:
        modules = self._symbol_size(block.data, zxingcpp.BarcodeFormat.DataMatrix)
        module = max(3, min(10, min(self.usable, self.g.height // 3) // (modules + 2)))
        size = modules * module
        x = self.g.margin + (self.usable - size) // 2
        top = self._reserve(size + 10)
        self._emit(f"^FO{x},{top}^BXN,{module},200^FH\\^FD{escape_field(block.data)}^FS")

    def _image(self, block: Image) -> None:
        path = Path(block.path_or_key)
        if not path.is_file():
            return  # a missing logo never stops a label
        with PILImage.open(path) as opened:
            picture = opened.convert("L")
        if picture.width > self.usable:
            picture = picture.resize(
                (self.usable, max(1, round(picture.height * self.usable / picture.width)))
            )
        # ^GF wants 1 = black; PIL's "1" mode has 0 = black, so invert first.
        bits = ImageOps.invert(picture).convert("1")
        row_bytes = math.ceil(bits.width / 8)
        data = bits.tobytes()
        top = self._reserve(bits.height + 10)
        self._emit(
            f"^FO{self.g.margin + (self.usable - bits.width) // 2},{top}"
            f"^GFA,{len(data)},{len(data)},{row_bytes},{data.hex().upper()}^FS"
        )


def render_zpl(document: Document, dpi: int = DEFAULT_DPI, media: tuple[float, float] | None = None) -> bytes:
    """ZPL II bytes (UTF-8) for a label document: one ^XA..^XZ per label. media: (width, height) in inches."""
    return _ZplWriter(document, geometry_for(document, dpi, media), dpi).render()
