"""sitemap.xml for the store the request is for: categories, product groups and products."""

from __future__ import annotations

from django.contrib.sitemaps import Sitemap
from django.contrib.sitemaps import views as sitemap_views
from django.views.decorators.http import require_GET

from .models import ProductGroup
from .selectors import category_tree, published_products


class _StoreSitemap(Sitemap):
    limit = 10000

    def __init__(self, store):
        self.store = store

    def get_protocol(self, protocol=None):
        return "https" if self.store.absolute_url("/").startswith("https") else "http"


class CategorySitemap(_StoreSitemap):
    changefreq = "daily"
    priority = 0.7

    def items(self):
        return sorted(category_tree(self.store).by_id.values(), key=lambda n: n.path)

    def location(self, item):
        return item.get_absolute_url()


class GroupSitemap(_StoreSitemap):
    changefreq = "daily"
    priority = 0.6

    def items(self):
        return ProductGroup.objects.filter(store=self.store, is_published=True).order_by("pk")


class ProductSitemap(_StoreSitemap):
    changefreq = "weekly"
    priority = 0.8

    def items(self):
        return published_products(self.store).only("slug", "updated_at").order_by("pk")

    def lastmod(self, item):
        return item.updated_at


@require_GET
def sitemap(request):
    store = request.store
    maps = {
        "categories": CategorySitemap(store),
        "groups": GroupSitemap(store),
        "products": ProductSitemap(store),
    }
    return sitemap_views.sitemap(request, sitemaps=maps)
