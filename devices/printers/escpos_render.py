"""Render a device-neutral `Document` to ESC/POS bytes for receipt printers, through python-escpos.

Commands are built on an `escpos.printer.Dummy` (which only collects bytes) with a capability profile, so
this module never touches a connection; connectors move the bytes. Choices made here, and why:
- Profile "TM-T88V" for 80 mm rolls and "RP-F10-58mm" for 58 mm; the font is the first of the profile's fonts
  with at least the document's width in columns (a 48-character receipt uses Font B on a TM-T88V, whose
  Font A has only 42 columns), so columns and rules line up exactly.
- Hardware Code 128 needs the code-set prefix "{B" in the data (python-escpos passes the data straight to
  GS k and the printer reads the first two bytes as the code set); without it the printer prints nothing.
- GS1-128 cannot be sent to the printer in hardware through python-escpos (it has no way to put FNC1 in the
  data), and DataMatrix has no ESC/POS command on most printers: both are drawn in software with zxing-cpp
  and sent as a raster image at a whole number of dots per module (never below 2).
- QR uses the printer's own QR command (`native=True`, ~50 bytes instead of a ~600-byte image) when the
  profile supports it; otherwise it falls back to python-escpos' software QR.
- The capabilities database location for bundled builds (`ESCPOS_CAPABILITIES_FILE`) is handled in
  `devices.printers.escpos_env`, which runs before escpos is imported.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Mapping
from pathlib import Path

from devices.printers.escpos_env import prepare_escpos_environment

prepare_escpos_environment()

import numpy as np  # noqa: E402
import zxingcpp  # noqa: E402
from escpos.printer import Dummy  # noqa: E402
from PIL import Image as PILImage  # noqa: E402

from app.documents.model import (  # noqa: E402
    Barcode,
    Columns,
    Cut,
    Document,
    Feed,
    Image,
    Qr,
    Rule,
    Text,
    layout_columns,
    wrap,
)

log = logging.getLogger(__name__)

PROFILE_80MM = "TM-T88V"
PROFILE_58MM = "RP-F10-58mm"
DEFAULT_PROFILE = PROFILE_80MM
# Used when a profile does not state its paper width in dots: the narrowest common roll (58 mm at 203 dpi).
FALLBACK_MAX_WIDTH_DOTS = 384

LogoSource = str | Path | PILImage.Image


def profile_for_width(width_chars: int) -> str:
    """The default capability profile for a document width (32 characters and less: 58 mm)."""
    return PROFILE_58MM if width_chars <= 32 else PROFILE_80MM


def drawer_kick_bytes(pin: int = 2) -> bytes:
    """The ESC p pulse that opens a cash drawer wired to connector pin 2 or pin 5."""
    if pin not in (2, 5):
        raise ValueError("a cash drawer is on pin 2 or pin 5")
    printer = Dummy()
    printer.cashdraw(pin)
    return bytes(printer.output)


class _EscposWriter:
    """Walks the blocks of one document and writes them to a Dummy printer."""

    def __init__(
        self,
        document: Document,
        profile: str,
        logos: Mapping[str, LogoSource],
        qr_size: int,
        barcode_height: int,
    ) -> None:
        self.document = document
        self.printer = Dummy(profile=profile)
        self.logos = logos
        self.qr_size = qr_size
        self.barcode_height = barcode_height
        self.width = document.width_chars
        self.font = self._choose_font(document.width_chars)
        self.max_dots = self._max_width_dots()

    def _choose_font(self, width_chars: int) -> int:
        fonts = self.printer.profile.fonts
        for key in sorted(fonts, key=int):
            if int(fonts[key]["columns"]) >= width_chars:
                return int(key)
        widest = max(int(f["columns"]) for f in fonts.values())
        raise ValueError(
            f"profile {self.printer.profile.profile_data['name']!r} prints at most {widest} columns; "
            f"the document needs {width_chars}"
        )

    def _max_width_dots(self) -> int:
        try:
            return int(self.printer.profile.profile_data["media"]["width"]["pixels"])
        except (KeyError, TypeError, ValueError):
            return FALLBACK_MAX_WIDTH_DOTS

    def _reset_style(self) -> None:
        # ESC ! (normal size) also selects Font A, so the chosen font is sent again after it.
        self.printer.set(align="left", bold=False, underline=0, normal_textsize=True, font=self.font)

    def render(self) -> bytes:
        self.printer.hw("INIT")
        self.printer.set(font=self.font)
        self._reset_style()
        for block in self.document.blocks:
            if isinstance(block, Text):
                self._text(block)
            elif isinstance(block, Columns):
                self.printer.set(bold=block.bold)
                for line in layout_columns(block.left, block.right, self.width):
                    self.printer.textln(line)
                self.printer.set(bold=False)
            elif isinstance(block, Rule):
                self.printer.textln(block.char * self.width)
            elif isinstance(block, Barcode):
                self._barcode(block)
            elif isinstance(block, Qr):
                self._qr(block)
            elif isinstance(block, Image):
                self._image(block)
            elif isinstance(block, Feed):
                self.printer.ln(block.lines)
            elif isinstance(block, Cut):
                self.printer.cut()
        return bytes(self.printer.output)

    def _text(self, block: Text) -> None:
        double = block.size == 2
        self.printer.set(
            align=block.align,
            bold=block.bold,
            underline=1 if block.underline else 0,
            double_width=double,
            double_height=double,
            normal_textsize=not double,
            font=self.font,
        )
        for line in wrap(block.text, self.width // block.size):
            self.printer.textln(line)
        self._reset_style()

    def _barcode(self, block: Barcode) -> None:
        profile = self.printer.profile
        hri_pos = "BELOW" if block.hri else "OFF"
        if block.symbology == "code128" and profile.supports("barcodeB") and block.data.isascii():
            module = self._hardware_module_width(11 * (len(block.data) + 3) + 2)
            # python-escpos prints "Using hardware barcode renderer" on stdout; keep it off the app's console.
            with contextlib.redirect_stdout(io.StringIO()):
                self.printer.barcode(
                    "{B" + block.data,
                    "CODE128",
                    height=self.barcode_height,
                    width=module,
                    pos=hri_pos,
                    function_type="B",
                )
        elif block.symbology == "ean13" and profile.supports("barcodeA"):
            with contextlib.redirect_stdout(io.StringIO()):
                self.printer.barcode(block.data, "EAN13", height=self.barcode_height, width=3, pos=hri_pos)
        else:
            image = software_barcode_image(block, self.max_dots, self.barcode_height)
            self.printer.image(image, center=True)
            if block.hri and block.symbology != "datamatrix":
                self.printer.set(align="center")
                self.printer.textln(block.data)
        self._reset_style()

    def _hardware_module_width(self, modules: int) -> int:
        # The widest module (2..4 dots) that keeps the symbol inside the paper; 2 dots is the readable minimum.
        for dots in (4, 3, 2):
            if modules * dots <= self.max_dots:
                return dots
        raise ValueError("barcode data too long to print on this paper width")

    def _qr(self, block: Qr) -> None:
        if self.printer.profile.supports("qrCode"):
            # ESC a (alignment) also positions 2D symbols; python-escpos refuses center=True for native QR.
            self.printer.set(align="center")
            self.printer.qr(block.data, native=True, size=self.qr_size)
        else:
            self.printer.qr(block.data, native=False, size=self.qr_size, center=True)
        self._reset_style()

    def _image(self, block: Image) -> None:
        source = self.logos.get(block.path_or_key, block.path_or_key)
        try:
            picture = source if isinstance(source, PILImage.Image) else PILImage.open(source)
        except OSError as err:
            # A missing logo must never stop a receipt from printing.
            log.warning("logo %r not printed: %s", block.path_or_key, err)
            return
        if picture.width > self.max_dots:
            ratio = self.max_dots / picture.width
            picture = picture.resize((self.max_dots, max(1, round(picture.height * ratio))))
        self.printer.image(picture, center=True)
        self._reset_style()


def software_barcode_image(block: Barcode, max_width: int, height: int) -> PILImage.Image:
    """Draw a barcode with zxing-cpp as a black-on-white image no wider than max_width dots.

    The module size is the largest whole number of dots (2 to 4) that fits, because a fractional or 1-dot
    module is unreadable after thermal printing. GS1-128 is created in GS1 mode so FNC1 is encoded.
    """
    if block.symbology == "datamatrix":
        created = zxingcpp.create_barcode(block.data, zxingcpp.BarcodeFormat.DataMatrix)
    elif block.symbology == "gs1_128":
        created = zxingcpp.create_barcode(block.data, zxingcpp.BarcodeFormat.Code128, gs1=True)
    elif block.symbology == "ean13":
        created = zxingcpp.create_barcode(block.data, zxingcpp.BarcodeFormat.EAN13)
    else:
        created = zxingcpp.create_barcode(block.data, zxingcpp.BarcodeFormat.Code128)
    for scale in (4, 3, 2):
        pixels = np.asarray(created.to_image(scale=scale, add_quiet_zones=True))
        if pixels.shape[1] <= max_width:
            break
    else:
        raise ValueError(f"{block.symbology} barcode for {block.data!r} is too wide for {max_width} dots")
    picture = PILImage.fromarray(pixels).convert("L")
    if block.symbology != "datamatrix":
        # zxing-cpp draws linear codes short; stretch the bars (not the modules) to the wanted height.
        picture = picture.resize((picture.width, height), PILImage.Resampling.NEAREST)
    return picture


def render_escpos(
    document: Document,
    profile: str | None = None,
    logos: Mapping[str, LogoSource] | None = None,
    qr_size: int = 6,
    barcode_height: int = 80,
) -> bytes:
    """ESC/POS bytes for a document. profile: a python-escpos capability profile name (default by width);
    logos: Image keys to files or PIL images; qr_size: QR dot size 1-16; barcode_height in printer dots."""
    writer = _EscposWriter(
        document,
        profile=profile or profile_for_width(document.width_chars),
        logos=logos or {},
        qr_size=qr_size,
        barcode_height=barcode_height,
    )
    return writer.render()
