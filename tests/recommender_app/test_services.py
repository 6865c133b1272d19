"""Ranking through the service: cold start, the emotion blend, freshness and similar products."""

import uuid
from decimal import Decimal

import pytest

from recommender import services
from recommender.services import Owner, recommend, similar
from recommender.store import current_model
from recommender.training import train_and_publish

from .conftest import log, react

pytestmark = pytest.mark.django_db


def order(page: services.RecommendationPage) -> list[int]:
    return [item.product.pk for item in page.items]


def test_anonymous_shopper_gets_popularity(trained):
    page = recommend(Owner(None, uuid.uuid4()), 5)
    assert order(page) == [p.pk for p in trained.audio[:5]]  # the fixture's popularity order
    assert page.items[0].reason == "popular in Audio"
    assert all(item.affect_score == 0 for item in page.items)


def test_cold_start_promotes_what_delights_most_shoppers(trained):
    loved = trained.books[7]  # the least popular product
    for _ in range(10):
        react(uuid.uuid4(), loved, happy=20.0)
    page = recommend(Owner(None, uuid.uuid4()), 5)
    assert order(page)[:2] == [trained.audio[0].pk, loved.pk]
    assert page.items[1].reason == "delights most shoppers who reacted to it"
    assert page.items[1].affect_score > page.items[1].cf_score


def test_first_interactions_make_it_personal(trained):
    newcomer = uuid.uuid4()
    log(newcomer, trained.books[2])
    log(newcomer, trained.books[3])
    page = recommend(Owner(None, newcomer), 6)
    assert page.items[0].reason.startswith("because you viewed Book ")
    books = {p.pk for p in trained.books}
    assert sum(pk in books for pk in order(page)) >= 4  # the book camp's taste, not popularity (audio first)
    assert not {trained.books[2].pk, trained.books[3].pk} & set(order(page))


def categories(page: services.RecommendationPage) -> list[str]:
    return [item.product.category.slug for item in page.items]


def test_negative_reaction_demotes_its_category(trained):
    react(trained.subject, trained.audio[0], disgust=12.0)
    page = recommend(trained.subject_owner, 12)
    ranked = categories(page)
    assert ranked == sorted(ranked, key=lambda slug: slug == "audio")  # every book before every audio product
    assert all(item.affect_score < 0 for item in page.items if item.product.category.slug == "audio")


def test_positive_reaction_promotes_its_category_and_says_so(trained):
    react(trained.subject, trained.books[0], happy=12.0)
    react(trained.subject, trained.audio[0], happy=1.0, neutral=10.0)
    page = recommend(trained.subject_owner, 12)
    ranked = categories(page)
    assert ranked == sorted(ranked, key=lambda slug: slug != "books")
    assert page.items[0].reason == f"because you smiled at {trained.books[0].name}"
    assert page.items[0].affect_score > services.REASON_MIN_AFFECT


def test_a_new_reaction_changes_the_order_without_retraining(trained):
    version = current_model().version
    before = recommend(trained.subject_owner, 12)
    react(trained.subject, trained.books[1], angry=8.0, disgust=4.0)
    after = recommend(trained.subject_owner, 12)
    assert current_model().version == version
    assert order(after) != order(before)
    assert categories(after) == sorted(categories(after), key=lambda slug: slug == "books")


def test_reaction_of_an_account_counts_across_sessions(trained, django_user_model):
    user = django_user_model.objects.create_user("ann", password="pw-12345-long")
    for product in trained.audio[:2] + trained.books[:2]:
        log(uuid.uuid4(), product, user=user)
    react(uuid.uuid4(), trained.audio[0], user=user, disgust=12.0)  # another session of the same account
    ranked = categories(recommend(Owner(user.pk, uuid.uuid4()), 12))
    assert ranked == sorted(ranked, key=lambda slug: slug == "audio")


def test_similar_uses_cf_neighbours_and_the_shoppers_reactions(trained):
    product = trained.audio[3]
    page = similar(product, None, 4)
    assert {item.product.category.slug for item in page.items} == {"audio"}
    assert all(item.reason.startswith("shoppers who ") and product.name in item.reason for item in page.items)
    react(trained.subject, trained.books[0], happy=15.0)
    page = similar(product, trained.subject_owner, 16)
    assert page.items[0].product.category.slug == "books"  # the shopper's smile reorders the list
    assert page.items[0].reason == f"because you smiled at {trained.books[0].name}"


def test_similar_says_bought_when_shoppers_bought_both(trained):
    product, other = trained.audio[4], trained.audio[5]
    for _ in range(3):
        buyer = uuid.uuid4()
        log(buyer, product, "purchase")
        log(buyer, other, "purchase")
    reasons = {item.product.pk: item.reason for item in similar(product, None, 16).items}
    assert reasons[other.pk] == f"shoppers who bought {product.name} also bought this"


def test_product_without_history_gets_content_neighbours(trained, make_product):
    new = make_product(name="Audio speaker deluxe", price=Decimal("21.00"))
    page = similar(new, None, 3)
    assert {item.product.category.slug for item in page.items} == {"audio"}
    assert page.items[0].product.name.startswith("Audio 1 speaker")  # closest price, shared words
    assert page.items[0].reason == f"similar to {new.name}"


def test_inactive_products_are_never_recommended(trained):
    hidden = trained.audio[0]
    hidden.is_active = False
    hidden.save()
    assert hidden.pk not in order(recommend(Owner(None, uuid.uuid4()), 16))
    assert hidden.pk not in order(similar(trained.audio[1], None, 16))


def test_without_emotional_signal_the_blend_is_plain_cf(shop, settings):
    settings.RECOMMENDER_PRIOR_BLEND_STRENGTH = settings.RECOMMENDER_PRIOR_BLEND_WEIGHT = 0.0
    train_and_publish()
    before = recommend(shop.subject_owner, 12)
    react(shop.subject, shop.audio[0], disgust=12.0)
    after = recommend(shop.subject_owner, 12)
    assert order(after) == order(before)
    assert all(item.affect_score == 0 for item in after.items)


def test_surprise_is_explained_as_surprise_not_as_a_smile(trained):
    react(trained.subject, trained.books[0], surprise=30.0)
    page = recommend(trained.subject_owner, 12)
    assert page.items[0].affect_score > services.REASON_MIN_AFFECT
    assert page.items[0].reason == f"because {trained.books[0].name} surprised you"
    assert not any("smiled" in item.reason for item in page.items)


def test_a_mostly_negative_reaction_never_gives_a_pleasant_reason(trained):
    """Pleasant on balance (valence > 0) but the shopper was mostly sad: no reaction reason."""
    react(trained.subject, trained.books[0], sad=30.0, happy=28.0)
    page = recommend(trained.subject_owner, 12)
    lifted = [item for item in page.items if item.affect_score >= services.REASON_MIN_AFFECT]
    assert lifted, "the reaction must lift some items for this test to mean anything"
    for item in page.items:
        assert trained.books[0].name not in item.reason or item.reason.startswith("because you viewed")
        assert not any(word in item.reason for word in ("smiled", "surprised", "looked closely"))


def test_every_emotion_has_an_honest_reason_or_none():
    from emotion.ml.labels import CLASSES, VALENCE

    assert set(services.REACTION_REASONS) == set(CLASSES)
    for emotion, reason in services.REACTION_REASONS.items():
        if VALENCE[emotion] < 0:
            assert reason is None, emotion  # a negative reaction never explains a recommendation
        else:
            assert reason in services.REASONS
    assert len({r for r in services.REACTION_REASONS.values() if r}) == 3  # one wording per emotion
