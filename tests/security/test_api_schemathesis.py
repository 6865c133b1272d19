"""Property-based API testing: Schemathesis generates requests for every operation in the
project's OpenAPI schema, as an anonymous visitor and as staff; none may answer with a 5xx."""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.test import Client
from hypothesis import HealthCheck, given, settings

EXAMPLES_PER_OPERATION = 25


@pytest.mark.django_db(transaction=True)  # the WSGI app closes connections after each request
@pytest.mark.parametrize("who", ["anonymous", "staff"])
def test_no_operation_answers_with_a_server_error(who, django_user_model, product):
    headers = {}
    if who == "staff":
        client = Client()
        client.force_login(django_user_model.objects.create_user("staff", password="x" * 12, is_staff=True))
        headers["Cookie"] = f"sessionid={client.cookies['sessionid'].value}"
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", get_wsgi_application())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5
    failures: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def check(case) -> None:
            response = case.call(headers=headers)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}")

        check()
    assert failures == []
