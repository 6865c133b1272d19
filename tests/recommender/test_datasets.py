import pytest

from recommender.ml.datasets import load_movielens, load_retailrocket


def test_retailrocket_sums_event_kinds_per_pair(tmp_path):
    header = "visitorid\titemid\tevent\n"
    (tmp_path / "view_ecommerce.dat").write_text(header + "1\t10\t1\n1\t11\t1\n2\t10\t1\n")
    (tmp_path / "add_to_cart_ecommerce.dat").write_text(header + "1\t10\t1\n")
    (tmp_path / "purchase_ecommerce.dat").write_text(header + "1\t10\t1\n2\t12\t1\n")
    data = load_retailrocket(tmp_path)
    assert data.confidence.shape == (2, 3)
    assert data.confidence[data.users.index(1), data.items.index(10)] == pytest.approx(1 + 4 + 8)
    assert data.confidence[data.users.index(2), data.items.index(12)] == pytest.approx(8)
    assert data.confidence.nnz == 4


def test_movielens_keeps_good_ratings_and_drops_user_zero(tmp_path):
    path = tmp_path / "u.data"
    path.write_text("1\t5\t5\t881250949\n1\t6\t3\t881250949\n2\t5\t4\t881250949\n0\t7\t5\t883603013\t\n")
    data = load_movielens(path)
    assert data.users.ids == (1, 2)
    assert data.items.ids == (5,)
    assert data.confidence.toarray().tolist() == [[1.0], [1.0]]
