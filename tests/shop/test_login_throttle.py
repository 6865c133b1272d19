"""Login throttling (django-axes): wrong passwords for one account from one client address
lock that pair out, without locking out the same account elsewhere or other accounts."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture
def account(django_user_model):
    return django_user_model.objects.create_user("ada", password=PASSWORD)


def login(client: Client, password: str, username: str = "ada", **headers) -> int:
    return client.post("/accounts/login/", {"username": username, "password": password}, **headers).status_code


def test_the_sixth_attempt_after_five_wrong_passwords_is_refused_even_if_right(account, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    client = Client()
    assert [login(client, f"wrong {n}") for n in range(4)] == [200] * 4  # the form again, with an error
    assert login(client, "wrong 4") == 429  # the fifth failure locks out
    assert login(client, PASSWORD) == 429


def test_a_lock_out_holds_for_one_address_and_account_only(account, django_user_model, settings):
    settings.CLIENT_ADDRESS_HEADER = "HTTP_X_REAL_IP"
    django_user_model.objects.create_user("bob", password=PASSWORD)
    attacker = {"HTTP_X_REAL_IP": "198.51.100.7"}
    for n in range(5):
        login(Client(), f"wrong {n}", **attacker)
    assert login(Client(), PASSWORD, **attacker) == 429
    assert login(Client(), PASSWORD, HTTP_X_REAL_IP="198.51.100.8") == 302  # ada elsewhere
    assert login(Client(), PASSWORD, username="bob", **attacker) == 302  # another account


def test_an_untrusted_header_does_not_reset_the_count(account):
    for n in range(5):
        login(Client(), f"wrong {n}", HTTP_X_REAL_IP=f"203.0.113.{n}")
    assert login(Client(), PASSWORD, HTTP_X_REAL_IP="203.0.113.99") == 429
