import math

import pytest

from recommender.ml.matrix import CART, PURCHASE, VIEW, ConfidenceWeights, Event, IdIndex, build_matrix


def test_event_weights_follow_the_documented_formula():
    weights = ConfidenceWeights()
    assert weights.confidence(VIEW) == 1.0
    assert weights.confidence(VIEW, 10.0) == pytest.approx(1.0 + math.log(2.0))
    assert weights.confidence(VIEW, -5.0) == 1.0
    assert weights.confidence(CART) == 4.0
    assert weights.confidence(PURCHASE) == 8.0
    with pytest.raises(ValueError, match="unknown event kind"):
        weights.confidence("wishlist")


def test_events_of_a_pair_add_up_and_ids_map_both_ways():
    events = [
        Event("ann", 101, VIEW, 30.0),
        Event("ann", 101, CART),
        Event("ann", 101, PURCHASE),
        Event("bob", 202, VIEW),
    ]
    built = build_matrix(events, ConfidenceWeights(cart=3.0, purchase=5.0))
    ann, bob = built.users.index("ann"), built.users.index("bob")
    item_101, item_202 = built.items.index(101), built.items.index(202)
    assert built.confidence.shape == (2, 2)
    assert built.confidence[ann, item_101] == pytest.approx(1.0 + math.log1p(3.0) + 3.0 + 5.0)
    assert built.confidence[bob, item_202] == pytest.approx(1.0)
    assert built.confidence[ann, item_202] == 0
    assert built.users.ids == ("ann", "bob")


def test_rebuilding_with_known_indices_keeps_them_and_appends_new_ids():
    items = IdIndex([5, 6, 7])  # catalog registered up front, item 7 never touched
    first = build_matrix([Event(1, 6, VIEW)], items=items)
    assert first.confidence.shape == (1, 3)
    second = build_matrix([Event(2, 8, CART), Event(1, 6, VIEW)], users=first.users, items=items)
    assert second.users.index(1) == 0 and second.users.index(2) == 1
    assert items.index(8) == 3
    assert second.confidence.shape == (2, 4)
    assert 8 in items and 9 not in items
