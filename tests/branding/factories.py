import io

import factory
from PIL import Image

from branding.models import HomeBlock, MenuItem, StoreBranding
from tests.shop.factories import StoreFactory


def png_bytes(size=(600, 300), color=(200, 40, 40, 255), mode="RGBA", fmt="PNG") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, fmt)
    return out.getvalue()


class StoreBrandingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StoreBranding
        django_get_or_create = ("store",)

    store = factory.SubFactory(StoreFactory)


class MenuItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MenuItem

    branding = factory.SubFactory(StoreBrandingFactory)
    label = factory.Sequence(lambda n: f"Pozycja {n}")
    url = "/regulamin/"


class HomeBlockFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HomeBlock

    branding = factory.SubFactory(StoreBrandingFactory)
    kind = HomeBlock.Kind.TEXT
    heading = factory.Sequence(lambda n: f"Blok {n}")
    text = "Tekst bloku."
