"""The demo store: a believable catalog, stock, customers, gift cards, one user of each role and waiting web orders.

`seed(session)` fills an empty database (it refuses a database that already has a store). Names and numbers are
made up; barcodes are valid made-up GTINs (EAN-13 under 5399, UPC-A under 0); produce carries price-embedded scale
labels (prefix 20).
"""

from __future__ import annotations

import random
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import (
    Barcode,
    Customer,
    Department,
    GiftCard,
    Location,
    Order,
    OrderLine,
    Product,
    StaffUser,
    StockMinimum,
    Store,
    TaxClass,
    Terminal,
)
from app.db.types import utcnow
from app.domain import prefixes
from app.domain.barcodes import gtin_check_digit, make_variable_measure_code
from app.ids import new_id
from app.services import audit, stock
from app.services.staff import hash_pin

DEMO_USERS = [
    # username, display name, role, PIN, badge
    ("cashier", "Casey Cashier", "cashier", "1111", f"{prefixes.BADGE}0001"),
    ("associate", "Alex Associate", "associate", "2222", f"{prefixes.BADGE}0002"),
    ("packer", "Pat Packer", "packer", "3333", f"{prefixes.BADGE}0003"),
    ("returns", "Robin Returns", "returns_clerk", "4444", f"{prefixes.BADGE}0004"),
    ("supervisor", "Sam Supervisor", "supervisor", "5555", f"{prefixes.BADGE}0005"),
    ("manager", "Morgan Manager", "manager", "6666", f"{prefixes.BADGE}0006"),
    ("admin", "Ari Admin", "admin", "9999", f"{prefixes.BADGE}0009"),
]

DEPARTMENTS = {
    "GROC": (
        "Grocery",
        ["Pasta", "Rice", "Olive Oil", "Tomato Sauce", "Cereal", "Coffee", "Tea", "Biscuits"],
    ),
    "DAIRY": ("Dairy", ["Milk", "Butter", "Cheddar", "Yogurt", "Cream", "Mozzarella"]),
    "HOME": ("Household", ["Dish Soap", "Sponges", "Bin Bags", "Kitchen Roll", "Laundry Liquid"]),
    "HW": (
        "Hardware",
        ["Screwdriver", "Hammer", "Tape Measure", "Light Bulb", "Batteries AA", "Extension Lead"],
    ),
    "TOYS": ("Toys", ["Puzzle", "Building Blocks", "Plush Bear", "Card Game", "Colouring Book"]),
    "STAT": ("Stationery", ["Notebook", "Ballpoint Pens", "Stapler", "Envelopes", "Sticky Notes"]),
    "BEAUTY": ("Health & Beauty", ["Shampoo", "Toothpaste", "Hand Cream", "Sun Cream", "Plasters"]),
    "PET": ("Pet", ["Dog Food", "Cat Litter", "Bird Seed", "Pet Shampoo"]),
    "GARDEN": ("Garden", ["Compost", "Seeds", "Gloves", "Watering Can", "Plant Pot"]),
    "ELEC": ("Electronics", ["USB Cable", "Phone Charger", "Headphones", "HDMI Cable", "Power Bank"]),
    "BAKE": ("Bakery", ["Sourdough", "Croissant", "Bagels", "Scones"]),
}
BRANDS = ["Harbour", "Oakfield", "Northstar", "Bluebell", "Greenway", "Kestrel", "Summit", "Riverside"]
VARIANTS = [
    "Small",
    "Large",
    "Classic",
    "Family Pack",
    "Organic",
    "Value",
    "Premium",
    "Twin Pack",
    "Mini",
    "XL",
]
PRODUCE = [
    "Apples",
    "Bananas",
    "Carrots",
    "Potatoes",
    "Onions",
    "Tomatoes",
    "Grapes",
    "Pears",
    "Peppers",
    "Lemons",
    "Oranges",
    "Mushrooms",
    "Courgettes",
    "Broccoli",
    "Plums",
    "Kiwis",
    "Leeks",
    "Parsnips",
    "Beetroot",
    "Limes",
]

# One Irish-style VAT set; the store is tax-inclusive like most of Europe.
TAX = [("STD", "Standard 23%", "0.23"), ("RED", "Reduced 13.5%", "0.135"), ("ZERO", "Zero rated", "0")]
DEPT_TAX = {
    "GROC": "ZERO",
    "DAIRY": "ZERO",
    "BAKE": "ZERO",
    "PET": "STD",
    "BEAUTY": "STD",
    "HOME": "STD",
    "HW": "STD",
    "TOYS": "STD",
    "STAT": "STD",
    "GARDEN": "RED",
    "ELEC": "STD",
}


def ean13(body12: str) -> str:
    return body12 + str(gtin_check_digit(body12))


def gtin14(code: str) -> str:
    return code.rjust(14, "0")


def seed(
    session: Session,
    store_code: str = "S001",
    terminal_code: str = "01",
    products: int = 2400,
    rng_seed: int = 7,
) -> None:
    if session.scalar(select(Store.id).limit(1)):
        raise ValueError("this database already has a store")
    rng = random.Random(rng_seed)
    store = Store(
        code=store_code,
        name="Counterline Demo Store",
        address="1 Harbour Street\nDublin D02 XY45",
        currency="EUR",
        locale="en_IE",
        timezone="Europe/Dublin",
        tax_mode="inclusive",
        tax_rounding="line",
        cash_rounding=Decimal("0.05"),
    )
    session.add(store)
    session.flush()
    session.add(Terminal(store_id=store.id, code=terminal_code, name=f"Till {terminal_code}"))
    floor = Location(store_id=store.id, code="floor", name="Shop floor", kind="floor", sellable=True)
    back = Location(store_id=store.id, code="backroom", name="Backroom", kind="backroom")
    quar = Location(store_id=store.id, code="quarantine", name="Quarantine", kind="quarantine")
    session.add_all([floor, back, quar])
    for code, name, rate in TAX:
        session.add(TaxClass(code=code, name=name, rate=Decimal(rate)))
    for code, (name, _) in DEPARTMENTS.items():
        session.add(Department(code=code, name=name))
    session.add(Department(code="PROD", name="Fruit & Veg"))
    session.flush()

    users = {}
    for username, display, role, pin, badge in DEMO_USERS:
        u = StaffUser(
            username=username, display_name=display, role=role, pin_hash=hash_pin(pin), badge_code=badge
        )
        session.add(u)
        users[username] = u
    session.flush()

    made: list[Product] = []
    n = 0
    depts = list(DEPARTMENTS.items())
    while len(made) < products - len(PRODUCE):
        code, (_, items) = depts[n % len(depts)]
        item = items[(n // len(depts)) % len(items)]
        brand = BRANDS[(n // (len(depts) * len(items))) % len(BRANDS)]
        variant = VARIANTS[(n // (len(depts) * len(items) * len(BRANDS))) % len(VARIANTS)]
        n += 1
        name = f"{brand} {item} {variant}"
        price = Decimal(rng.choice([99, 149, 199, 249, 299, 349, 499, 799, 999, 1499, 1999, 2999])) / 100
        p = Product(
            id=new_id(),
            sku=f"{code[:3]}-{len(made) + 1:05d}",
            name=name,
            name_lower=name.lower(),
            price=price,
            tax_class=DEPT_TAX[code],
            department=code,
        )
        unit_code = ean13(f"5399{len(made) + 1:08d}") if len(made) % 3 else ean13(f"0{len(made) + 1:011d}")
        p.barcodes.append(Barcode(code=gtin14(unit_code), pack_qty=1))
        if len(made) % 10 == 0:  # a case of 6: GTIN-14 with packaging indicator 1
            body = "1" + unit_code[:-1]
            p.barcodes.append(Barcode(code=body + str(gtin_check_digit(body)), pack_qty=6))
        made.append(p)
    for i, fruit in enumerate(PRODUCE):
        name = f"Loose {fruit} (per kg)"
        p = Product(
            id=new_id(),
            sku=f"PRD-{i + 1:04d}",
            name=name,
            name_lower=name.lower(),
            price=Decimal(rng.choice([129, 179, 249, 299, 399])) / 100,
            tax_class="ZERO",
            department="PROD",
            unit="kg",
            weighed=True,
            priced_by_barcode=True,
            item_ref=f"{i + 1:05d}",
        )
        made.append(p)
    session.add_all(made)
    # The store's minimum stock: 3 of every item; none of the loose produce (weighed, bought in daily).
    session.add(StockMinimum(sku="*", qty=Decimal(3)))
    session.add_all(StockMinimum(sku=p.sku, qty=Decimal(0)) for p in made if p.weighed)
    session.flush()

    moves = []
    for i, p in enumerate(made):
        moves.append(
            stock.MovementIn(p.id, floor.id, Decimal(rng.randint(0, 40) if i % 25 else 2), "receipt")
        )
        if i % 4 == 0:
            moves.append(stock.MovementIn(p.id, back.id, Decimal(rng.randint(6, 48)), "receipt"))
    stock.record_movements(session, moves, "demo", new_id(), users["admin"].id)

    session.add_all(
        [
            Customer(
                name="Jordan Byrne",
                phone="+353 87 123 4567",
                email="jordan@example.com",
                loyalty_card=f"{prefixes.LOYALTY}100001",
                store_credit=Decimal("15.00"),
            ),
            Customer(
                name="Taylor Walsh",
                phone="+353 86 765 4321",
                email="taylor@example.com",
                loyalty_card=f"{prefixes.LOYALTY}100002",
            ),
            Customer(name="Riley Doyle", phone="+353 85 555 0101", email="riley@example.org"),
        ]
    )
    session.add_all(
        [
            GiftCard(code="GC-1000-0001", balance=Decimal("50.00")),
            GiftCard(code="GC-1000-0002", balance=Decimal("10.00")),
        ]
    )

    for k, fulfilment in enumerate(["pickup", "pickup", "curbside", "ship", "ship", "pickup", "ship"]):
        order = Order(
            id=new_id(),
            number=f"{prefixes.ORDER}{100201 + k}",
            channel="web",
            fulfilment=fulfilment,
            status="new",
            customer_name=["Jordan Byrne", "Taylor Walsh", "Riley Doyle"][k % 3],
            created_at=utcnow(),
        )
        total = Decimal(0)
        for j in range(1 + k % 3):
            p = made[(k * 37 + j * 11) % (len(made) - len(PRODUCE))]
            qty = Decimal(1 + j)
            order.lines.append(
                OrderLine(
                    line_no=j + 1,
                    product_id=p.id,
                    sku=p.sku,
                    name=p.name,
                    qty=qty,
                    unit_price=p.price,
                    tax_class=p.tax_class,
                    tax_rate=Decimal(0),
                    amount=p.price * qty,
                )
            )
            total += p.price * qty
        order.total = total
        order.subtotal = total
        session.add(order)
    audit.record(session, users["admin"].id, "store.demo_seeded", "store", store.id, {"products": len(made)})


def demo_scale_label(session: Session, sku: str, price: Decimal) -> str:
    """A price-embedded scale label for a demo produce item (for trying the counter without a scale)."""
    p = session.scalar(select(Product).where(Product.sku == sku))
    if p is None or p.item_ref is None:
        raise ValueError(f"{sku} is not a weighed item")
    return make_variable_measure_code("20", p.item_ref, price, None)
