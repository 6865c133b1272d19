"""Admin pages of the "Product reactions" section (the overview dashboard and one page per product)
and of the "Experiment reports" (one page per online experiment).

Views only parse the filters (``forms``) and pick a template; the figures come from
``services``, the chart geometry from ``charts``.
"""

from collections.abc import Iterable, Iterator
from typing import Any

import pandas as pd
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.http import urlencode

from emotion.ml.labels import CLASSES
from emotion.services import reaction_rules
from moodshop.admin_pages import ReportAdmin
from recommender import experiments as recommender_experiments
from shop.models import Category, Product

from . import experiment_report, services
from .charts import (
    ARM_COLOURS,
    CHART_HEIGHT,
    CHART_WIDTH,
    COLOURS,
    SPARK_HEIGHT,
    SPARK_WIDTH,
    interval_bars,
    share_bar,
    sparkline,
    stacked_columns,
    viewing_lines,
)
from .forms import DEFAULT_DAYS, Period, PeriodError, parse_comparison, parse_period
from .models import ExperimentReport, ProductReaction

# --- CSV ----------------------------------------------------------------------------------------


def _csv_response(frames: Iterable[pd.DataFrame], filename: str) -> StreamingHttpResponse:
    """Stream tables as one CSV, chunk by chunk, with the header once and formula cells neutralised."""
    chunks: Iterator[str] = (
        services.spreadsheet_safe(frame).to_csv(index=False, header=i == 0, lineterminator="\r\n")
        for i, frame in enumerate(frames)
    )
    response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- The admin ------------------------------------------------------------------------------------


@admin.register(ProductReaction)
class ProductReactionAdmin(ReportAdmin):
    """Read-only analytics in place of the usual list and form; needs the proxy's view permission."""

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        wrap = self.admin_site.admin_view
        return [
            path("", wrap(self.overview_view), name=f"{name}_changelist"),
            path("export.csv", wrap(self.overview_csv_view), name=f"{name}_export"),
            path("compare/", wrap(self.compare_view), name=f"{name}_compare"),
            path("<int:product_id>/", wrap(self.product_view), name=f"{name}_product"),
            path("<int:product_id>/export.csv", wrap(self.product_csv_view), name=f"{name}_product_export"),
        ]

    # --- helpers ---

    def _period(self, request: HttpRequest) -> tuple[Period, int]:
        """The requested period, or the default one with an error message (and a 400) when invalid."""
        self._check(request)
        try:
            return parse_period(request.GET), 200
        except PeriodError as exc:
            messages.error(request, f"{exc} Showing the last {DEFAULT_DAYS} days instead.")
            return parse_period({}), 400

    def _check(self, request: HttpRequest) -> None:
        if not self.has_view_permission(request):
            raise PermissionDenied

    def _export_period(self, request: HttpRequest) -> Period:
        """Exports never fall back to another period: a file must cover exactly what was asked."""
        self._check(request)
        return parse_period(request.GET)

    def _context(self, request: HttpRequest, period: Period, title: str) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "period": period,
            "query": urlencode(period.query()),
            "today": timezone.localdate(),
            "colours": [(e, COLOURS[e]) for e in CLASSES],
            "chart": {"width": CHART_WIDTH, "height": CHART_HEIGHT},
            "spark": {"width": SPARK_WIDTH, "height": SPARK_HEIGHT},
        }

    # --- views ---

    def overview_view(self, request: HttpRequest) -> TemplateResponse:
        period, status = self._period(request)
        data = services.overview(period)
        context = self._context(request, period, "Product reactions")
        context.update(
            overview=data,
            model=data.model,
            synthetic=data.synthetic,
            share_bar=share_bar(data.mix),
            rankings=[
                ("Most delight", "delight", [(p, sparkline(p.spark)) for p in data.by_delight]),
                ("Most dislike", "dislike", [(p, sparkline(p.spark)) for p in data.by_dislike]),
            ],
            categories=Category.objects.values_list("pk", "name"),
            search=request.GET.get("q", ""),
            found=services.find_products(request.GET.get("q", "")),
        )
        return TemplateResponse(request, "admin/insights/analytics_overview.html", context, status=status)

    def product_view(self, request: HttpRequest, product_id: int) -> TemplateResponse:
        period, status = self._period(request)
        product = get_object_or_404(Product.objects.select_related("category"), pk=product_id)
        data = services.product_reactions(product, period)
        context = self._context(request, period, f"Reactions to {product.name}")
        context.update(
            report=data,
            model=data.model,
            synthetic=data.synthetic,
            product=product,
            share_bar=share_bar(data.mix),
            columns=stacked_columns(data.timeline, hourly=period.granularity == "hour"),
            viewing_lines=viewing_lines(data.viewing),
            low_confidence=reaction_rules().min_confidence,
            moment_tables=[
                ("Longest positive reactions", data.positive_moments),
                ("Longest negative reactions", data.negative_moments),
            ],
            retention_days=settings.EMOTION_RETENTION_DAYS,
            overview_query=urlencode({k: v for k, v in period.query().items() if k != "granularity"}),
        )
        return TemplateResponse(request, "admin/insights/analytics_product.html", context, status=status)

    def compare_view(self, request: HttpRequest) -> TemplateResponse:
        """Two products, or one product over two periods, side by side (each under the K rule)."""
        self._check(request)
        try:
            comparison = parse_comparison(request.GET)
        except PeriodError as exc:
            messages.error(request, str(exc))
            context = self._context(request, parse_period({}), "Compare reactions")
            context.update(sides=[], search=request.GET)
            return TemplateResponse(request, "admin/insights/analytics_compare.html", context, status=400)
        products = Product.objects.select_related("category").in_bulk([comparison.product_a, comparison.product_b])
        if len(products) < len({comparison.product_a, comparison.product_b}):
            raise Http404("Unknown product.")
        sides = [
            services.product_reactions(products[comparison.product_a], comparison.period_a),
            services.product_reactions(products[comparison.product_b], comparison.period_b),
        ]
        context = self._context(request, comparison.period_a, "Compare reactions")
        context.update(
            sides=sides,
            comparison=comparison,
            model=sides[0].model,
            synthetic=any(side.synthetic for side in sides),
            search=request.GET,
        )
        return TemplateResponse(request, "admin/insights/analytics_compare.html", context)

    def overview_csv_view(self, request: HttpRequest) -> HttpResponse:
        try:
            period = self._export_period(request)
        except PeriodError as exc:
            return HttpResponseBadRequest(str(exc), content_type="text/plain")
        return _csv_response(services.overview_csv(period), f"product-reactions_{period.start}_{period.end}.csv")

    def product_csv_view(self, request: HttpRequest, product_id: int) -> HttpResponse:
        try:
            period = self._export_period(request)
        except PeriodError as exc:
            return HttpResponseBadRequest(str(exc), content_type="text/plain")
        product = get_object_or_404(Product, pk=product_id)
        return _csv_response(
            [services.product_csv(product, period)],
            f"reactions_{product.slug}_{period.start}_{period.end}_{period.granularity}.csv",
        )


@admin.register(ExperimentReport)
class ExperimentReportAdmin(ReportAdmin):
    """The online experiments' results, read-only; experiments are set up in Recommender → Experiments."""

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        wrap = self.admin_site.admin_view
        return [
            path("", wrap(self.list_view), name=f"{name}_changelist"),
            path("<int:experiment_id>/", wrap(self.report_view), name=f"{name}_report"),
            path("<int:experiment_id>/export.csv", wrap(self.csv_view), name=f"{name}_export"),
        ]

    def _check(self, request: HttpRequest) -> None:
        if not self.has_view_permission(request):
            raise PermissionDenied

    def list_view(self, request: HttpRequest) -> TemplateResponse:
        self._check(request)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Experiment reports",
            "experiments": ExperimentReport.objects.exclude(started_at=None),
        }
        return TemplateResponse(request, "admin/insights/experiment_list.html", context)

    def report_view(self, request: HttpRequest, experiment_id: int) -> TemplateResponse:
        self._check(request)
        experiment = get_object_or_404(ExperimentReport, pk=experiment_id, started_at__isnull=False)
        report = recommender_experiments.report(experiment)
        sections = []
        for segment, title in experiment_report.SEGMENTS:
            analysis = getattr(report, segment)
            rows = [row for row in experiment_report.rows(report) if row.segment == segment]
            rates = []
            for row in rows:
                if row.unit == "per_shopper":
                    for arm, rate in (
                        (experiment.arm_label(0), row.comparison.a),
                        (experiment.arm_label(1), row.comparison.b),
                    ):
                        rates.append((f"{row.label}, {arm}", rate.value, rate.low, rate.high))
            bars, height = interval_bars(rates)
            sections.append({"title": title, "analysis": analysis, "rows": rows, "bars": bars, "height": height})
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Experiment: {experiment.name}",
            "experiment": experiment,
            "report": report,
            "sections": sections,
            "chart": {"width": CHART_WIDTH},
            "arm_colours": ARM_COLOURS,
        }
        return TemplateResponse(request, "admin/insights/experiment_report.html", context)

    def csv_view(self, request: HttpRequest, experiment_id: int) -> HttpResponse:
        self._check(request)
        experiment = get_object_or_404(ExperimentReport, pk=experiment_id, started_at__isnull=False)
        frame = experiment_report.csv_frame(recommender_experiments.report(experiment))
        return _csv_response([frame], f"experiment-{experiment.pk}.csv")
