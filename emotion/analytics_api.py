"""Read-only reaction analytics API for shop staff: the product page's figures as JSON."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from shop.models import Product

from . import analytics
from .ml.labels import CLASSES


class CanViewProductReactions(permissions.BasePermission):
    """Staff with the admin's "view product reactions" permission, as for the admin pages."""

    message = "Staff only: needs the permission to view product reactions."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user and user.is_active and user.is_staff and user.has_perm("emotion.view_productreaction"))


def _emotion_figures() -> serializers.Serializer:
    return inline_serializer(
        "EmotionFigures",
        {
            "seconds": serializers.FloatField(),
            "events": serializers.IntegerField(),
            "share": serializers.FloatField(help_text="Of all reaction seconds in the period."),
            "mean_duration_seconds": serializers.FloatField(),
        },
    )


class ReactionMoment(serializers.Serializer):
    """One of the longest reactions (schema only)."""

    emotion = serializers.ChoiceField(CLASSES)
    started_at = serializers.DateTimeField()
    duration = serializers.FloatField()
    confidence = serializers.FloatField()


ProductReactionsSchema = inline_serializer(
    "ProductReactions",
    {
        "product": inline_serializer(
            "ReactionsProduct",
            {"id": serializers.IntegerField(), "name": serializers.CharField(), "category": serializers.IntegerField()},
        ),
        "period": inline_serializer(
            "ReactionsPeriod",
            {
                "from": serializers.DateField(),
                "to": serializers.DateField(),
                "granularity": serializers.ChoiceField(["day", "hour"]),
            },
        ),
        "model": inline_serializer(
            "ReactionsModel",
            {
                "version": serializers.CharField(),
                "accuracy": serializers.FloatField(allow_null=True),
                "accuracy_source": serializers.CharField(),
            },
        ),
        "views": serializers.IntegerField(),
        "viewers": serializers.IntegerField(),
        "consenting_viewers": serializers.IntegerField(),
        "mean_dwell_seconds": serializers.FloatField(allow_null=True),
        "seconds": serializers.FloatField(),
        "events": serializers.IntegerField(),
        "valence": serializers.FloatField(help_text="Duration-weighted valence in [-1, 1]."),
        "delight_seconds": serializers.FloatField(),
        "dislike_seconds": serializers.FloatField(),
        "emotions": serializers.DictField(child=_emotion_figures()),
        "timeline": inline_serializer(
            "ReactionsBucket",
            {
                "start": serializers.CharField(help_text="A date, or a datetime for hourly buckets."),
                "seconds": serializers.DictField(child=serializers.FloatField()),
                "valence": serializers.FloatField(),
            },
            many=True,
        ),
        "top_moments": inline_serializer(
            "ReactionsTopMoments", {"positive": ReactionMoment(many=True), "negative": ReactionMoment(many=True)}
        ),
        "conversion": inline_serializer(
            "ReactionsConversion",
            {
                "reaction": serializers.CharField(help_text="Dominant emotion, 'none' or 'all'."),
                "viewers": serializers.IntegerField(),
                "carted": serializers.IntegerField(),
                "purchased": serializers.IntegerField(),
                "cart_rate": serializers.FloatField(),
                "purchase_rate": serializers.FloatField(),
            },
            many=True,
        ),
    },
)


class ProductReactionsView(APIView):
    """A product's reaction analytics over a period (aggregates only, never per-frame data)."""

    permission_classes = [CanViewProductReactions]

    @extend_schema(
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, description="First day (default: 30 days before 'to')."),
            OpenApiParameter("to", OpenApiTypes.DATE, description="Last day, inclusive (default: today)."),
            OpenApiParameter(
                "granularity", str, enum=["day", "hour"], description="Timeline buckets (hour: 14 days at most)."
            ),
        ],
        responses={
            200: ProductReactionsSchema,
            400: OpenApiResponse(description="Invalid period"),
            403: OpenApiResponse(description="Not staff"),
            404: OpenApiResponse(description="Unknown product"),
        },
    )
    def get(self, request: Request, product_id: int) -> Response:
        try:
            period = analytics.parse_period(request.query_params)
        except analytics.PeriodError as exc:
            raise exceptions.ParseError(str(exc), code="invalid_period") from exc
        product = Product.objects.filter(pk=product_id).first()
        if product is None:
            raise exceptions.NotFound(f"Unknown product {product_id}.", code="unknown_product")
        return Response(analytics.product_reactions(product, period).as_dict())
