import pytest

from recommender.ml.datasets import load_movielens, load_retailrocket, load_tsv


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


def test_tsv_takes_events_weights_and_timestamps(tmp_path):
    path = tmp_path / "log.tsv"
    path.write_text(
        "user\titem\tevent\ttimestamp\n"
        "# a comment\n"
        "a\tx\tview\t100\n"
        "a\tx\tpurchase\t2026-01-01T00:00:00\n"
        "a\ty\t2.5\t50\n"
        "b\ty\tcart\t\n"
    )
    data = load_tsv(path)
    a, b, x, y = data.users.index("a"), data.users.index("b"), data.items.index("x"), data.items.index("y")
    assert data.confidence[a, x] == pytest.approx(1 + 8) and data.confidence[a, y] == pytest.approx(2.5)
    assert data.confidence[b, y] == pytest.approx(4)
    assert data.last_seen is not None
    assert data.last_seen[a, x] > data.last_seen[a, y] > 0  # the purchase (2026) is the pair's latest event
    assert data.last_seen[b, y] > 0  # no timestamp: earliest, but still in the pattern


def test_tsv_without_timestamps_has_no_time_split(tmp_path):
    path = tmp_path / "log.tsv"
    path.write_text("1\t2\t1\n1\t3\tpurchase\n")
    assert load_tsv(path).last_seen is None


@pytest.mark.parametrize(
    ("line", "message"),
    [("a\tb\n", "3 or 4"), ("a\tb\tlike\n", "could not convert"), ("a\tb\t-1\n", "positive"), ("a\tb\t1\tsoon\n", "")],
)
def test_tsv_rejects_bad_rows_with_their_line(tmp_path, line, message):
    path = tmp_path / "log.tsv"
    path.write_text("u\ti\t1\n" + line)
    with pytest.raises(ValueError, match=f"log.tsv:2: .*{message}"):
        load_tsv(path)
