"""A believable demo catalog and a synthetic shopping history, generated locally.

Everything is derived from a seeded RNG, so re-running produces the same catalog and
only creates what is missing (idempotent). Shoppers have sparse preferences over
categories and products have skewed popularity, which gives the recommender real
structure to learn, as in real shops.
"""

import colorsys
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from PIL import Image, ImageDraw, ImageFont
from tqdm import tqdm

from .models import Category, Interaction, Order, OrderItem, Product
from .services import refresh_popularity

logger = logging.getLogger(__name__)

SHOPPER_PREFIX = "shopper"
IMAGE_DIR = "products/demo"
HISTORY_DAYS = 60

CATALOG: dict[str, tuple[tuple[int, int], list[str]]] = {
    "Audio": ((25, 400), ["Headphones", "Earbuds", "Speaker", "Soundbar", "Turntable", "Microphone"]),
    "Books": ((8, 45), ["Novel", "Cookbook", "Atlas", "Poetry Collection", "Graphic Novel", "Field Guide"]),
    "Home & Kitchen": ((9, 180), ["Mug", "Teapot", "Chef's Knife", "Cutting Board", "Dutch Oven", "Candle"]),
    "Outdoor": ((12, 350), ["Tent", "Backpack", "Water Bottle", "Hammock", "Headlamp", "Sleeping Bag"]),
    "Toys & Games": ((6, 90), ["Puzzle", "Board Game", "Kite", "Building Set", "Plush Bear", "Yo-yo"]),
    "Fashion": ((15, 220), ["Scarf", "Sneakers", "Beanie", "Sunglasses", "Tote Bag", "Rain Jacket"]),
    "Beauty": ((5, 95), ["Face Cream", "Lip Balm", "Perfume", "Shampoo", "Bath Bomb", "Serum"]),
    "Stationery": ((3, 60), ["Notebook", "Fountain Pen", "Planner", "Sketchbook", "Washi Tape", "Desk Lamp"]),
    "Sports": ((7, 160), ["Yoga Mat", "Dumbbells", "Jump Rope", "Tennis Racket", "Football", "Cycling Gloves"]),
    "Garden": ((6, 120), ["Watering Can", "Seed Kit", "Plant Pot", "Pruning Shears", "Bird Feeder", "Hose Reel"]),
}
ADJECTIVES = [
    "Aurora",
    "Cozy",
    "Midnight",
    "Sunny",
    "Velvet",
    "Nordic",
    "Classic",
    "Pocket",
    "Pro",
    "Bamboo",
    "Coral",
    "Ember",
    "Lunar",
    "Meadow",
    "Pebble",
    "Retro",
    "Summit",
    "Terra",
    "Urban",
    "Willow",
    "Breeze",
    "Cedar",
    "Harbor",
    "Juniper",
    "Maple",
    "Onyx",
    "Saffron",
    "Tidal",
    "Zephyr",
    "Indigo",
]
FEATURES = [
    "Built to last, with a warranty you will never need.",
    "A customer favourite for gifts.",
    "Made from responsibly sourced materials.",
    "Designed in a small studio and tested by our team.",
    "Light, compact and easy to care for.",
    "Comes in recyclable packaging.",
]
VARIANTS_PER_NOUN = 4  # colour variants: the image pool is categories × nouns × variants


@dataclass(frozen=True)
class SeedReport:
    categories: int
    products: int
    shoppers: int
    interactions: int
    orders: int
    seconds: float


def _category_hue(index: int) -> float:
    return (index * 0.137 + 0.05) % 1.0


def _rgb(h: float, s: float, v: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, s, v)
    return int(r * 255), int(g * 255), int(b * 255)


def render_product_image(noun: str, category_index: int, variant: int) -> Image.Image:
    """A simple product illustration: a coloured studio backdrop, an object and its label."""
    width, height = 480, 360
    hue = _category_hue(category_index) + variant * 0.06
    top, bottom = np.array(_rgb(hue, 0.18, 0.99)), np.array(_rgb(hue + 0.05, 0.35, 0.92))
    ramp = np.linspace(0.0, 1.0, height)[:, None, None]
    pixels = (top * (1 - ramp) + bottom * ramp).astype(np.uint8)
    image = Image.fromarray(np.broadcast_to(pixels, (height, width, 3)).copy())
    draw = ImageDraw.Draw(image)
    colour = _rgb(hue + 0.5 * (variant % 2), 0.65, 0.78)
    shade = _rgb(hue, 0.3, 0.7)
    cx, cy = width // 2, height // 2 - 20
    draw.ellipse((cx - 110, cy + 95, cx + 110, cy + 120), fill=shade)  # shadow
    shape = (sum(map(ord, noun)) + variant) % 3
    if shape == 0:
        draw.ellipse((cx - 95, cy - 95, cx + 95, cy + 95), fill=colour)
        draw.ellipse((cx - 55, cy - 70, cx - 15, cy - 30), fill=_rgb(hue, 0.05, 1.0))
    elif shape == 1:
        draw.rounded_rectangle((cx - 85, cy - 100, cx + 85, cy + 100), radius=28, fill=colour)
        draw.rounded_rectangle((cx - 60, cy - 75, cx - 30, cy + 75), radius=12, fill=_rgb(hue, 0.1, 1.0))
    else:
        draw.polygon([(cx, cy - 110), (cx + 110, cy + 95), (cx - 110, cy + 95)], fill=colour)
    font = ImageFont.load_default(size=30)
    draw.text((cx, height - 34), noun, fill=(40, 40, 48), font=font, anchor="mm")
    return image


def _image_name(category_index: int, noun: str, variant: int) -> str:
    return f"{IMAGE_DIR}/{category_index:02d}-{slugify(noun)}-{variant}.png"


def _bar(items: list, desc: str, unit: str, progress: bool) -> Iterable:
    """``items`` with a progress bar and an ETA when ``progress`` is on and stderr is a terminal."""
    return tqdm(items, desc=desc, unit=f" {unit}s", disable=None if progress else True)


def ensure_images(progress: bool = False) -> None:
    """Write the image pool under MEDIA_ROOT (skipping files that exist)."""
    pool = [
        (ci, noun, variant)
        for ci, (_, nouns) in enumerate(CATALOG.values())
        for noun in nouns
        for variant in range(VARIANTS_PER_NOUN)
    ]
    for ci, noun, variant in _bar(pool, "product images", "image", progress):
        path = Path(settings.MEDIA_ROOT) / _image_name(ci, noun, variant)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            render_product_image(noun, ci, variant).save(path, optimize=True)


def ensure_catalog(n_products: int, seed: int) -> list[Product]:
    """Create the categories and the first ``n_products`` products that are missing."""
    categories = []
    for name in CATALOG:
        category, _ = Category.objects.get_or_create(
            slug=slugify(name),
            defaults={"name": name, "description": f"Hand-picked {name.lower()} for every mood."},
        )
        categories.append(category)
    rng = np.random.default_rng(seed)
    names = list(CATALOG)
    # Each category walks a seeded permutation of its adjective × noun names, so names are unique.
    combos = {name: rng.permutation(len(ADJECTIVES) * len(nouns)) for name, (_, nouns) in CATALOG.items()}
    existing = set(Product.objects.values_list("slug", flat=True))
    new, slugs = [], []
    for i in range(n_products):
        ci, k = i % len(names), i // len(names)
        (low, high), nouns = CATALOG[names[ci]]
        combo = int(combos[names[ci]][k % len(combos[names[ci]])])
        adjective, noun = ADJECTIVES[combo // len(nouns)], nouns[combo % len(nouns)]
        series = k // len(combos[names[ci]])
        name = f"{adjective} {noun}" + (f" {series + 1}" if series else "")
        slugs.append(slug := f"{slugify(name)}-{i + 1}")
        # Draw every random value even for existing products, so later ones stay the same.
        variant = int(rng.integers(VARIANTS_PER_NOUN))
        price = Decimal(str(round(float(rng.uniform(low, high))))) - Decimal("0.01")
        stock = 0 if rng.random() < 0.04 else int(rng.integers(1, 80))
        features = rng.choice(len(FEATURES), size=2, replace=False)
        if slug in existing:
            continue
        new.append(
            Product(
                category=categories[ci],
                name=name,
                slug=slug,
                description=f"The {name} from our {names[ci]} range. " + " ".join(FEATURES[int(f)] for f in features),
                price=max(price, Decimal("0.99")),
                stock=stock,
                image=_image_name(ci, noun, variant),
            )
        )
    Product.objects.bulk_create(new, batch_size=2000)
    return list(Product.objects.filter(slug__in=slugs).only("pk", "category_id", "price"))


def ensure_shoppers(n_shoppers: int) -> list[int]:
    User = get_user_model()
    usernames = [f"{SHOPPER_PREFIX}{i:05d}" for i in range(1, n_shoppers + 1)]
    existing = set(User.objects.filter(username__in=usernames).values_list("username", flat=True))
    # Demo shoppers cannot log in: an unusable password needs no (slow) hashing.
    User.objects.bulk_create(
        [User(username=u, password=make_password(None)) for u in usernames if u not in existing],
        batch_size=2000,
    )
    return list(User.objects.filter(username__in=usernames).order_by("username").values_list("pk", flat=True))


def generate_history(
    products: list[Product], user_ids: list[int], seed: int, progress: bool = False
) -> tuple[int, int]:
    """Views, carts and purchases for shoppers that have none yet; returns (interactions, orders)."""
    with_history = set(Interaction.objects.filter(user_id__in=user_ids).values_list("user_id", flat=True).distinct())
    todo = [u for u in user_ids if u not in with_history]
    if not todo or not products:
        return 0, 0
    by_category: dict[int, np.ndarray] = {}
    for cid in {p.category_id for p in products}:
        by_category[cid] = np.array([i for i, p in enumerate(products) if p.category_id == cid])
    cat_ids = sorted(by_category)
    rng = np.random.default_rng(seed)
    # Skewed popularity inside each category (Zipf-like), fixed for the whole history.
    popularity = {
        cid: (w := 1.0 / np.arange(1, len(idx) + 1) ** 0.9)[rng.permutation(len(idx))] / w.sum()
        for cid, idx in by_category.items()
    }
    now = timezone.now()
    interactions: list[Interaction] = []
    orders: list[tuple[Order, list[tuple[Product, int]]]] = []
    for user_id in _bar(todo, "shopping history", "shopper", progress):
        urng = np.random.default_rng([seed, user_id])
        taste = urng.dirichlet(np.full(len(cat_ids), 0.25))
        n_views = int(urng.integers(8, 40))
        cats = urng.choice(len(cat_ids), size=n_views, p=taste)
        shopper_id = _shopper_uuid(seed, user_id)
        bought: list[tuple[Product, int]] = []
        last = now
        for c in cats:
            cid = cat_ids[int(c)]
            product = products[int(by_category[cid][urng.choice(len(by_category[cid]), p=popularity[cid])])]
            when = now - timedelta(seconds=float(urng.uniform(0, HISTORY_DAYS * 86400)))
            dwell = float(np.clip(urng.lognormal(3.0, 0.8), 2, 900))
            interactions.append(
                Interaction(
                    kind=Interaction.Kind.VIEW,
                    product=product,
                    user_id=user_id,
                    shopper_id=shopper_id,
                    dwell_seconds=round(dwell, 1),
                    created_at=when,
                )
            )
            if urng.random() < min(0.05 + dwell / 400, 0.5):
                qty = 1 + int(urng.random() < 0.15)
                interactions.append(
                    Interaction(
                        kind=Interaction.Kind.CART,
                        product=product,
                        user_id=user_id,
                        shopper_id=shopper_id,
                        quantity=qty,
                        created_at=when + timedelta(seconds=dwell),
                    )
                )
                if urng.random() < 0.45:
                    last = when + timedelta(minutes=5)
                    interactions.append(
                        Interaction(
                            kind=Interaction.Kind.PURCHASE,
                            product=product,
                            user_id=user_id,
                            shopper_id=shopper_id,
                            quantity=qty,
                            created_at=last,
                        )
                    )
                    bought.append((product, qty))
        if bought:
            total = sum((p.price * q for p, q in bought), Decimal("0.00"))
            orders.append(
                (
                    Order(
                        user_id=user_id,
                        shopper_id=shopper_id,
                        full_name=f"Demo shopper {user_id}",
                        email=f"shopper{user_id}@example.com",
                        address="1 Demo Street",
                        total=total,
                        created_at=min(last, now),
                    ),
                    bought,
                )
            )
    with transaction.atomic():
        Interaction.objects.bulk_create(interactions, batch_size=5000)
        created = Order.objects.bulk_create([o for o, _ in orders], batch_size=2000)
        OrderItem.objects.bulk_create(
            [
                OrderItem(order=order, product=p, quantity=q, unit_price=p.price)
                for order, (_, items) in zip(created, orders, strict=True)
                for p, q in items
            ],
            batch_size=5000,
        )
    return len(interactions), len(orders)


def _shopper_uuid(seed: int, user_id: int) -> uuid.UUID:
    return uuid.UUID(int=(seed << 64) | user_id)


def seed(n_products: int, n_shoppers: int, seed: int = 42, progress: bool = False) -> SeedReport:
    """Create (or complete) the demo catalog and history; safe to run repeatedly."""
    start = timezone.now()
    ensure_images(progress)
    products = ensure_catalog(n_products, seed)
    user_ids = ensure_shoppers(n_shoppers)
    n_interactions, n_orders = generate_history(products, user_ids, seed, progress)
    refresh_popularity()
    return SeedReport(
        categories=Category.objects.count(),
        products=Product.objects.count(),
        shoppers=len(user_ids),
        interactions=n_interactions,
        orders=n_orders,
        seconds=(timezone.now() - start).total_seconds(),
    )
