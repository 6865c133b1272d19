"""Read-only reaction reports API for shop staff: the product page's figures as JSON."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import exceptions, permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from emotion.ml.labels import CLASSES
from shop.models import Product

from . import services
from .forms import PeriodError, parse_period


class CanViewProductReactions(permissions.BasePermission):
    """Staff with the admin's "view product reactions" permission, as for the admin pages."""

    message = "Staff only: needs the permission to view product reactions."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user and user.is_active and user.is_staff and user.has_perm("insights.view_productreaction"))


@extend_schema_field(OpenApiTypes.DATETIME)
class _Instant(serializers.ReadOnlyField):
    """A datetime left to the JSON renderer (ISO 8601, milliseconds, ``Z`` for UTC)."""


@extend_schema_field({"type": "string", "description": "A date, or a datetime for hourly buckets."})
class _BucketStart(serializers.ReadOnlyField):
    """A day (date) or an hour (datetime), left to the JSON renderer."""


class ProductRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField()
    category = serializers.IntegerField(source="category_id")


class PeriodSerializer(serializers.Serializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        # "from" is a Python keyword, so the fields are declared here rather than as attributes.
        return {
            "from": serializers.DateField(source="start"),
            "to": serializers.DateField(source="end"),
            "granularity": serializers.ChoiceField(["day", "hour"]),
        }


class ModelInfoSerializer(serializers.Serializer):
    version = serializers.CharField()
    accuracy = serializers.FloatField(allow_null=True)
    accuracy_source = serializers.CharField(source="source")


class EmotionFiguresSerializer(serializers.Serializer):
    seconds = serializers.FloatField()
    events = serializers.IntegerField()
    share = serializers.FloatField(help_text="Of all reaction seconds in the period.")
    mean_duration_seconds = serializers.FloatField(source="mean_duration")


class BucketSerializer(serializers.Serializer):
    start = _BucketStart()
    seconds = serializers.DictField(child=serializers.FloatField())
    valence = serializers.FloatField()


class MomentSerializer(serializers.Serializer):
    """One of the longest reactions."""

    emotion = serializers.ChoiceField(CLASSES)
    started_at = _Instant()
    duration = serializers.FloatField()
    confidence = serializers.FloatField()


class TopMomentsSerializer(serializers.Serializer):
    positive = MomentSerializer(many=True, source="positive_moments")
    negative = MomentSerializer(many=True, source="negative_moments")


class ConversionSerializer(serializers.Serializer):
    reaction = serializers.CharField(help_text="Dominant emotion, 'none' or 'all'.")
    viewers = serializers.IntegerField()
    carted = serializers.IntegerField()
    purchased = serializers.IntegerField()
    cart_rate = serializers.FloatField()
    purchase_rate = serializers.FloatField()


class ViewingSecondSerializer(serializers.Serializer):
    second = serializers.IntegerField(help_text="Seconds after the product came on screen.")
    views = serializers.IntegerField(help_text="Views still on screen at that second.")
    showing = serializers.DictField(child=serializers.IntegerField(), help_text="Views showing each emotion then.")


class QualitySerializer(serializers.Serializer):
    frames = serializers.IntegerField()
    views = serializers.IntegerField()
    no_face = serializers.IntegerField(help_text="Frames without a face.")
    low_confidence = serializers.IntegerField(help_text="Frames labelled below the reaction rules' confidence.")
    model_versions = serializers.ListField(child=serializers.CharField())
    attention = serializers.FloatField(help_text="Share of frames with a face in them.")
    frames_per_view = serializers.FloatField()
    flags = serializers.ListField(child=serializers.CharField())


class SegmentSerializer(serializers.Serializer):
    name = serializers.CharField()
    viewers = serializers.IntegerField(help_text="Distinct viewers, counted up to 32 (32 means 32 or more).")
    enough_viewers = serializers.BooleanField()
    seconds = serializers.SerializerMethodField()
    valence = serializers.SerializerMethodField()
    emotions = serializers.SerializerMethodField()

    def _shown(self, segment: services.Segment) -> bool:
        return segment.enough_viewers

    def get_seconds(self, segment: services.Segment) -> float | None:
        return segment.mix.seconds if self._shown(segment) else None

    def get_valence(self, segment: services.Segment) -> float | None:
        return segment.mix.valence if self._shown(segment) else None

    def get_emotions(self, segment: services.Segment) -> dict[str, float] | None:
        return {s.emotion: s.share for s in segment.mix.emotions} if self._shown(segment) else None


class ProductReactionsSerializer(serializers.Serializer):
    """A ``services.ProductReactions`` report as the API's answer (aggregates only)."""

    product = ProductRefSerializer()
    period = PeriodSerializer()
    model = ModelInfoSerializer()
    views = serializers.IntegerField(source="traffic.views")
    viewers = serializers.IntegerField(source="traffic.viewers")
    consenting_viewers = serializers.IntegerField(source="traffic.consenting_viewers")
    mean_dwell_seconds = serializers.FloatField(source="traffic.mean_dwell", allow_null=True)
    seconds = serializers.FloatField(source="mix.seconds")
    events = serializers.IntegerField(source="mix.events")
    valence = serializers.FloatField(source="mix.valence", help_text="Duration-weighted valence in [-1, 1].")
    arousal = serializers.FloatField(source="mix.arousal", help_text="Duration-weighted arousal in [-1, 1].")
    delight_seconds = serializers.FloatField(source="mix.delight")
    dislike_seconds = serializers.FloatField(source="mix.dislike")
    emotions = serializers.DictField(child=EmotionFiguresSerializer(), source="mix.by_emotion")
    timeline = BucketSerializer(many=True)
    top_moments = TopMomentsSerializer(source="*")
    conversion = ConversionSerializer(many=True)
    viewing_time = ViewingSecondSerializer(many=True, source="viewing")
    quality = QualitySerializer(allow_null=True)
    segments = SegmentSerializer(many=True)
    enough_viewers = serializers.BooleanField(
        help_text="False below min_viewers distinct viewers: the emotion figures are then empty (zeros, no "
        "timeline, no moments, conversion for all viewers only), to protect them."
    )
    min_viewers = serializers.IntegerField(help_text="K: the fewest distinct viewers whose reactions are shown.")
    synthetic = serializers.BooleanField(help_text="The period includes made-up demo reactions (seed_reactions).")


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
            200: ProductReactionsSerializer,
            400: OpenApiResponse(description="Invalid period"),
            403: OpenApiResponse(description="Not staff"),
            404: OpenApiResponse(description="Unknown product"),
        },
    )
    def get(self, request: Request, product_id: int) -> Response:
        try:
            period = parse_period(request.query_params)
        except PeriodError as exc:
            raise exceptions.ParseError(str(exc), code="invalid_period") from exc
        product = Product.objects.filter(pk=product_id).first()
        if product is None:
            raise exceptions.NotFound(f"Unknown product {product_id}.", code="unknown_product")
        report: Any = services.product_reactions(product, period)
        return Response(ProductReactionsSerializer(report).data)
