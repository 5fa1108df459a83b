"""Connectors against real endpoints: a loopback TCP printer, files, folders, a CUPS-like command."""

from __future__ import annotations

import os
import stat
import sys
import time
from pathlib import Path

import pytest

from devices.printers import MaybeSent, NotSent, PrinterError, make_connector
from devices.printers.connectors import (
    CupsConnector,
    FakeConnector,
    FileConnector,
    FolderConnector,
    NetworkConnector,
    NotConfiguredConnector,
    SerialConnector,
    UsbConnector,
    decode_status,
)

JOB = b"\x1b@Hello counter\n" * 50 + b"\x1dV\x00"


def network(server, timeout: float = 1.0) -> NetworkConnector:
    connector = make_connector(
        {"type": "network", "host": "127.0.0.1", "port": server.port, "timeout": timeout}
    )
    assert isinstance(connector, NetworkConnector)
    return connector


def wait_for(predicate, seconds: float = 2.0) -> None:
    end = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < end, "condition not reached"
        time.sleep(0.01)


def test_errors_say_whether_a_retry_is_safe() -> None:
    assert issubclass(NotSent, PrinterError) and issubclass(MaybeSent, PrinterError)
    assert not issubclass(NotSent, MaybeSent) and not issubclass(MaybeSent, NotSent)
    assert NotSent("Printer is off").reason == "Printer is off"


def test_network_job_arrives_and_is_confirmed(escpos_printer_server) -> None:
    server = escpos_printer_server("ready")
    network(server).send(JOB)
    wait_for(lambda: len(server.job_bytes()) == len(JOB))
    assert server.job_bytes() == JOB
    # Asked before (may we send?) and after (did it survive the job?): online then paper, twice.
    assert server.queries == [b"\x10\x04\x01", b"\x10\x04\x04"] * 2


def test_network_paper_low_still_prints(escpos_printer_server) -> None:
    server = escpos_printer_server("paper_low")
    connector = network(server)
    connector.send(JOB)
    assert connector.status().state == "paper_low"


@pytest.mark.parametrize(("mode", "state"), [("paper_out", "paper_out"), ("offline", "offline")])
def test_network_refuses_before_sending_when_printer_is_not_ready(escpos_printer_server, mode, state) -> None:
    server = escpos_printer_server(mode)
    connector = network(server)
    with pytest.raises(NotSent):
        connector.send(JOB)
    time.sleep(0.1)
    assert server.job_bytes() == b""  # nothing but the status queries went out: safe to retry
    assert connector.status().state == state


def test_network_refused_connection_is_not_sent(refused_port) -> None:
    connector = NetworkConnector("127.0.0.1", refused_port, timeout=1.0)
    started = time.monotonic()
    with pytest.raises(NotSent, match="not reachable"):
        connector.send(JOB)
    assert time.monotonic() - started < 1.0
    assert connector.status().state == "offline"


def test_network_silent_printer_times_out_before_the_job(escpos_printer_server) -> None:
    server = escpos_printer_server("silent")
    started = time.monotonic()
    with pytest.raises(NotSent, match="did not answer"):
        network(server, timeout=2.0).send(JOB)
    # One budget for the whole job, not one timeout per step (two steps would take 4 s); room for a loaded runner.
    assert time.monotonic() - started < 2.0 + 1.2
    assert server.job_bytes() == b""


def test_network_printer_switched_off_mid_job_is_maybe_sent(escpos_printer_server) -> None:
    # Answers the pre-job status, takes the bytes, then never answers again: the socket itself raises
    # nothing (python-escpos issue 253), only the missing status answer shows the fault.
    server = escpos_printer_server("stall_after_status")
    started = time.monotonic()
    with pytest.raises(MaybeSent, match="stopped answering"):
        network(server, timeout=2.0).send(JOB)
    elapsed = time.monotonic() - started
    assert 1.3 < elapsed < 2.0 + 1.2  # within the configured budget, not one timeout per step (4 s and more)
    wait_for(lambda: JOB in server.job_bytes())


def test_network_connection_dropped_after_status_is_maybe_sent(escpos_printer_server) -> None:
    server = escpos_printer_server("close_after_status")
    with pytest.raises(MaybeSent):
        network(server).send(JOB)


def test_network_without_status_query_only_sends(escpos_printer_server) -> None:
    server = escpos_printer_server("silent")  # a ZPL printer does not answer DLE EOT
    connector = make_connector(
        {"type": "network", "host": "127.0.0.1", "port": server.port, "timeout": 1, "status_query": "none"}
    )
    connector.send(b"^XA^FDhi^FS^XZ")
    wait_for(lambda: server.job_bytes() == b"^XA^FDhi^FS^XZ")


def test_serial_through_pyserial_socket_url(escpos_printer_server) -> None:
    server = escpos_printer_server("ready")
    connector = make_connector({"type": "serial", "port": f"socket://127.0.0.1:{server.port}", "timeout": 1})
    assert isinstance(connector, SerialConnector)
    connector.send(JOB)
    wait_for(lambda: server.job_bytes() == JOB)
    out_of_paper = escpos_printer_server("paper_out")
    with pytest.raises(NotSent):
        SerialConnector(f"socket://127.0.0.1:{out_of_paper.port}", timeout=1).send(JOB)
    with pytest.raises(NotSent):
        SerialConnector("/dev/does-not-exist-tty", timeout=1).send(JOB)


def test_decode_status_bytes() -> None:
    assert decode_status(0x12, 0x12).state == "ready"
    assert decode_status(0x16, 0x12).state == "ready"  # bit 2: drawer open, still printing
    assert decode_status(0x1A, 0x12).state == "offline"
    assert decode_status(0x12, 0x72).state == "paper_out"
    assert decode_status(0x12, 0x7E).state == "paper_out"
    assert decode_status(0x12, 0x1E).state == "paper_low"
    assert decode_status(None, None).state == "offline"
    assert decode_status(0x10, 0x12).state == "offline"  # not a status byte at all


def test_file_connector(tmp_path) -> None:
    target = tmp_path / "lp0"
    connector = make_connector({"type": "file", "path": str(target)})
    assert isinstance(connector, FileConnector) and connector.status().state == "ready"
    connector.send(b"one")
    connector.send(b"two")
    assert target.read_bytes() == b"onetwo"
    missing = FileConnector(str(tmp_path / "no-such-dir" / "lp0"))
    with pytest.raises(NotSent):
        missing.send(b"x")
    assert missing.status().state == "offline"


def test_folder_connector_writes_one_complete_file_per_job(tmp_path) -> None:
    connector = make_connector({"type": "folder", "path": str(tmp_path / "jobs"), "extension": "escpos"})
    assert isinstance(connector, FolderConnector)
    connector.send(b"first")
    connector.send(b"second")
    assert [p.read_bytes() for p in connector.jobs()] == [b"first", b"second"]
    assert not list((tmp_path / "jobs").glob(".job-*"))  # no half-written leftovers
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("x")
    with pytest.raises(NotSent):
        FolderConnector(str(blocked)).send(b"x")


def _script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "fake-lp"
    path.write_text(f"#!{sys.executable}\nimport sys, time\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_cups_connector_runs_lp(tmp_path) -> None:
    spool = tmp_path / "spool.bin"
    command = _script(
        tmp_path, f"open({str(spool)!r}, 'wb').write(sys.stdin.buffer.read())\nprint(' '.join(sys.argv[1:]))"
    )
    connector = make_connector({"type": "cups", "printer": "receipts", "command": command})
    assert isinstance(connector, CupsConnector)
    connector.send(JOB)
    assert spool.read_bytes() == JOB


def test_cups_connector_failures(tmp_path) -> None:
    with pytest.raises(NotSent, match="not installed"):
        CupsConnector("receipts", command="no-such-lp-command").send(JOB)
    refusing = _script(tmp_path, "sys.stderr.write('lp: The printer or class does not exist.')\nsys.exit(1)")
    with pytest.raises(NotSent, match="does not exist"):
        CupsConnector("receipts", command=refusing).send(JOB)
    (tmp_path / "slow").mkdir()
    slow = _script(tmp_path / "slow", "sys.stdin.buffer.read()\ntime.sleep(5)")
    with pytest.raises(MaybeSent):
        CupsConnector("receipts", command=slow, timeout=0.5).send(JOB)


class _UsbDouble:
    """Stands in for python-escpos' Usb class (no USB printer on a test machine); records each write."""

    def __init__(self, fail_at: int | None = None, **kwargs: object) -> None:
        self.kwargs = kwargs
        self.writes: list[bytes] = []
        self.fail_at = fail_at
        self.closed = False

    def open(self) -> None:
        pass

    def _raw(self, chunk: bytes) -> None:
        if self.fail_at is not None and len(self.writes) == self.fail_at:
            raise TimeoutError("USB write timed out")
        self.writes.append(chunk)

    def close(self) -> None:
        self.closed = True


def test_usb_connector_sends_in_chunks() -> None:
    made: list[_UsbDouble] = []

    def factory(**kwargs: object) -> _UsbDouble:
        made.append(_UsbDouble(**kwargs))
        return made[-1]

    connector = UsbConnector(0x04B8, 0x0202, chunk_size=4096, factory=factory)
    connector.send(bytes(10_000))
    assert [len(w) for w in made[0].writes] == [4096, 4096, 1808]
    assert made[0].kwargs == {"idVendor": 0x04B8, "idProduct": 0x0202, "timeout": 5000}
    assert made[0].closed

    failing = UsbConnector(0x04B8, 0x0202, factory=lambda **kw: _UsbDouble(fail_at=1, **kw))
    with pytest.raises(MaybeSent, match="after 4096 bytes"):
        failing.send(bytes(10_000))

    def absent(**kwargs: object) -> _UsbDouble:
        raise OSError("No backend available")

    with pytest.raises(NotSent):
        UsbConnector(0x04B8, 0x0202, factory=absent).send(b"x")
    usb = make_connector({"type": "usb", "vendor_id": "0x04b8", "product_id": "0x0e15", "out_ep": "0x01"})
    assert isinstance(usb, UsbConnector) and (usb.vendor_id, usb.product_id, usb.out_ep) == (
        0x04B8,
        0x0E15,
        1,
    )


def test_fake_connector_acts_out_faults() -> None:
    fake = make_connector({"type": "fake"})
    assert isinstance(fake, FakeConnector)
    fake.send(b"a")
    fake.paper = "low"
    fake.send(b"b")
    assert fake.jobs == [b"a", b"b"]
    fake.paper = "out"
    with pytest.raises(NotSent):
        fake.send(b"c")
    fake.paper, fake.online = "ok", False
    with pytest.raises(NotSent):
        fake.send(b"c")
    fake.online, fake.fail_mid_job = True, True
    with pytest.raises(MaybeSent):
        fake.send(b"dddd")
    assert fake.jobs[-1] == b"dd"


def test_make_connector_config_errors() -> None:
    for config in (None, {}, {"type": "none"}):
        connector = make_connector(config)
        assert isinstance(connector, NotConfiguredConnector)
        assert connector.status().state == "not_configured"
        with pytest.raises(NotSent):
            connector.send(b"x")
    with pytest.raises(ValueError, match="unknown"):
        make_connector({"type": "carrier-pigeon"})
    with pytest.raises(ValueError, match="needs 'host'"):
        make_connector({"type": "network"})


@pytest.mark.skipif(os.name != "posix", reason="device paths")
def test_file_connector_device_path_missing_is_offline() -> None:
    assert FileConnector("/dev/usb/lp-counterline-test").status().state == "offline"
