"""The demo shop database, generated deterministically (same seed, same rows, every machine).

An outdoor-gear web shop: customers, products, orders and order items, a few thousand rows,
enough for real aggregate questions ("how many orders in 2024", "top categories by revenue").
"""

from __future__ import annotations

import random
import sqlite3
from datetime import date, timedelta
from pathlib import Path

SEED = 20241124

COUNTRIES = {
    "Netherlands": ["Rotterdam", "Amsterdam", "Utrecht"],
    "Germany": ["Berlin", "Munich", "Hamburg"],
    "France": ["Paris", "Lyon", "Grenoble"],
    "United Kingdom": ["London", "Manchester", "Edinburgh"],
    "Norway": ["Oslo", "Bergen"],
    "United States": ["Denver", "Seattle", "Boston"],
    "Canada": ["Vancouver", "Calgary"],
    "Spain": ["Madrid", "Barcelona"],
}
FIRST = (
    "Anna Ben Chloe David Emma Finn Greta Hugo Ines Jonas Lea Lucas Maya Noah Olga "
    "Pablo Rosa Sam Tara Victor Wen Yara Zoe Omar Ida Lars Mila Theo Nina Felix".split()
)
LAST = (
    "Jansen Muller Martin Smith Hansen Garcia Brown Visser Schmidt Dubois Olsen Lopez "
    "Taylor Bakker Weber Moreau Berg Fernandez Wilson Meyer Laurent Nilsen Wright".split()
)
CATEGORIES = {
    "tents": [
        "Summit 2P Tent",
        "Summit 3P Tent",
        "Ridge Ultralight Tent",
        "Basecamp 6P Tent",
        "Bivy Shelter",
        "Trail Tarp",
        "Storm Dome Tent",
        "Family Cabin Tent",
        "Tent Footprint",
        "Pole Repair Kit",
    ],
    "backpacks": [
        "Alpine 45L Pack",
        "Trek 65L Pack",
        "Daypack 22L",
        "Summit 30L Pack",
        "Hydration Pack 12L",
        "Kids Explorer Pack",
        "Travel Duffel 60L",
        "Climbing Crag Pack",
        "Ultralight 38L Pack",
        "Rain Cover",
    ],
    "footwear": [
        "Ridge Hiking Boot",
        "Trail Runner",
        "Approach Shoe",
        "Winter Boot",
        "Camp Sandal",
        "Merino Hiking Socks",
        "Gaiters",
        "Crampon-Ready Boot",
        "Kids Hiking Boot",
        "Insole Set",
    ],
    "clothing": [
        "Down Jacket",
        "Rain Shell",
        "Fleece Midlayer",
        "Merino Base Layer",
        "Softshell Pants",
        "Sun Hoodie",
        "Insulated Gloves",
        "Beanie",
        "Trekking Shorts",
        "Windbreaker",
    ],
    "climbing": [
        "Dynamic Rope 60m",
        "Harness",
        "Climbing Helmet",
        "Quickdraw Set",
        "Belay Device",
        "Chalk Bag",
        "Climbing Shoes",
        "Locking Carabiner",
        "Crash Pad",
        "Via Ferrata Set",
    ],
    "kitchen": [
        "Titanium Pot",
        "Gas Stove",
        "Camp Mug",
        "Spork",
        "Water Filter",
        "Freeze-Dried Meal",
        "Collapsible Bowl",
        "Fuel Canister",
        "Camp Kettle",
        "Cooler Bag",
    ],
}
# What each product costs about, in EUR: a price is drawn within 20 % of it. Prices drawn
# from the category's range alone made a 447 EUR pole repair kit the shop's "most expensive
# tent" and a 90 EUR spork.
LIST_PRICE = {
    "Summit 2P Tent": 349, "Summit 3P Tent": 429, "Ridge Ultralight Tent": 479,
    "Basecamp 6P Tent": 529, "Bivy Shelter": 189, "Trail Tarp": 79, "Storm Dome Tent": 399,
    "Family Cabin Tent": 459, "Tent Footprint": 39, "Pole Repair Kit": 14,
    "Alpine 45L Pack": 179, "Trek 65L Pack": 249, "Daypack 22L": 69, "Summit 30L Pack": 129,
    "Hydration Pack 12L": 89, "Kids Explorer Pack": 49, "Travel Duffel 60L": 109,
    "Climbing Crag Pack": 139, "Ultralight 38L Pack": 199, "Rain Cover": 24,
    "Ridge Hiking Boot": 189, "Trail Runner": 139, "Approach Shoe": 149, "Winter Boot": 219,
    "Camp Sandal": 49, "Merino Hiking Socks": 22, "Gaiters": 39, "Crampon-Ready Boot": 279,
    "Kids Hiking Boot": 79, "Insole Set": 34,
    "Down Jacket": 299, "Rain Shell": 249, "Fleece Midlayer": 89, "Merino Base Layer": 79,
    "Softshell Pants": 119, "Sun Hoodie": 59, "Insulated Gloves": 49, "Beanie": 25,
    "Trekking Shorts": 55, "Windbreaker": 99,
    "Dynamic Rope 60m": 199, "Harness": 69, "Climbing Helmet": 79, "Quickdraw Set": 119,
    "Belay Device": 35, "Chalk Bag": 19, "Climbing Shoes": 129, "Locking Carabiner": 12,
    "Crash Pad": 229, "Via Ferrata Set": 149,
    "Titanium Pot": 59, "Gas Stove": 69, "Camp Mug": 15, "Spork": 9, "Water Filter": 45,
    "Freeze-Dried Meal": 11, "Collapsible Bowl": 14, "Fuel Canister": 7, "Camp Kettle": 39,
    "Cooler Bag": 49,
}  # fmt: skip
# The ranges the generator has always drawn from: drawing from them still (and then placing
# the draw near the list price) keeps every other row of the shop as it was.
PRICE_RANGE = {
    "tents": (39, 520),
    "backpacks": (25, 260),
    "footwear": (15, 240),
    "clothing": (19, 330),
    "climbing": (9, 290),
    "kitchen": (4, 95),
}
STATUSES = ["delivered"] * 14 + ["shipped"] * 2 + ["returned"] * 2 + ["cancelled"]

SCHEMA = """
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    country TEXT NOT NULL,
    city TEXT NOT NULL,
    signup_date DATE NOT NULL,
    segment TEXT NOT NULL CHECK (segment IN ('regular', 'gold'))
);
CREATE TABLE products (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    price REAL NOT NULL,
    stock INTEGER NOT NULL
);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    order_date DATE NOT NULL,
    status TEXT NOT NULL,
    total REAL NOT NULL
);
CREATE TABLE order_items (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders(id),
    product_id INTEGER NOT NULL REFERENCES products(id),
    quantity INTEGER NOT NULL,
    unit_price REAL NOT NULL
);
"""


def build_shop_db(path: Path, *, customers: int = 300, orders: int = 1500) -> Path:
    """Write the demo database to ``path`` (replacing it). Deterministic for a given size."""
    rng = random.Random(SEED)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    con = sqlite3.connect(tmp)
    try:
        con.executescript(SCHEMA)
        customer_rows = []
        for cid in range(1, customers + 1):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            country = rng.choice(list(COUNTRIES))
            signup = date(2019, 6, 1) + timedelta(days=rng.randrange(0, 5 * 365))
            customer_rows.append(
                (
                    cid,
                    f"{first} {last}",
                    f"{first.lower()}.{last.lower()}{cid}@example.com",
                    country,
                    rng.choice(COUNTRIES[country]),
                    signup.isoformat(),
                    "gold" if rng.random() < 0.12 else "regular",
                )
            )
        con.executemany("INSERT INTO customers VALUES (?,?,?,?,?,?,?)", customer_rows)

        product_rows = []
        pid = 0
        for category, names in CATEGORIES.items():
            low, high = PRICE_RANGE[category]
            for name in names:
                pid += 1
                share = (rng.uniform(low, high) - low) / (high - low)
                price = round(LIST_PRICE[name] * (0.8 + 0.4 * share), 2)
                product_rows.append((pid, name, category, price, rng.randrange(0, 400)))
        con.executemany("INSERT INTO products VALUES (?,?,?,?,?)", product_rows)

        item_id = 0
        for oid in range(1, orders + 1):
            cid = rng.randrange(1, customers + 1)
            signup = date.fromisoformat(customer_rows[cid - 1][5])
            start = max(signup, date(2022, 1, 1))
            span = (date(2025, 6, 30) - start).days
            order_date = start + timedelta(days=rng.randrange(0, max(span, 1)))
            lines = []
            for _ in range(rng.choice([1, 1, 2, 2, 3, 4])):
                product = rng.choice(product_rows)
                item_id += 1
                lines.append((item_id, oid, product[0], rng.choice([1, 1, 1, 2, 3]), product[3]))
            total = round(sum(q * p for *_, q, p in lines), 2)
            con.execute(
                "INSERT INTO orders VALUES (?,?,?,?,?)",
                (oid, cid, order_date.isoformat(), rng.choice(STATUSES), total),
            )
            con.executemany("INSERT INTO order_items VALUES (?,?,?,?,?)", lines)
        con.commit()
    finally:
        con.close()
    tmp.replace(path)
    return path
