"""Factories for product feeds and their runs."""

from __future__ import annotations

import factory

from integrations.feeds import services
from integrations.feeds.models import Feed, FeedRun
from tests.shop.factories import StoreFactory


class FeedFactory(factory.django.DjangoModelFactory):
    """A Google RSS feed; saved through ``services.save_feed`` (validated, scheduled)."""

    class Meta:
        model = Feed
        skip_postgeneration_save = True

    store = factory.SubFactory(StoreFactory)
    name = factory.Sequence(lambda n: f"Feed {n}")
    kind = Feed.Kind.GOOGLE
    format = Feed.Format.GOOGLE_RSS
    interval_minutes = 60

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.save_feed(feed=model_class(*args, **kwargs))

    @factory.post_generation
    def categories(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.categories.set(extracted)

    @factory.post_generation
    def exclude_groups(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.exclude_groups.set(extracted)

    @factory.post_generation
    def excluded_products(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.excluded_products.set(extracted)


class GoogleTSVFeedFactory(FeedFactory):
    format = Feed.Format.GOOGLE_TSV


class CeneoFeedFactory(FeedFactory):
    kind = Feed.Kind.CENEO
    format = Feed.Format.CENEO_XML


class DomodiFeedFactory(FeedFactory):
    kind = Feed.Kind.GENERIC
    format = Feed.Format.CENEO_XML
    partner_name = "Domodi"


class FeedRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FeedRun

    feed = factory.SubFactory(FeedFactory)
    trigger = FeedRun.Trigger.SCHEDULE
    status = FeedRun.Status.SUCCEEDED
