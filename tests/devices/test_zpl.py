"""ZPL II rendering, checked field by field (^FO position, font, field block, barcode command, data)."""

from __future__ import annotations

import re

from app.documents.labels import build_packing_slip, build_shelf_label, build_shipping_label
from app.documents.model import Barcode, Document, Qr, Text
from devices.printers import render
from devices.printers.zpl_render import escape_field, gs1_128_field_data

FIELD = re.compile(r"\^FO(\d+),(\d+)(.*?)\^FD(.*?)\^FS")


def labels(zpl: bytes) -> list[str]:
    text = zpl.decode("utf-8")
    found = re.findall(r"\^XA.*?\^XZ", text, flags=re.S)
    assert "".join(found).replace("\n", "") == text.replace("\n", "")  # nothing outside ^XA..^XZ
    return found


def fields(label: str) -> list[tuple[int, int, str, str]]:
    return [(int(x), int(y), commands, data) for x, y, commands, data in FIELD.findall(label)]


def test_shipping_label_fields(samples) -> None:
    (label,) = labels(render(build_shipping_label(samples.shipping()), "zpl"))
    assert label.startswith("^XA^CI28^PW812^LL1218^LH0,0")  # UTF-8, 4x6 in at 203 dpi
    parsed = fields(label)
    by_data = {data: (x, y, commands) for x, y, commands, data in parsed}
    # Ship-to name: double size font 0, in a one-line field block the width of the label.
    x, y, commands = by_data["Jane Roe"]
    assert commands == "^A0N,56,38^FB788,1,0,L^FH\\"
    # SSCC: GS1-128 via ^BC, start code C and FNC1, no printer HRI (we print "(00)..." ourselves).
    x, y_sscc, commands = by_data[f">;>800{samples.sscc}"]
    module = re.fullmatch(r"\^BY([234]),3,122\^BCN,122,N,N,N,N\^FH\\", commands)
    assert module and x + 156 * int(module.group(1)) <= 812 - 12  # SSCC: 156 modules, inside the margin
    assert by_data[f"(00){samples.sscc}"][1] > y_sscc
    assert by_data[f"(00){samples.sscc}"][2].endswith("^FB788,1,0,C^FH\\")
    # Tracking number: plain Code 128 with the printer's interpretation line.
    _, y_track, commands = by_data["1Z999AA10123456784"]
    assert "^BCN,122,Y,N,N,N" in commands and y_track > y_sscc
    # Carrier left, service right, on the same line.
    assert by_data["Parcel Co"][1] == by_data["Standard"][1]
    assert by_data["Standard"][2].startswith("^A0N,28,19^FB788,1,0,R")
    # Everything flows down and stays on the label.
    ys = [y for _, y, _, _ in parsed]
    assert ys == sorted(ys) and max(ys) < 1218 - 122


def test_shelf_label_fields(samples) -> None:
    (label,) = labels(render(build_shelf_label(samples.shelf()), "zpl"))
    assert "^PW457^LL254" in label  # 2.25 x 1.25 in
    parsed = fields(label)
    data = [d for *_, d in parsed]
    assert "$3.49" in data
    ean = [c for _, _, c, d in parsed if d == samples.ean13[:12]]
    assert ean and "^BEN,51,Y,N" in ean[0]  # the printer adds the check digit
    assert all(y < 254 for _, y, _, _ in parsed)


def test_long_packing_slip_continues_on_more_labels(samples) -> None:
    zpl = render(build_packing_slip(samples.packing(line_count=60)), "zpl")
    found = labels(zpl)
    assert len(found) >= 2
    everything = "".join(found)
    for i in range(60):
        assert f"SKU-{i:03d} Item number {i}" in everything
    for label in found:
        assert all(y <= 1218 for _, y, _, _ in fields(label))


def test_field_data_escapes_and_utf8() -> None:
    zpl = render(Document("shipping_label", 40, [Text("A^B~C\\D Crème 5 €")]), "zpl")
    assert "^FH\\^FDA\\5EB\\7EC\\5CD Crème 5 €^FS" in zpl.decode("utf-8")
    assert escape_field("^XZ") == "\\5EXZ"  # data can never end the label early


def test_gs1_128_field_data_forms() -> None:
    # All numeric, even runs: start in subset C, FNC1 after the variable-length batch (10).
    assert gs1_128_field_data("(01)09506000134352(10)1234(17)261231") == (
        "N",
        ">;>80109506000134352101234>817261231",
    )
    # Letters in a batch: the printer's UCC/EAN mode D chooses the subsets.
    assert gs1_128_field_data("(01)09506000134352(10)AB1") == ("D", "0109506000134352>810AB1") or (
        gs1_128_field_data("(01)09506000134352(10)AB1") == ("D", "0109506000134352" + "10AB1")
    )


def test_qr_datamatrix_and_code128_escape() -> None:
    zpl = render(
        Document("shipping_label", 40, [Qr("R-1"), Barcode("DM-7", "datamatrix"), Barcode("A>B", "code128")]),
        "zpl",
    ).decode()
    assert re.search(r"\^BQN,2,\d+\^FH\\\^FDMA,R-1\^FS", zpl)
    assert re.search(r"\^BXN,\d+,200\^FH\\\^FDDM-7\^FS", zpl)
    assert "^FDA><B^FS" in zpl
