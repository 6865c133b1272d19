"""Frame rate limits per client address as well as per shopper, and the address read from a
proxy header only where the deployment trusts one (``CLIENT_ADDRESS_HEADER``)."""

import pytest

from emotion.api import AddressRateThrottle
from tests.capture.conftest import Shopper

pytestmark = pytest.mark.django_db


@pytest.fixture
def ten_frames_a_minute_per_address(monkeypatch):
    monkeypatch.setattr(AddressRateThrottle, "THROTTLE_RATES", {"frames_address": "10/minute"})


def sessions(product, count: int) -> list[tuple[Shopper, str]]:
    opened = []
    for _ in range(count):
        shopper = Shopper()
        view_id = shopper.open(product)
        assert shopper.consent().status_code == 201
        opened.append((shopper, view_id))
    return opened


def test_new_sessions_do_not_escape_the_per_address_limit(
    product, face_jpeg, enqueued, ten_frames_a_minute_per_address
):
    """Ten free sessions from one address, two frames each (within every per-shopper limit)."""
    statuses = [
        shopper.post_frame(product, view_id, face_jpeg, seq=seq).status_code
        for shopper, view_id in sessions(product, 10)
        for seq in range(2)
    ]
    assert statuses.count(202) == 10 and statuses.count(429) == 10
    assert len(enqueued) == 10


def test_a_trusted_proxy_header_separates_clients(
    product, face_jpeg, enqueued, ten_frames_a_minute_per_address, settings
):
    settings.CLIENT_ADDRESS_HEADER = "HTTP_X_REAL_IP"
    statuses = {"198.51.100.1": [], "198.51.100.2": []}
    for n, (shopper, view_id) in enumerate(sessions(product, 8)):
        address = list(statuses)[n % 2]
        for seq in range(2):
            response = shopper.post_frame(product, view_id, face_jpeg, seq=seq, HTTP_X_REAL_IP=address)
            statuses[address].append(response.status_code)
    assert statuses["198.51.100.1"] == [202] * 8
    assert statuses["198.51.100.2"] == [202] * 8


def test_the_header_is_ignored_unless_trusted(product, face_jpeg, enqueued, ten_frames_a_minute_per_address):
    """Without CLIENT_ADDRESS_HEADER, a client naming a new address per request gains nothing."""
    statuses = [
        shopper.post_frame(product, view_id, face_jpeg, seq=seq, HTTP_X_REAL_IP=f"203.0.113.{n * 2 + seq}").status_code
        for n, (shopper, view_id) in enumerate(sessions(product, 8))
        for seq in range(2)
    ]
    assert statuses.count(202) == 10 and statuses.count(429) == 6
