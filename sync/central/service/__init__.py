"""Use cases of the central store: stores and enrolment, catalog import, applying pushed events exactly once,
serving the change feed, and web orders from the storefront.

Each function takes an open session and plain data; the caller owns the transaction (`with factory.begin()`),
except `push`, which runs one transaction per event so a rejected event never undoes the others.

This package is the central service's one public face: the API, the CLI, routing, stock, tests and benchmarks call
`service.<name>`. Each module imports only those below it (an import-linter contract in pyproject.toml checks it),
and this file only re-exports:

- `base`: limits and constants, the errors (`CentralError`, `NotFound`, `Conflict`, `Forbidden`), small checks;
- `catalog`: tax classes, products and current prices, the catalog import;
- `order_state`: a web order's payload, status changes, finding one, document numbers kept unique (routing builds
  on it and on `base`, so the package has no import cycle with `sync.central.routing`);
- `access`: stores and their tax settings, enrolment and replacement tills, terminal tokens, API keys;
- `handlers`: applying one pushed event, a handler per event kind;
- `judge`: judging a pushed event alone against the protocol and against itself (`check_event`);
- `batch`: `push`, applying a till's judged batch exactly once, refusals, after-push bookkeeping;
- `feed`: the change feed a till pulls;
- `orders`: placing (through routing) and cancelling web orders;
- `returns`: what is left to take back of a sale or web order, over-returns refused or parked, the no-receipt limit;
- `review`: the status summary, a terminal's audit head, stock exceptions.
"""

from __future__ import annotations

from sync.central.service.access import (
    ALL_STORES,
    CASH_STEPS,
    TAX_MODES,
    TAX_ROUNDINGS,
    api_key_stores,
    check_api_key,
    create_api_key,
    create_store,
    enroll,
    get_store,
    issue_enrolment_code,
    require_store_scope,
    revoke_api_key,
    revoke_terminal,
    set_store_tax,
    store_payload,
    terminal_for_token,
    token_generation,
)
from sync.central.service.base import (
    DEFAULT_LOCATIONS,
    ENROL_CODE_TTL,
    NUMBER_KINDS,
    NUMBER_STEP,
    PULL_MAX_LIMIT,
    REPLACED_TOKEN_GRACE,
    STOREFRONT_KEY_ENV,
    CentralError,
    Conflict,
    Forbidden,
    NotFound,
    sha256,
)
from sync.central.service.batch import (
    PUSHES_PER_STORE,
    PUSHES_PER_STORE_OF_SEVERAL,
    SWEEP_S,
    after_push,
    push,
    pushes_per_store,
    serve_as_one_of,
)
from sync.central.service.catalog import (
    CATALOG_COLUMNS,
    CATALOG_OPTIONAL_COLUMNS,
    CURRENT_PRICE,
    RATE_PLACES,
    catalog_payloads,
    current_price,
    import_catalog,
    product_payload,
    set_tax_class,
    tax_class_payload,
)
from sync.central.service.feed import (
    Compacted,
    SnapshotNeeded,
    compact_feed,
    pull,
    snapshot_lines,
    snapshot_stream,
)
from sync.central.service.handlers import DISABLED_PIN_HASH, scrub_staff_feed
from sync.central.service.judge import check_event
from sync.central.service.order_state import find_order, hold_until, order_payload, ready_since
from sync.central.service.orders import cancel_order, place_order
from sync.central.service.returns import (
    HANDED_OVER,
    LAST_RESORT,
    Returnable,
    central_setting,
    judge_return,
    no_receipt_payload,
    no_receipt_refusal,
    no_receipt_window,
    record_return,
    return_overs,
    returnable,
    set_central_setting,
)
from sync.central.service.review import audit_head, list_exceptions, resolve_exception, status_summary

__all__ = [
    # base
    "CentralError",
    "Conflict",
    "DEFAULT_LOCATIONS",
    "ENROL_CODE_TTL",
    "Forbidden",
    "NUMBER_KINDS",
    "NUMBER_STEP",
    "NotFound",
    "PULL_MAX_LIMIT",
    "REPLACED_TOKEN_GRACE",
    "STOREFRONT_KEY_ENV",
    "sha256",
    # access
    "ALL_STORES",
    "CASH_STEPS",
    "TAX_MODES",
    "TAX_ROUNDINGS",
    "api_key_stores",
    "check_api_key",
    "create_api_key",
    "create_store",
    "enroll",
    "get_store",
    "issue_enrolment_code",
    "require_store_scope",
    "revoke_api_key",
    "revoke_terminal",
    "set_store_tax",
    "store_payload",
    "terminal_for_token",
    "token_generation",
    # catalog
    "CATALOG_COLUMNS",
    "CATALOG_OPTIONAL_COLUMNS",
    "CURRENT_PRICE",
    "RATE_PLACES",
    "catalog_payloads",
    "current_price",
    "import_catalog",
    "product_payload",
    "set_tax_class",
    "tax_class_payload",
    # order_state
    "find_order",
    "hold_until",
    "order_payload",
    "ready_since",
    # handlers
    "DISABLED_PIN_HASH",
    "scrub_staff_feed",
    # judge
    "check_event",
    # batch
    "PUSHES_PER_STORE",
    "PUSHES_PER_STORE_OF_SEVERAL",
    "SWEEP_S",
    "after_push",
    "push",
    "pushes_per_store",
    "serve_as_one_of",
    # feed
    "pull",
    "Compacted",
    "SnapshotNeeded",
    "compact_feed",
    "snapshot_lines",
    "snapshot_stream",
    # orders
    "cancel_order",
    "place_order",
    # returns
    "HANDED_OVER",
    "LAST_RESORT",
    "Returnable",
    "central_setting",
    "judge_return",
    "no_receipt_payload",
    "no_receipt_refusal",
    "no_receipt_window",
    "record_return",
    "return_overs",
    "returnable",
    "set_central_setting",
    # review
    "audit_head",
    "list_exceptions",
    "resolve_exception",
    "status_summary",
]
