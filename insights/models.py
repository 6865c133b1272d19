"""No tables of its own: the staff reports read the shop's, the emotion app's and the recommender's data."""

from recommender.models import Experiment
from shop.models import Product


class ProductReaction(Product):
    """Shop products as the admin's "Product reactions" section: per-product reaction analytics.

    A proxy: no table of its own, it gives the analytics pages an admin entry and a view permission
    (``insights.view_productreaction``).
    """

    class Meta:
        proxy = True
        verbose_name = "product reactions"
        verbose_name_plural = "product reactions"


class ExperimentReport(Experiment):
    """Experiments as the admin's "Experiment reports": per-arm rates, lift, intervals, CSV.

    A proxy like ``ProductReaction``: it gives the report an admin entry and its own view
    permission (``insights.view_experimentreport``); experiments are created and started in
    Recommender → Experiments.
    """

    class Meta:
        proxy = True
        verbose_name = "experiment report"
        verbose_name_plural = "experiment reports"
