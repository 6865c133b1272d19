"""Emotion API: consent, frame upload, on-device observations, a view's live status, and erasure.

Views only parse and answer; the rules live in ``services`` and ``validation``.
"""

import logging
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.files.uploadhandler import MemoryFileUploadHandler
from django.http import HttpRequest
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from redis.exceptions import RedisError
from rest_framework import exceptions, permissions, serializers, status
from rest_framework.authentication import CSRFCheck, TokenAuthentication
from rest_framework.parsers import BaseParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle
from rest_framework.views import APIView

from moodshop.api import api_error
from moodshop.clients import client_address
from shop.services import current_shopper

from . import freshness, on_device, roi, services, tasks
from .ml.labels import CLASSES
from .roi import Region
from .validation import FrameRejected, validate_frame

logger = logging.getLogger(__name__)

# --- Cross-cutting pieces ------------------------------------------------------------------


class CsrfForEveryone(permissions.BasePermission):
    """CSRF on unsafe methods for anonymous shoppers too.

    DRF's SessionAuthentication checks CSRF only for authenticated users, but an
    anonymous shopper's session (consent, views) is just as worth protecting.
    """

    message = "CSRF check failed: send the csrftoken cookie's value in the X-CSRFToken header."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        if isinstance(request.successful_authenticator, TokenAuthentication):
            return True  # a header a browser never adds by itself: no cross-site request can carry it
        check = CSRFCheck(lambda req: None)
        check.process_request(request._request)
        if check.process_view(request._request, None, (), {}) is not None:
            # Raised, not returned: DRF would report a False for an anonymous user as "not authenticated".
            raise exceptions.PermissionDenied(self.message, code="csrf_failed")
        return True


class _TolerantThrottle:
    """The counters live in Redis: while it is down, let requests through rather than fail
    them; the frame itself then gets a 503 if it cannot be queued either."""

    def allow_request(self, request: Request, view: APIView) -> bool:
        try:
            return super().allow_request(request, view)
        except (RedisError, OSError) as exc:
            logger.warning("Rate limiter unavailable (%s); not throttling", exc)
            return True


class ShopperRateThrottle(_TolerantThrottle, ScopedRateThrottle):
    """The view's ``throttle_scope`` rate, counted per shopper (session's shopper id): shoppers
    behind one NAT must not throttle each other."""

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": current_shopper(request).shopper_id}


class AddressRateThrottle(_TolerantThrottle, SimpleRateThrottle):
    """The ``frames_address`` rate, counted per client address across all its sessions: a new
    session costs nothing, so a per-shopper limit alone does not bound one client.

    The address is the trusted proxy's header or the socket's (``moodshop.clients``).
    """

    scope = "frames_address"

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_address(request)}


class _InMemoryUploads(MemoryFileUploadHandler):
    """Keep uploaded frames in memory whatever their size (the size is bounded earlier).

    Django's default chain would spill large uploads to a temporary file: camera frames
    must never touch a disk.
    """

    def handle_raw_input(self, *args: object, **kwargs: object) -> None:
        super().handle_raw_input(*args, **kwargs)
        self.activated = True


class RawImageParser(BaseParser):
    """A raw ``image/jpeg`` (or PNG/WebP) body; the metadata comes in the query string."""

    media_type = "image/*"

    def parse(self, stream, media_type=None, parser_context=None) -> dict[str, bytes]:
        return {"frame": stream.read() if stream is not None else b""}


def _refuse_if_capture_is_off() -> None:
    """503 while frames could only be queued on a disk (see ``moodshop.broker``).

    On-device mode queues no frame, so the broker's folder does not matter there.
    """
    if settings.EMOTION_CAPTURE_PROBLEM and not on_device.enabled():
        raise api_error(settings.EMOTION_CAPTURE_PROBLEM, "capture_unavailable", 503)


def _refuse_in_the_other_mode(browser: bool) -> None:
    """409 for the endpoint of the mode the shop does not run (``EMOTION_INFERENCE``).

    In browser mode the shop promised that no picture leaves the device, so the frames API
    takes none; in server mode no client-reported (forgeable) observation is taken.
    """
    if on_device.enabled() != browser:
        if browser:
            raise api_error("This shop analyses frames on its server: send frames.", "server_inference", 409)
        raise api_error(
            "This shop analyses faces on the device: send observations, never frames.", "on_device_inference", 409
        )


# --- Consent -------------------------------------------------------------------------------

ConsentStatus = inline_serializer(
    "ConsentStatus",
    {
        "consented": serializers.BooleanField(),
        "policy_version": serializers.CharField(),
        "granted_at": serializers.DateTimeField(allow_null=True),
        "capture_fps": serializers.FloatField(),
    },
)


def _consent_body(consent) -> dict[str, object]:
    return {
        "consented": consent is not None,
        "policy_version": settings.EMOTION_CONSENT_POLICY_VERSION,
        "granted_at": consent.granted_at if consent else None,
        "capture_fps": settings.EMOTION_CAPTURE_FPS,
    }


class ConsentView(APIView):
    """The shopper's camera consent: read it, give it, or withdraw it (which erases their data)."""

    permission_classes = [CsrfForEveryone]

    @extend_schema(responses=ConsentStatus)
    def get(self, request: Request) -> Response:
        return Response(_consent_body(services.active_consent(current_shopper(request))))

    @extend_schema(request=None, responses={201: ConsentStatus})
    def post(self, request: Request) -> Response:
        _refuse_if_capture_is_off()
        consent = services.grant_consent(current_shopper(request))
        return Response(_consent_body(consent), status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: ConsentStatus})
    def delete(self, request: Request) -> Response:
        erased = services.withdraw_consent(current_shopper(request))
        body = _consent_body(None) | {"erased": erased.__dict__}
        return Response(body)


class LoggedInToErase(permissions.BasePermission):
    """Anyone downloads their own data; erasing it alone (consent kept) needs an account.

    Anonymous shoppers erase by withdrawing consent (``DELETE /api/v1/consent/``).
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        return request.method in permissions.SAFE_METHODS or bool(request.user and request.user.is_authenticated)


ErasedSchema = inline_serializer(
    "Erased",
    {
        "observations": serializers.IntegerField(),
        "reactions": serializers.IntegerField(),
        "summaries": serializers.IntegerField(),
        "consents": serializers.IntegerField(),
    },
)


class EmotionDataView(APIView):
    """The shopper's own emotion data, every identity included: download it, or erase it.

    ``GET`` answers a JSON attachment (consents, observations' labels, reaction events,
    affect summaries; never a frame, none is kept). ``DELETE`` erases all of it except the
    consent itself.
    """

    permission_classes = [CsrfForEveryone, LoggedInToErase]

    @extend_schema(
        responses={
            200: inline_serializer(
                "EmotionDataExport",
                {
                    "consents": serializers.ListField(child=serializers.DictField()),
                    "observations": serializers.ListField(child=serializers.DictField()),
                    "reaction_events": serializers.ListField(child=serializers.DictField()),
                    "summaries": serializers.ListField(child=serializers.DictField()),
                },
            )
        }
    )
    def get(self, request: Request) -> Response:
        body = services.export_emotion_data(current_shopper(request))
        return Response(body, headers={"Content-Disposition": 'attachment; filename="moodshop-emotion-data.json"'})

    @extend_schema(request=None, responses={200: ErasedSchema})
    def delete(self, request: Request) -> Response:
        return Response(services.erase_emotion_data(current_shopper(request)).__dict__)


# --- Frames --------------------------------------------------------------------------------


class FrameMetadata(serializers.Serializer):
    product = serializers.IntegerField(min_value=1)
    view = serializers.UUIDField()
    seq = serializers.IntegerField(min_value=0, max_value=1_000_000)
    ts = serializers.FloatField(help_text="Client capture time, milliseconds since the epoch.")

    def validate_ts(self, value: float) -> datetime:
        """Trust the client clock only within a small window; otherwise use the arrival time."""
        now = timezone.now()
        try:
            at = datetime.fromtimestamp(value / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return now
        return at if now - timedelta(minutes=2) <= at <= now + timedelta(seconds=5) else now


class FrameFields(FrameMetadata):
    roi = serializers.CharField(
        required=False,
        max_length=100,
        help_text="The region of the camera picture this frame shows, as x,y,w,h fractions of its width and "
        "height (the last answer's roi); absent for the whole picture.",
    )

    def validate_roi(self, value: str) -> Region:
        try:
            return Region.parse(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc


class FrameUpload(FrameFields):
    frame = serializers.FileField(help_text="JPEG, PNG or WebP, at most 256 KB and 1920×1080.")


def _declared_length(request: Request) -> int:
    """The body's ``Content-Length``; 0 when absent or malformed (Django then reads no body)."""
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


# Multipart framing and the metadata fields fit in 8 KB beside the frame itself.
FRAME_ENVELOPE_BYTES = 8 * 1024


class FrameView(APIView):
    """Accept one camera frame for analysis; it is classified in memory by the worker.

    Multipart (``frame`` + metadata fields) or a raw ``image/jpeg`` body with the metadata
    in the query string. Answers 202 once the frame is queued, with ``next_frame_ms``, when
    the page should send its next one; refuses with 429 or 503 and a ``Retry-After`` while
    the backlog could not classify it within the freshness budget (``emotion.freshness``).
    """

    permission_classes = [CsrfForEveryone]
    throttle_classes = [ShopperRateThrottle, AddressRateThrottle]
    throttle_scope = "frames"
    parser_classes = [MultiPartParser, RawImageParser]

    def initialize_request(self, request: HttpRequest, *args: object, **kwargs: object) -> Request:
        request.upload_handlers = [_InMemoryUploads(request)]
        return super().initialize_request(request, *args, **kwargs)

    def initial(self, request: Request, *args: object, **kwargs: object) -> None:
        """Refuse an oversized body from its ``Content-Length`` before anything reads it.

        The CSRF check (a permission, run by ``super().initial``) parses a multipart body to
        look for a form token, so the size must be checked first. The declared length is also
        a hard cap on what is read: Django's ``LimitedStream`` never reads past it, and a body
        without one (chunked) reads as empty.
        """
        limit = settings.EMOTION_MAX_FRAME_BYTES
        declared = _declared_length(request)
        if declared > limit + FRAME_ENVELOPE_BYTES:
            raise api_error(f"The frame is larger than {limit} bytes.", "too_large", 413)
        super().initial(request, *args, **kwargs)

    @extend_schema(
        request={"multipart/form-data": FrameUpload, "image/jpeg": bytes},
        responses={
            202: inline_serializer(
                "FrameQueued",
                {
                    "status": serializers.CharField(),
                    "seq": serializers.IntegerField(),
                    "next_frame_ms": serializers.IntegerField(help_text="When to send the next frame."),
                    "roi": serializers.DictField(
                        child=serializers.FloatField(),
                        allow_null=True,
                        help_text="The region of the camera picture (x, y, w, h fractions) to send next, around "
                        "the last face the worker found; null for the whole picture (emotion.roi).",
                    ),
                },
            ),
            400: OpenApiResponse(description="Invalid frame or metadata"),
            403: OpenApiResponse(description="No consent, or CSRF failed"),
            404: OpenApiResponse(description="Unknown product or view"),
            409: OpenApiResponse(description="The shop analyses faces on the device (EMOTION_INFERENCE=browser)"),
            413: OpenApiResponse(description="Frame too large"),
            429: OpenApiResponse(
                description="Too many frames, or a backlog that would make this frame stale (see Retry-After)"
            ),
            503: OpenApiResponse(
                description="Broker unavailable, no worker taking frames, or capture off (no in-memory broker folder)"
            ),
        },
    )
    def post(self, request: Request) -> Response:
        _refuse_in_the_other_mode(browser=False)
        _refuse_if_capture_is_off()
        limit = settings.EMOTION_MAX_FRAME_BYTES
        data = request.data
        source = request.query_params if isinstance(data.get("frame"), bytes) else data
        meta = FrameFields(data=source)
        meta.is_valid(raise_exception=True)
        frame = data.get("frame")
        if frame is None:
            raise api_error("Missing the frame: send it as the multipart field 'frame' or as the body.", "missing")
        if isinstance(frame, str):
            raise api_error("The multipart field 'frame' must be a file, not a text field.", "not_a_file")
        frame_bytes = frame if isinstance(frame, bytes) else frame.read()

        try:
            target = services.frame_view(
                current_shopper(request), meta.validated_data["view"], meta.validated_data["product"]
            )
        except services.FrameRefused as exc:
            raise api_error(str(exc), exc.code, 403 if exc.code == "no_consent" else 404) from exc
        admission = freshness.admission()
        if not admission.accepted:
            refused = api_error(admission.reason, admission.code, admission.status)
            refused.wait = admission.retry_after
            raise refused
        try:
            validate_frame(
                frame_bytes,
                max_bytes=limit,
                max_width=settings.EMOTION_MAX_FRAME_WIDTH,
                max_height=settings.EMOTION_MAX_FRAME_HEIGHT,
            )
        except FrameRejected as exc:
            raise api_error(str(exc), exc.code, 413 if exc.code == "too_large" else 400) from exc

        # Read before the frame is queued: once it is, nothing may fail this request (a 503 for
        # a frame that is in fact queued would break what the answer says).
        region = services.next_capture_region(target.view_pk)
        try:
            tasks.enqueue_frame(
                target,
                meta.validated_data["seq"],
                meta.validated_data["ts"],
                frame_bytes,
                meta.validated_data.get("roi"),
            )
        except tasks.BrokerUnavailable as exc:
            logger.warning("Frame refused: broker unavailable (%s)", exc)
            unavailable = api_error(
                "Emotion analysis is briefly unavailable; try again shortly.", "broker_unavailable", 503
            )
            unavailable.wait = 2
            raise unavailable from exc
        body = {
            "status": "queued",
            "seq": meta.validated_data["seq"],
            "next_frame_ms": admission.next_frame_ms,
            "roi": region.as_dict() if region else None,
        }
        return Response(body, status=status.HTTP_202_ACCEPTED)


# --- On-device observations --------------------------------------------------------------


class ObservationReport(FrameFields):
    """What the page's own analysis of one frame found (browser mode): labels and positions, never pixels.

    ``roi`` is the region of the camera picture the analysed frame showed, as for a frame;
    ``box`` the face the page found in that frame (pixels of its ``frame_width`` x
    ``frame_height``), from which the server names the next region (``emotion.roi``).
    """

    model_version = serializers.CharField(max_length=64, help_text="The served model's version the page ran.")
    faces = serializers.IntegerField(min_value=0, max_value=100, help_text="Faces the detector found.")
    label = serializers.ChoiceField(CLASSES, allow_null=True, default=None, help_text="Null for a gap.")
    confidence = serializers.FloatField(min_value=0, max_value=1, allow_null=True, default=None)
    probabilities = serializers.DictField(
        child=serializers.FloatField(min_value=0, max_value=1), allow_null=True, default=None
    )
    quality = serializers.FloatField(min_value=0, max_value=1, allow_null=True, default=None)
    box = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=4096),
        min_length=4,
        max_length=4,
        allow_null=True,
        default=None,
        help_text="The one face analysed, x, y, w, h in the frame's pixels; null when none (or several) was.",
    )
    frame_width = serializers.IntegerField(min_value=1, max_value=4096, required=False)
    frame_height = serializers.IntegerField(min_value=1, max_value=4096, required=False)

    def validate(self, data: dict) -> dict:
        """A report must be what the page's analysis can produce: a label exactly when one face was classified."""
        served = on_device.page_parameters()
        if data["model_version"] != served.model_version:
            raise serializers.ValidationError({"model_version": f"Not the served model ({served.model_version})."})
        box = data["box"]
        if box is not None:
            x, y, w, h = box
            if data["faces"] < 1 or w < 1 or h < 1:
                raise serializers.ValidationError("A face box needs a face of at least one pixel.")
            if x + w > data.get("frame_width", 0) or y + h > data.get("frame_height", 0):
                raise serializers.ValidationError("The face box must lie within frame_width x frame_height.")
        label, probabilities, confidence = data["label"], data["probabilities"], data["confidence"]
        if label is None:
            if probabilities is not None or confidence is not None:
                raise serializers.ValidationError("A gap (no label) has no probabilities or confidence.")
            return data
        if data["faces"] < 1 or box is None:
            raise serializers.ValidationError("A label needs the face's box.")
        if probabilities is None or set(probabilities) != set(CLASSES):
            raise serializers.ValidationError(f"probabilities must give each of {', '.join(CLASSES)}.")
        if abs(sum(probabilities.values()) - 1) > 0.01:
            raise serializers.ValidationError("probabilities must sum to 1.")
        if max(probabilities, key=probabilities.get) != label or abs(probabilities[label] - (confidence or 0)) > 1e-4:
            raise serializers.ValidationError("label and confidence must be the likeliest class and its probability.")
        threshold = served.quality_threshold
        if threshold is not None and (data["quality"] is None or data["quality"] < threshold):
            raise serializers.ValidationError("A face under the quality threshold is a gap, not a label.")
        return data


# A report holds seven probabilities, a box, a region and a few numbers: well under 2 KB.
OBSERVATION_MAX_BYTES = 8 * 1024


class ObservationView(APIView):
    """Store one frame's labels as the page's on-device analysis found them (``EMOTION_INFERENCE=browser``).

    The frames API's checks (CSRF, consent, this shopper's view of this product, the shared
    per-shopper and per-address rates), then a cap per shopper and product per period:
    client-reported observations can be forged, and are stored marked as such (outcome
    ``client_reported``). They feed the same reactions, summaries and recommendations.
    """

    permission_classes = [CsrfForEveryone]
    throttle_classes = [ShopperRateThrottle, AddressRateThrottle]
    throttle_scope = "frames"  # one budget for frames and observations: each is a frame's worth
    parser_classes = [JSONParser]  # labels only: no form or multipart body, so no file, is ever parsed

    def initial(self, request: Request, *args: object, **kwargs: object) -> None:
        """Refuse a body declared larger than any report before anything reads it (as ``FrameView``)."""
        declared = _declared_length(request)
        if declared > OBSERVATION_MAX_BYTES:
            raise api_error(f"An observation is at most {OBSERVATION_MAX_BYTES} bytes.", "too_large", 413)
        super().initial(request, *args, **kwargs)

    @extend_schema(
        request=ObservationReport,
        responses={
            201: inline_serializer(
                "ObservationStored",
                {
                    "status": serializers.CharField(help_text='"stored", or "duplicate" for a sequence already stored'),
                    "seq": serializers.IntegerField(),
                    "next_frame_ms": serializers.IntegerField(help_text="When to report the next frame."),
                    "roi": serializers.DictField(
                        child=serializers.FloatField(),
                        allow_null=True,
                        help_text="The region of the camera picture (x, y, w, h fractions) to analyse next, around "
                        "the face the page reported; null for the whole picture (emotion.roi).",
                    ),
                },
            ),
            400: OpenApiResponse(description="Invalid or inconsistent observation, or not the served model"),
            403: OpenApiResponse(description="No consent, or CSRF failed"),
            404: OpenApiResponse(description="Unknown product or view"),
            409: OpenApiResponse(description="The shop analyses frames on its server (EMOTION_INFERENCE=server)"),
            429: OpenApiResponse(description="Too many, or this shopper's cap for the product reached (Retry-After)"),
        },
    )
    def post(self, request: Request) -> Response:
        _refuse_in_the_other_mode(browser=True)
        report = ObservationReport(data=request.data)
        report.is_valid(raise_exception=True)
        data = report.validated_data
        shopper = current_shopper(request)
        try:
            target = services.frame_view(shopper, data["view"], data["product"])
        except services.FrameRefused as exc:
            raise api_error(str(exc), exc.code, 403 if exc.code == "no_consent" else 404) from exc
        wait = services.client_observation_wait(shopper, data["product"])
        if wait is not None:
            capped = api_error("Enough observations of this product for now.", "product_cap", 429)
            capped.wait = wait
            raise capped
        shown, box = data.get("roi"), data["box"]
        face = roi.face_in_picture(box, data["frame_width"], data["frame_height"], shown) if box else None
        result = services.Classification(
            data["label"], data["confidence"], data["probabilities"], quality=data["quality"], face=face
        )
        view = services.record_client_observation(target, data["seq"], data["ts"], result, data["model_version"], shown)
        if view is not None and tasks.claim_reaction_refresh(view.pk):
            tasks.queue_reaction_refresh(view.pk)  # rebuilt by the worker, as for a classified frame
        region = services.next_capture_region(target.view_pk)
        body = {
            "status": "stored" if view is not None else "duplicate",
            "seq": data["seq"],
            "next_frame_ms": freshness.capture_interval_ms(),
            "roi": region.as_dict() if region else None,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class ViewStatusView(APIView):
    """What the server has seen so far in one of the shopper's views (for the live badge)."""

    @extend_schema(
        responses=inline_serializer(
            "ViewStatus",
            {
                "frames": serializers.IntegerField(),
                "faces": serializers.IntegerField(),
                "last_label": serializers.CharField(allow_null=True),
                "last_confidence": serializers.FloatField(allow_null=True),
                "seconds": serializers.DictField(child=serializers.FloatField()),
            },
        )
    )
    def get(self, request: Request, view_id) -> Response:
        try:
            view = services.owned_view(current_shopper(request), view_id)
        except services.ViewNotFound as exc:
            raise api_error(str(exc), "unknown_view", 404) from exc
        return Response(services.view_status(view).__dict__)
