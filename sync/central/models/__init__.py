"""Tables of the central store service (SQLAlchemy 2, SQLite or PostgreSQL).

The central store keeps the chain's catalog (products, barcodes, effective-dated prices, tax classes), each store's
locations and enrolled terminals, the append-only stock ledger with its derived on-hand/reserved levels, web orders
with their status history, the returns and sales the terminals pushed, exceptions for people to look at (oversell),
the ids of every event applied (exactly-once) and each store's change feed. Money is integer cents and quantities
integer thousandths in the database so sums are exact on both engines; Python sees `Decimal`.

Split by what the tables hold (columns, chain, catalog, stock, orders, sales); callers import from this package.
"""

from sync.central.models.catalog import Barcode, Price, Product, TaxClass
from sync.central.models.chain import ApiKey, CentralSetting, Location, StaffMember, Store, Terminal
from sync.central.models.columns import (
    Base,
    Money,
    Qty,
    Rate,
    UTCDateTime,
    made_on,
    sqlite_key,
    table_of,
    utcnow,
)
from sync.central.models.orders import (
    Notice,
    OrderAccess,
    OrderStatusHistory,
    RoutingTrace,
    Shipment,
    WebOrder,
    WebOrderLine,
)
from sync.central.models.sales import (
    AppliedEvent,
    Balance,
    BalanceEntry,
    BalancePending,
    FeedChange,
    ParkedSale,
    RejectedEvent,
    Return,
    Sale,
)
from sync.central.models.stock import (
    CountSetup,
    Delivery,
    DeliveryLine,
    SafetyStock,
    StockDocument,
    StockException,
    StockLevel,
    StockMovement,
)

__all__ = [
    "ApiKey",
    "AppliedEvent",
    "Balance",
    "BalanceEntry",
    "BalancePending",
    "Barcode",
    "Base",
    "CentralSetting",
    "CountSetup",
    "Delivery",
    "DeliveryLine",
    "FeedChange",
    "Location",
    "Money",
    "Notice",
    "OrderAccess",
    "OrderStatusHistory",
    "ParkedSale",
    "Price",
    "Product",
    "Qty",
    "Rate",
    "RejectedEvent",
    "Return",
    "RoutingTrace",
    "SafetyStock",
    "Sale",
    "Shipment",
    "StaffMember",
    "StockDocument",
    "StockException",
    "StockLevel",
    "StockMovement",
    "Store",
    "TaxClass",
    "Terminal",
    "UTCDateTime",
    "WebOrder",
    "WebOrderLine",
    "made_on",
    "sqlite_key",
    "table_of",
    "utcnow",
]
