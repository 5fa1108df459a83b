#!/usr/bin/env python3
"""Talk to a PostgreSQL server with nothing but the standard library, for `.ci/postgres.sh` on a fresh machine
(no psql, no pg_isready, no virtualenv yet). Only logins that ask no password (trust) can run queries.

    pg.py [--host H] [--port P] answers                 exit 0 when something accepts a connection there
    pg.py [--host H] [--port P] login USER [DB]         exit 0 when USER logs in to DB (postgres) without a password
    pg.py [--host H] [--port P] sql USER SQL            run SQL as USER in database postgres; rows tab-separated

Exit codes: 0 done, 1 nothing answers, 2 the server asks a password, 3 the server refused (its message on stderr).
"""

from __future__ import annotations

import argparse
import socket
import struct
import sys

NOTHING, PASSWORD, REFUSED = 1, 2, 3
AUTH_OK = 0


class Refused(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _read_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise Refused(REFUSED, "the server closed the connection")
        data += chunk
    return data


def _message(sock: socket.socket) -> tuple[bytes, bytes]:
    kind = _read_exact(sock, 1)
    (length,) = struct.unpack("!i", _read_exact(sock, 4))
    return kind, _read_exact(sock, length - 4)


def _error_text(body: bytes) -> str:
    fields = {}
    for part in body.split(b"\0"):
        if part:
            fields[part[:1]] = part[1:].decode("utf-8", "replace")
    return f"{fields.get(b'C', '?')}: {fields.get(b'M', 'error')}"


def connect(host: str, port: int, timeout: float = 10.0) -> socket.socket:
    try:
        return socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise Refused(NOTHING, f"nothing answers on {host}:{port} ({exc.strerror or exc})") from exc


def login(host: str, port: int, user: str, database: str) -> socket.socket:
    """A session of `user` that asked no password, ready for queries."""
    sock = connect(host, port)
    params = b"".join(
        k.encode() + b"\0" + v.encode() + b"\0" for k, v in (("user", user), ("database", database))
    )
    body = struct.pack("!i", 196608) + params + b"\0"  # protocol 3.0
    sock.sendall(struct.pack("!i", len(body) + 4) + body)
    while True:
        kind, data = _message(sock)
        if kind == b"R":
            (auth,) = struct.unpack("!i", data[:4])
            if auth != AUTH_OK:
                sock.close()
                raise Refused(
                    PASSWORD, f"the server asks {user} for a password (authentication request {auth})"
                )
        elif kind == b"E":
            sock.close()
            raise Refused(REFUSED, _error_text(data))
        elif kind == b"Z":
            return sock


def query(sock: socket.socket, sql: str) -> list[list[str | None]]:
    body = sql.encode() + b"\0"
    sock.sendall(b"Q" + struct.pack("!i", len(body) + 4) + body)
    rows: list[list[str | None]] = []
    error = None
    while True:
        kind, data = _message(sock)
        if kind == b"D":
            (count,) = struct.unpack("!h", data[:2])
            at, row = 2, []
            for _ in range(count):
                (size,) = struct.unpack("!i", data[at : at + 4])
                at += 4
                row.append(None if size < 0 else data[at : at + size].decode())
                at += max(size, 0)
            rows.append(row)
        elif kind == b"E":
            error = _error_text(data)
        elif kind == b"Z":
            if error:
                raise Refused(REFUSED, error)
            return rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("answers")
    p_login = sub.add_parser("login")
    p_login.add_argument("user")
    p_login.add_argument("database", nargs="?", default="postgres")
    p_sql = sub.add_parser("sql")
    p_sql.add_argument("user")
    p_sql.add_argument("sql")
    args = parser.parse_args(argv)
    try:
        if args.command == "answers":
            connect(args.host, args.port).close()
        elif args.command == "login":
            login(args.host, args.port, args.user, args.database).close()
        else:
            sock = login(args.host, args.port, args.user, "postgres")
            # Connecting says whether a server answers (10 s); a statement may take longer on a loaded machine
            # (CREATE and DROP DATABASE wait for a checkpoint).
            sock.settimeout(300)
            try:
                for row in query(sock, args.sql):
                    print("\t".join("" if v is None else v for v in row))
            finally:
                sock.sendall(b"X" + struct.pack("!i", 4))
                sock.close()
    except Refused as exc:
        print(exc, file=sys.stderr)
        return exc.code
    except OSError as exc:
        print(f"{args.host}:{args.port}: {exc}", file=sys.stderr)
        return REFUSED
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
