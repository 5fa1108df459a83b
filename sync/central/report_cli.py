"""The chain reports' commands of `counterline-central` (registered by sync.central.cli):

- `report NAME --from DAY --to DAY [--store CODE ...] [--json]`: a chain report (returns, pickups, pack bench,
  tenders) by store and for the chain;
- `create-office-key LABEL [--store CODE ...]`: a key for the chain's office (reports only; all stores unless
  named), printed once; `revoke-office-key ID`;
- `office-link ID [--hours N] [--base URL]`: a link to the office's report page, signed for N hours.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import date

from sqlalchemy.orm import Session, sessionmaker

from sync.central import office, office_web, reports
from sync.central.db import make_sessionmaker
from sync.central.reports import figures


def add_commands(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    rep = sub.add_parser(
        "report",
        parents=[common],
        help="a report by store and for the chain (returns, pickups, pack, tenders)",
    )
    rep.add_argument("name", help=f"one of {', '.join(reports.NAMES)}")
    rep.add_argument("--from", dest="first", required=True, help="first local day, YYYY-MM-DD")
    rep.add_argument("--to", dest="last", required=True, help="last local day, YYYY-MM-DD")
    rep.add_argument("--store", action="append", default=None, help="only this store (repeatable)")
    rep.add_argument("--json", action="store_true", help="print JSON, as GET /v1/reports/NAME answers")
    key = sub.add_parser("create-office-key", parents=[common], help="print a new key for the chain's office")
    key.add_argument("label")
    key.add_argument("--store", action="append", default=None, help="only this store (repeatable)")
    revoke = sub.add_parser("revoke-office-key", parents=[common], help="revoke an office key and its links")
    revoke.add_argument("ident")
    link = sub.add_parser(
        "office-link", parents=[common], help="print a signed link to the office's reports page"
    )
    link.add_argument("ident")
    link.add_argument("--hours", type=int, default=12)
    link.add_argument("--base", default="http://127.0.0.1:8765")


def _text(report: reports.ChainReport) -> str:
    f = report.figure
    titles = [t for t, _k in f.columns]

    def block(heading: str, rows: list[figures.Row]) -> list[str]:
        table = [titles, *[[str(c) for c in r] for r in rows]]
        widths = [max(len(row[i]) for row in table) for i in range(len(titles))]
        lines = [heading]
        for row in table:
            lines.append(
                "  "
                + "  ".join(
                    c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
                )
            )
        if not rows:
            lines.append("  nothing in this period")
        return lines

    out = [f"{f.title}, {report.first} to {report.last}"]
    for s in report.stores:
        out += block(f"{s.code} {s.name}", s.rows)
    out += block("Chain", report.chain)
    return "\n".join(out)


def _report(factory: sessionmaker[Session], args: argparse.Namespace) -> int:
    first = reports.parse_day(args.first, "first")
    last = reports.parse_day(args.last, "last")
    readers = make_sessionmaker(factory.kw["bind"], readonly=True)  # no write lock held while it reads
    with readers() as s:
        report = reports.run(s, args.name, first, last, args.store)
    print(json.dumps(reports.as_json(report), indent=1) if args.json else _text(report))
    return 0


def _create_office_key(factory: sessionmaker[Session], args: argparse.Namespace) -> int:
    with factory.begin() as s:
        ident, key = office.create_key(s, args.label, args.store)
    print(f"office key {ident} (shown once; send it as X-Office-Key): {key}")
    return 0


def _revoke_office_key(factory: sessionmaker[Session], args: argparse.Namespace) -> int:
    with factory.begin() as s:
        office.revoke_key(s, args.ident)
    print(f"office key {args.ident} revoked; its links no longer open")
    return 0


def _office_link(factory: sessionmaker[Session], args: argparse.Namespace) -> int:
    with factory() as s:
        token = office.sign_link(s, args.ident, args.hours)
    print(office_web.page_url(args.base, token, **{"from": date.today().isoformat()}))
    return 0


COMMANDS: dict[str, Callable[[sessionmaker[Session], argparse.Namespace], int]] = {
    "report": _report,
    "create-office-key": _create_office_key,
    "revoke-office-key": _revoke_office_key,
    "office-link": _office_link,
}
