"""Loaders for the public implicit-feedback data sets used to benchmark the CF models.

The files stay where they are (research data is never copied into the repository); the
loaders return the same ``InteractionMatrix`` the shop builds from its own log.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Final

import numpy as np

from recommender.ml.matrix import (
    CART,
    PURCHASE,
    VIEW,
    ConfidenceWeights,
    Event,
    IdIndex,
    InteractionMatrix,
    build_matrix,
    from_pairs,
)

DATASETS_DIR: Final[Path] = Path("/work/shared/datasets")
RETAILROCKET_FILES: Final[dict[str, str]] = {
    VIEW: "view_ecommerce.dat",
    CART: "add_to_cart_ecommerce.dat",
    PURCHASE: "purchase_ecommerce.dat",
}


def _retailrocket_events(directory: Path) -> Iterator[Event]:
    for kind, name in RETAILROCKET_FILES.items():
        with (directory / name).open() as handle:
            next(handle)  # header: visitorid itemid event
            for line in handle:
                visitor, item, _ = line.split("\t")
                yield Event(int(visitor), int(item), kind)


def load_retailrocket(
    directory: Path = DATASETS_DIR / "retailrocket", weights: ConfidenceWeights | None = None
) -> InteractionMatrix:
    """RetailRocket (Fortes' filtered version): views, add-to-carts and purchases per visitor.

    The files carry no dwell time, so every view counts the base view weight.
    """
    return build_matrix(_retailrocket_events(directory), weights)


def load_movielens(path: Path = DATASETS_DIR / "movielens-100k" / "u.data", min_rating: int = 4) -> InteractionMatrix:
    """MovieLens-100k ratings of at least ``min_rating`` as positives with confidence 1.

    Rows of user 0 are dropped (the copy here carries a few such rows, not part of the
    official data, where users are numbered from 1).
    """
    users, items = IdIndex(), IdIndex()
    rows, cols = [], []
    with Path(path).open() as handle:
        for line in handle:
            user, item, rating = (int(field) for field in line.split()[:3])
            if user != 0 and rating >= min_rating:
                rows.append(users.add(user))
                cols.append(items.add(item))
    shape = (len(users), len(items))
    matrix = from_pairs(np.asarray(rows), np.asarray(cols), np.ones(len(rows)), shape)
    matrix.data[:] = 1.0  # a (user, item) pair rated twice is still one positive
    return InteractionMatrix(matrix, users, items)
