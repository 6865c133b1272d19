"""Recommendations API: the shopper's own list, any account's list (staff), similar products.

Views only parse and answer; ranking lives in ``services``. Lists are paginated with
``limit``/``offset`` in DRF's limit-offset format; bad parameters and unknown ids answer
400/404 with the project's JSON ``error`` body.
"""

from django.contrib.auth import get_user_model
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, serializers
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from moodshop.api import api_error
from shop.services import current_shopper

from . import experiments, services
from .models import Panel

MAX_LIMIT = 100


class PageQuery(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=10)
    offset = serializers.IntegerField(min_value=0, max_value=services.MAX_RESULTS, default=0)


class RecommendedProduct(serializers.Serializer):
    """A recommended product with nothing derived from anyone's emotions."""

    id = serializers.IntegerField(source="product.pk")
    name = serializers.CharField(source="product.name")
    price = serializers.DecimalField(source="product.price", max_digits=10, decimal_places=2)
    url = serializers.SerializerMethodField()
    cf_score = serializers.FloatField(
        help_text="Collaborative-filtering (or popularity / content) part, standardised per list."
    )

    def get_url(self, item: services.Recommendation) -> str:
        shown: experiments.Shown | None = self.context.get("shown")
        if shown is not None:  # the shopper's own list: following the link is an attributed click
            return self.context["request"].build_absolute_uri(shown.link(shown.items.index(item)))
        return self.context["request"].build_absolute_uri(item.product.get_absolute_url())


class RecommendationItem(RecommendedProduct):
    score = serializers.FloatField(help_text="cf_score + affect_score; the list is sorted by it.")
    affect_score = serializers.FloatField(help_text="Emotion part: the shopper's reactions, weighted by the blend.")
    reason = serializers.CharField(help_text="Why it is recommended, in a few words.")


class RecommendationList(serializers.Serializer):
    list_id = serializers.UUIDField(
        required=False, help_text="This list's impression id; each item's url names it, so following it counts a click."
    )
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = RecommendationItem(many=True)


class StaffRecommendationItem(RecommendedProduct):
    score = serializers.FloatField(required=False, help_text="Only with the personal-affect permission.")
    affect_score = serializers.FloatField(required=False, help_text="Only with the personal-affect permission.")
    reason = serializers.CharField(required=False, help_text="Only with the personal-affect permission.")


class StaffRecommendationList(RecommendationList):
    results = StaffRecommendationItem(many=True)


# A named person's emotion-derived figures (reasons such as "because you smiled at X",
# affect scores, and the blended score they are part of) need this permission, given
# explicitly (admin: Users → permissions, "Can see a person's emotion-derived reasons and
# scores"); being staff is not enough.
PERSONAL_AFFECT_PERMISSION = "emotion.view_personal_affect"


PAGE_PARAMETERS = [
    OpenApiParameter("limit", int, description=f"Items per page, 1 to {MAX_LIMIT} (default 10)."),
    OpenApiParameter("offset", int, description=f"Items to skip, 0 to {services.MAX_RESULTS} (default 0)."),
]
ERRORS = {
    400: OpenApiResponse(description="Invalid limit, offset or id"),
    404: OpenApiResponse(description="Unknown user or product"),
}


def _id(raw: str, what: str) -> int:
    """A path id as a positive integer; anything else is a 400 rather than Django's HTML 404."""
    if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) < 2**63:
        raise api_error(f"The {what} id must be a positive integer, not {raw!r}.", "invalid_id")
    return int(raw)


class _RankedListView(APIView):
    """Shared parsing and limit-offset answer of the list endpoints."""

    def page_query(self, request: Request) -> tuple[int, int]:
        query = PageQuery(data=request.query_params)
        if not query.is_valid():
            field, messages = next(iter(query.errors.items()))
            raise api_error(f"Invalid {field}: {' '.join(str(m) for m in messages)}", "invalid_parameter")
        return query.validated_data["limit"], query.validated_data["offset"]

    def answer(
        self,
        request: Request,
        page: "services.RecommendationPage | experiments.Shown",
        limit: int,
        offset: int,
        item: type[RecommendedProduct] = RecommendationItem,
    ) -> Response:
        paginator = LimitOffsetPagination()
        paginator.request, paginator.limit, paginator.offset, paginator.count = request, limit, offset, page.count
        context = {"request": request}
        if isinstance(page, experiments.Shown):
            context["shown"] = page
        items = item(page.items, many=True, context=context).data
        response = paginator.get_paginated_response(items)
        if isinstance(page, experiments.Shown):
            response.data = {"list_id": str(page.list_id), **response.data}
        return response


class MyRecommendationsView(_RankedListView):
    """Recommendations for the current shopper (session, or a token's account), with reactions made seconds ago."""

    @extend_schema(parameters=PAGE_PARAMETERS, responses={200: RecommendationList, 400: ERRORS[400]})
    def get(self, request: Request) -> Response:
        limit, offset = self.page_query(request)
        shown = experiments.show(Panel.API, current_shopper(request), None, limit, offset)
        return self.answer(request, shown, limit, offset)


class UserRecommendationsView(_RankedListView):
    """Recommendations for any account: staff only, by session or ``Authorization: Token <key>``.

    Reasons, affect and blended scores only with the personal-affect permission.
    """

    permission_classes = [permissions.IsAdminUser]

    @extend_schema(
        parameters=[OpenApiParameter("user_id", int, OpenApiParameter.PATH), *PAGE_PARAMETERS],
        responses={
            200: StaffRecommendationList,
            **ERRORS,
            401: OpenApiResponse(description="No or bad credentials"),
            403: OpenApiResponse(description="Not staff"),
        },
    )
    def get(self, request: Request, user_id: str) -> Response:
        pk = _id(user_id, "user")
        limit, offset = self.page_query(request)
        if not get_user_model().objects.filter(pk=pk).exists():
            raise api_error(f"No user with id {pk}.", "unknown_user", 404)
        page = services.recommend(services.Owner(user_id=pk), limit, offset)
        personal = request.user.has_perm(PERSONAL_AFFECT_PERMISSION)
        return self.answer(request, page, limit, offset, RecommendationItem if personal else RecommendedProduct)


class SimilarProductsView(_RankedListView):
    """Products like this one ("you may also like"), re-ranked by the current shopper's reactions."""

    @extend_schema(
        parameters=[OpenApiParameter("product_id", int, OpenApiParameter.PATH), *PAGE_PARAMETERS],
        responses={200: RecommendationList, **ERRORS},
    )
    def get(self, request: Request, product_id: str) -> Response:
        pk = _id(product_id, "product")
        limit, offset = self.page_query(request)
        product = services.available_product(pk)
        if product is None:
            raise api_error(f"No product with id {pk}.", "unknown_product", 404)
        shown = experiments.show(Panel.API, current_shopper(request), product, limit, offset)
        return self.answer(request, shown, limit, offset)
