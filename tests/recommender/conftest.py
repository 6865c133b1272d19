"""Tiny, generated interaction data: the recommender tests need no database and no data sets."""

import numpy as np
import pytest
from scipy.sparse import csr_matrix

from recommender.ml.matrix import from_pairs


@pytest.fixture
def two_camps() -> csr_matrix:
    """40 users in two taste camps over 20 items: camp A uses items 0-9, camp B items 10-19."""
    rng = np.random.default_rng(7)
    rows, cols = [], []
    for user in range(40):
        offset = 0 if user < 20 else 10
        for item in rng.choice(10, size=6, replace=False):
            rows.append(user)
            cols.append(offset + item)
    return from_pairs(np.array(rows), np.array(cols), np.ones(len(rows)), (40, 20))
