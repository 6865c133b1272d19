"""Moving the "Product reactions" proxy from emotion to insights keeps every staff grant."""

import uuid
from datetime import date

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("emotion", "0003_observation_created_at_index"), ("insights", None)]
AFTER = [("emotion", "0004_move_product_reactions_to_insights"), ("insights", "0001_initial")]


def _migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    ContentType.objects.clear_cache()


@pytest.fixture(autouse=True)
def back_to_the_latest_schema():
    """The tests after these need every migration applied again."""
    yield
    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_staff_keep_the_view_permission_through_the_move():
    _migrate(BEFORE)
    ContentType.objects.filter(model="productreaction").delete()  # as on a database from before the move
    old_type = ContentType.objects.create(app_label="emotion", model="productreaction")
    permission = Permission.objects.create(
        content_type=old_type, codename="view_productreaction", name="Can view product reactions"
    )
    analyst = User.objects.create_user("analyst", password="x" * 12, is_staff=True)
    analyst.user_permissions.add(permission)
    group = Group.objects.create(name="analysts")
    group.permissions.add(permission)

    _migrate(AFTER)

    permission.refresh_from_db()
    assert (permission.content_type.app_label, permission.codename) == ("insights", "view_productreaction")
    assert not ContentType.objects.filter(app_label="emotion", model="productreaction").exists()
    analyst = User.objects.get(pk=analyst.pk)
    assert analyst.has_perm("insights.view_productreaction")
    assert list(group.permissions.all()) == [permission]


@pytest.mark.django_db(transaction=True)
def test_grants_survive_when_both_types_exist():
    """post_migrate may already have made the new type: the old grants move onto its permission."""
    _migrate(BEFORE)
    ContentType.objects.filter(model="productreaction").delete()
    old = Permission.objects.create(
        content_type=ContentType.objects.create(app_label="emotion", model="productreaction"),
        codename="view_productreaction",
        name="Can view product reactions",
    )
    new = Permission.objects.create(
        content_type=ContentType.objects.create(app_label="insights", model="productreaction"),
        codename="view_productreaction",
        name="Can view product reactions",
    )
    analyst = User.objects.create_user("analyst", password="x" * 12, is_staff=True)
    analyst.user_permissions.add(old)

    _migrate(AFTER)

    assert list(User.objects.get(pk=analyst.pk).user_permissions.all()) == [new]
    assert not Permission.objects.filter(pk=old.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_viewer_counts_are_recounted_from_the_raw_events_kept(make_product):
    """emotion.0007: days with raw events get their viewer counts and sketches; purged days stay at 0."""
    from datetime import UTC, datetime

    from emotion.models import ProductEmotionDaily, ProductViewerSketch
    from shop.models import Interaction

    before = [("emotion", "0006_frame_keys_and_drops")]
    _migrate(before)
    old_apps = MigrationExecutor(connection).loader.project_state(before).apps
    old_daily, old_event = (old_apps.get_model("emotion", name) for name in ("ProductEmotionDaily", "ReactionEvent"))
    product = make_product()
    at = datetime(2026, 3, 10, 12, tzinfo=UTC)
    for _ in range(3):
        view = Interaction.objects.create(kind="view", product=product, shopper_id=uuid.uuid4(), view_id=uuid.uuid4())
        old_event.objects.create(
            view_id=view.pk,
            product_id=product.pk,
            shopper_id=view.shopper_id,
            emotion="happy",
            started_at=at,
            ended_at=at,
            duration_seconds=2.0,
            mean_confidence=0.9,
            frames=4,
        )
    old_daily.objects.create(product_id=product.pk, day=at.date(), emotion="happy", seconds=6.0, events=3)
    old_daily.objects.create(product_id=product.pk, day=date(2026, 1, 1), emotion="sad", seconds=1.0, events=1)

    _migrate([("emotion", "0007_viewer_counts")])

    assert ProductEmotionDaily.objects.get(day=at.date()).viewers == 3
    assert ProductEmotionDaily.objects.get(day=date(2026, 1, 1)).viewers == 0  # purged: cannot be recounted
    assert ProductViewerSketch.objects.filter(product=product, day=at.date()).count() == 3
