"""The one writer of the rows of a web order that routing places: the order, its lines, the reservations on the stock
levels, the feed changes (stock and order) with the stores' feed seqs, the status-page token, the "received"
notice, the routing trace and the first history row. They are plain values written by core statements (on
PostgreSQL one statement, its parts as data-modifying WITHs; on SQLite one statement per table), never by the ORM's
flush: building and flushing a unit of work per order was most of an order's Python time. The lines a hand-back
adds (`add_lines`) are inserted here too, so an order's lines have this one inserter.

The order number is checked free in the same statement (the order is inserted only when no order has its number,
and every other part only when the order was), so a taken number writes nothing and is refused as before.

The `WebOrder` returned, with its lines, is made persistent and clean as if it had been read from the database:
what the transaction changes on it later goes through the ORM as for any other order. The stock levels and the
stores written here are marked clean at the values written, so the flush does not write them again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.orm import Session, instrumentation, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from sync import protocol
from sync.central import feedwait, ledger, notices
from sync.central.models import (
    FeedChange,
    Location,
    Money,
    Notice,
    OrderAccess,
    OrderStatusHistory,
    Product,
    Qty,
    RoutingTrace,
    StockLevel,
    Store,
    WebOrder,
    WebOrderLine,
    table_of,
)
from sync.central.routing_rule import Candidate, Level, Want, location_row
from sync.central.service.base import Conflict
from sync.central.service.order_state import order_payload

_QTY, _MONEY = Qty(), Money()

# Every part gated on `o` (the order's row, inserted only when its number is free). The rows of each table come as
# one JSON array (json_to_recordset): the text is the same for any number of lines, stores and changes, so
# PostgreSQL plans it once per connection (prepared), and one JSON text costs the driver far less than arrays.
# The levels alone come as arrays (unnest): the planner takes a JSON set for 100 rows, and with fewer than about
# 15,000 levels in the chain it then updated the order's three through a hash join over a scan of every level
# (1.3 ms of the statement's 2.9 at 10,000 levels); an array's length it knows, and it looks each one up by key.
_PG_PLACE = text(
    """
WITH o AS (
  INSERT INTO web_orders (id, store_id, number, fulfilment, status, customer, idempotency_key, idempotency_scope,
                          request_hash, paid, returned, created_at, updated_at)
  SELECT CAST(:id AS uuid), CAST(:store_id AS integer), CAST(:number AS varchar), CAST(:fulfilment AS varchar),
         CAST(:status AS varchar), CAST(:customer AS json), CAST(:idempotency_key AS varchar),
         CAST(:idempotency_scope AS varchar), CAST(:request_hash AS varchar), CAST(:paid AS boolean), '',
         CAST(:now AS timestamptz), CAST(:now AS timestamptz)
  WHERE NOT EXISTS (SELECT 1 FROM web_orders WHERE number = CAST(:number AS varchar))
  RETURNING id
), lv AS (
  UPDATE stock_levels AS l SET reserved = v.reserved
  FROM o, unnest(CAST(:lv_loc AS integer[]), CAST(:lv_prod AS integer[]), CAST(:lv_res AS bigint[]))
       AS v(location_id, product_id, reserved)
  WHERE l.location_id = v.location_id AND l.product_id = v.product_id
  RETURNING 1
), st AS (
  UPDATE stores AS s SET feed_seq = v.seq
  FROM o, json_to_recordset(CAST(:seqs AS json)) AS v(id integer, seq bigint)
  WHERE s.id = v.id
  RETURNING 1
), fd AS (
  INSERT INTO change_feed (store_id, seq, type, key, payload, created_at)
  SELECT v.store_id, v.seq, v.type, v.key, v.payload, CAST(:now AS timestamptz)
  FROM o, json_to_recordset(CAST(:feed AS json))
       AS v(store_id integer, seq bigint, type varchar, key varchar, payload json)
  RETURNING 1
), ac AS (
  INSERT INTO order_access (order_id, token, tracking)
  SELECT o.id, CAST(:token AS varchar), CAST('[]' AS json) FROM o
  RETURNING 1
), nt AS (
  INSERT INTO notices (order_id, kind, stage, recipient, facts, state, attempts, next_attempt_at, last_error,
                       created_at)
  SELECT o.id, CAST(:n_kind AS varchar), CAST(:n_stage AS varchar), CAST(:n_recipient AS varchar),
         CAST(:n_facts AS json), 'pending', 0, CAST(:now AS timestamptz), '', CAST(:now AS timestamptz) FROM o
  RETURNING 1
), tr AS (
  INSERT INTO routing_traces (order_id, kind, rule, outcome, candidates, chosen, at)
  SELECT o.id, CAST(:t_kind AS varchar), CAST(:t_rule AS varchar), CAST(:t_outcome AS varchar),
         CAST(:t_candidates AS json), CAST(:t_chosen AS json), CAST(:now AS timestamptz) FROM o
  RETURNING 1
), hi AS (
  INSERT INTO order_status_history (order_id, from_status, to_status, "by", at)
  SELECT o.id, NULL, CAST(:status AS varchar), CAST(:h_by AS varchar), CAST(:now AS timestamptz) FROM o
  RETURNING 1
), li AS (
  INSERT INTO web_order_lines (order_id, product_id, sku, qty, unit_price, location_id, state)
  SELECT o.id, v.product_id, v.sku, v.qty, v.unit_price, v.location_id, 'reserved'
  FROM o, json_to_recordset(CAST(:lines AS json))
       AS v(n integer, product_id integer, sku varchar, qty bigint, unit_price bigint, location_id integer)
  ORDER BY v.n
  RETURNING id
)
SELECT ARRAY(SELECT id FROM li ORDER BY id) AS line_ids, (SELECT count(*) FROM lv) AS levels,
       pg_notify(CAST(:channel AS text), CAST(:stores AS text)) IS NULL AS notified
"""
)


class _Writes:
    """What one placed order writes, as plain values."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.levels: dict[tuple[int, int], tuple[Level, Decimal]] = {}
        self.stores: dict[int, tuple[Store, int]] = {}
        self.feed: list[tuple[int, int, str, str, dict[str, Any]]] = []

    def emit(self, store_id: int, change_type: str, key: str, payload: dict[str, Any]) -> None:
        store, seq = self.stores.get(store_id) or (ledger.locked_store(self.session, store_id), -1)
        seq = (store.feed_seq if seq < 0 else seq) + 1
        self.stores[store_id] = (store, seq)
        self.feed.append((store_id, seq, change_type, key, payload))

    def reserve(self, want: Want, cand: Candidate, qty: Decimal) -> None:
        location, product = cand.location, want.product
        key = (location.id, product.id)
        level, reserved = self.levels.get(key) or (cand.levels[product.id], cand.levels[product.id].reserved)
        reserved += qty
        self.levels[key] = (level, reserved)
        payload = {
            "sku": product.sku,
            "location": location.code,
            "on_hand": ledger.qty_text(level.on_hand),
            "reserved": ledger.qty_text(reserved),
            "available": ledger.qty_text(level.on_hand - reserved),
        }
        self.emit(location.store_id, protocol.CHANGE_STOCK, f"{product.sku}@{location.code}", payload)


def write_new_order(
    session: Session,
    values: dict[str, Any],
    owner: Store,
    allocation: Sequence[tuple[Want, Candidate, Decimal]],
    trace: dict[str, Any],
    by: str = "storefront",
) -> WebOrder:
    """Write a new order (`values`: its columns, as `routing.place` decided them) with everything it brings (see
    the module's text), in the caller's transaction; Conflict when its number is taken (nothing written)."""
    # Built as if loaded (values straight into the instances, no attribute events: constructing them through
    # __init__ and set_committed_value was most of building the returned order); made persistent below.
    order: WebOrder = _as_loaded(
        _ORDER,
        {
            **values,
            "refund_due": None,
            "refund_due_at": None,
            "returned": "",
            "arrived_at": None,
            "arrival": None,
        },
    )
    lines: list[WebOrderLine] = [
        _as_loaded(
            _LINE,
            {
                "order_id": order.id,
                "product_id": w.product.id,
                "sku": w.product.sku,
                "qty": qty,
                "unit_price": w.unit_price,
                "location_id": c.location.id,
                "state": "reserved",
                "location": location_row(c.location),
                "order": order,
            },
        )
        for w, c, qty in allocation
    ]
    order.__dict__["store"] = owner
    set_committed_value(order, "lines", lines)  # a collection: the ORM's own list
    writes = _Writes(session)
    for w, c, qty in allocation:
        writes.reserve(w, c, qty)
    # Not in a session yet: the payload's pickup check reads nothing (a new order has no code nor hold window).
    payload = order_payload(order)
    for store_id in sorted({owner.id} | {c.location.store_id for _, c, _ in allocation}):
        writes.emit(store_id, protocol.CHANGE_ORDER, str(order.id), payload)
    now = values["created_at"]
    token = notices.new_token()
    notice = notices.received_row(order, token, now)
    history = {"order_id": order.id, "from_status": None, "to_status": values["status"], "by": by, "at": now}
    if session.get_bind().dialect.name == "postgresql":
        ids = _write_postgres(session, values, lines, writes, token, notice, trace, history)
    else:
        ids = _write_core(session, values, lines, writes, token, notice, trace, history)
    for line, line_id in zip(lines, ids, strict=True):
        line.__dict__["id"] = line_id
        make_transient_to_detached(line)
    make_transient_to_detached(order)
    session.add(order)
    # A level this session holds as an object (read by another step of the transaction) is told what was written.
    for key, (_, reserved) in writes.levels.items():
        held = session.identity_map.get(identity_key(StockLevel, key))
        if held is not None:
            set_committed_value(held, "reserved", reserved)
    for store, seq in writes.stores.values():
        set_committed_value(store, "feed_seq", seq)
    return order


_ORDER = instrumentation.manager_of_class(WebOrder)
_LINE = instrumentation.manager_of_class(WebOrderLine)


def _as_loaded(manager: Any, values: dict[str, Any]) -> Any:
    """A new instance of a mapped class holding these values as a row read from the database would (nothing
    pending on it); `make_transient_to_detached` then commits them with its identity."""
    obj = manager.new_instance()
    obj.__dict__.update(values)
    return obj


def _dumps(value: Any) -> str:
    return json.dumps(value)


def _write_postgres(
    session: Session,
    values: dict[str, Any],
    lines: list[WebOrderLine],
    writes: _Writes,
    token: str,
    notice: dict[str, Any],
    trace: dict[str, Any],
    history: dict[str, Any],
) -> list[int]:
    dialect = session.get_bind().dialect
    row = (
        session.connection()
        .execute(
            _PG_PLACE,
            {
                **{k: values[k] for k in ("id", "store_id", "number", "fulfilment", "status", "paid")},
                "customer": _dumps(values["customer"]),
                "idempotency_key": values["idempotency_key"],
                "idempotency_scope": values["idempotency_scope"],
                "request_hash": values["request_hash"],
                "now": values["created_at"],
                "lv_loc": [k[0] for k in writes.levels],
                "lv_prod": [k[1] for k in writes.levels],
                "lv_res": [_QTY.process_bind_param(r, dialect) for _, r in writes.levels.values()],
                "seqs": _dumps([{"id": sid, "seq": seq} for sid, (_, seq) in writes.stores.items()]),
                "feed": _dumps(
                    [
                        {"store_id": f[0], "seq": f[1], "type": f[2], "key": f[3], "payload": f[4]}
                        for f in writes.feed
                    ]
                ),
                "token": token,
                "n_kind": notice["kind"],
                "n_stage": notice["stage"],
                "n_recipient": notice["recipient"],
                "n_facts": _dumps(notice["facts"]),
                "t_kind": trace["kind"],
                "t_rule": trace["rule"],
                "t_outcome": trace["outcome"],
                "t_candidates": _dumps(trace["candidates"]),
                "t_chosen": _dumps(trace["chosen"]),
                "h_by": history["by"],
                "lines": _dumps(
                    [
                        {
                            "n": n,
                            "product_id": ln.product_id,
                            "sku": ln.sku,
                            "qty": _QTY.process_bind_param(ln.qty, dialect),
                            "unit_price": _MONEY.process_bind_param(ln.unit_price, dialect),
                            "location_id": ln.location_id,
                        }
                        for n, ln in enumerate(lines)
                    ]
                ),
                "channel": feedwait.CHANNEL,
                "stores": ",".join(str(s) for s in sorted({f[0] for f in writes.feed})),
            },
        )
        .one()
    )
    ids = list(row.line_ids or [])
    if not ids:
        raise Conflict(f"order number {values['number']} already exists")
    if row.levels != len(writes.levels):
        raise RuntimeError(f"{len(writes.levels)} stock levels written, {row.levels} found")
    # The statement sent the NOTIFY of these stores; their waiters in this process wake at the commit.
    feedwait.note_notified(session, (f[0] for f in writes.feed))
    return ids


def _write_core(
    session: Session,
    values: dict[str, Any],
    lines: list[WebOrderLine],
    writes: _Writes,
    token: str,
    notice: dict[str, Any],
    trace: dict[str, Any],
    history: dict[str, Any],
) -> list[int]:
    """The same rows as one core statement per table (SQLite: one writer at a time, no round trips to save)."""
    orders = table_of(WebOrder)
    if session.scalar(select(orders.c.id).where(orders.c.number == values["number"])) is not None:
        raise Conflict(f"order number {values['number']} already exists")
    session.execute(insert(orders), [{**values, "returned": "", "updated_at": values["created_at"]}])
    ids = _insert_lines(session, lines)
    levels = table_of(StockLevel)
    session.execute(
        update(levels)
        .where(levels.c.location_id == bindparam("loc"), levels.c.product_id == bindparam("prod"))
        .values(reserved=bindparam("res")),
        [{"loc": k[0], "prod": k[1], "res": r} for k, (_, r) in writes.levels.items()],
    )
    stores = table_of(Store)
    session.execute(
        update(stores).where(stores.c.id == bindparam("sid")).values(feed_seq=bindparam("seq")),
        [{"sid": sid, "seq": seq} for sid, (_, seq) in writes.stores.items()],
    )
    session.execute(
        insert(table_of(FeedChange)),
        [
            {
                "store_id": f[0],
                "seq": f[1],
                "type": f[2],
                "key": f[3],
                "payload": f[4],
                "created_at": history["at"],
            }
            for f in writes.feed
        ],
    )
    feedwait.note_feed_rows(session, {f[0] for f in writes.feed})
    session.execute(
        insert(table_of(OrderAccess)), [{"order_id": values["id"], "token": token, "tracking": []}]
    )
    session.execute(insert(table_of(Notice)), [notice])
    session.execute(insert(table_of(RoutingTrace)), [trace])
    session.execute(insert(table_of(OrderStatusHistory)), [history])
    return ids


def add_lines(
    session: Session,
    order: WebOrder,
    rows: Sequence[tuple[Product, Decimal, Decimal, Location, str]],
) -> list[WebOrderLine]:
    """Lines added to an order written before (a hand-back routed again: `rows` of product, quantity, unit price,
    location and state), inserted here as well, in one statement, and joined to the order's lines as if read. The
    reservations they bring are the caller's (`ledger.change_reserved`)."""
    lines = [
        WebOrderLine(
            order_id=order.id,
            product_id=product.id,
            sku=product.sku,
            qty=qty,
            unit_price=unit_price,
            location_id=location.id,
            state=state,
        )
        for product, qty, unit_price, location, state in rows
    ]
    if not lines:
        return []
    ids = _insert_lines(session, lines)
    for line, line_id, row in zip(lines, ids, rows, strict=True):
        line.id = line_id
        set_committed_value(line, "location", row[3])
        set_committed_value(line, "order", order)
        make_transient_to_detached(line)
        session.add(line)
    set_committed_value(order, "lines", [*order.lines, *lines])
    return lines


def _insert_lines(session: Session, lines: Sequence[WebOrderLine]) -> list[int]:
    """Order lines (built, not yet in the session) in one INSERT; their ids, in the order given."""
    table = table_of(WebOrderLine)
    return list(
        session.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True),
            [
                {
                    "order_id": ln.order_id,
                    "product_id": ln.product_id,
                    "sku": ln.sku,
                    "qty": ln.qty,
                    "unit_price": ln.unit_price,
                    "location_id": ln.location_id,
                    "state": ln.state,
                }
                for ln in lines
            ],
        ).scalars()
    )
