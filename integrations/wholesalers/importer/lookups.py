"""The catalog objects a feed refers to by name (its warehouse, categories by path, attributes and
their values), found or created once and remembered for the rest of the run."""

from __future__ import annotations

import hashlib

from django.db.models import Q
from django.utils.translation import gettext as _

from catalog import services as catalog_services
from catalog.models import (
    Attribute,
    AttributeValue,
    Category,
    Manufacturer,
    Warehouse,
)
from catalog.text import slugify_pl


class CatalogLookups:
    """Categories, attributes and the warehouse of a run, cached (a part of :class:`FeedImporter`)."""

    def warehouse(self) -> Warehouse:
        if self._warehouse is None:
            self._warehouse, _created = Warehouse.objects.get_or_create(
                store=self.store,
                code=self.options.warehouse_code[:40],
                defaults={"name": self.config.name[:120], "priority": 100},
            )
        return self._warehouse

    def category(self, parts: list[str]) -> Category | None:
        key = tuple(parts)
        if key in self._categories:
            return self._categories[key]
        mapped = self.options.category_map.get(" / ".join(parts)) or self.options.category_map.get(
            self.profile.category_separator.join(parts)
        )
        result: Category | None = None
        if mapped:
            result = Category.objects.filter(store=self.store, slug=mapped).first()
            if result is None:
                self.warnings.append(
                    _("Category mapping points at a missing category %(s)s.") % {"s": mapped}
                )
        if result is None and parts:
            parent = self._root_category()
            for i, name in enumerate(parts):
                sub_key = ("\x00path", *tuple(parts[: i + 1]))
                node = self._categories.get(sub_key)
                if node is None:
                    node = Category.objects.filter(store=self.store, parent=parent, name=name).first()
                    if node is None:
                        node = catalog_services.save_category(
                            category=Category(store=self.store, parent=parent, name=name, is_published=True)
                        )
                        self.counts["categories_created"] += 1
                    self._categories[sub_key] = node
                parent = node
            result = parent
        self._categories[key] = result
        return result

    def manufacturer(self, data: dict | None) -> Manufacturer | None:
        """The store's manufacturer of that name; created from the feed when it carries the
        address and e-mail GPSR asks for (an existing record is never overwritten: the merchant
        may have corrected it)."""
        if not data or not data.get("name"):
            return None
        cache = self._manufacturers
        name = data["name"]
        if name not in cache:
            found = Manufacturer.objects.filter(store=self.store, name=name).first()
            if found is None and data.get("address") and data.get("email"):
                found = Manufacturer.objects.create(
                    store=self.store, name=name, address=data["address"], country="PL", email=data["email"]
                )
                self.counts["manufacturers_created"] += 1
            elif found is None:
                self.warnings.append(
                    _("Manufacturer %(name)s has no postal address or e-mail in the feed: not created.")
                    % {"name": name[:80]}
                )
            cache[name] = found
        return cache[name]

    def _root_category(self) -> Category | None:
        if not self.options.category_root:
            return None
        key = ("\x00root",)
        if key not in self._categories:
            root = Category.objects.filter(
                Q(slug=self.options.category_root) | Q(name=self.options.category_root, parent__isnull=True),
                store=self.store,
            ).first()
            if root is None:
                root = catalog_services.save_category(
                    category=Category(store=self.store, name=self.options.category_root, is_published=True)
                )
            self._categories[key] = root
        return self._categories[key]

    def attribute_value(self, name: str, value: str) -> AttributeValue:
        attribute = self._attributes.get(name)
        if attribute is None:
            slug = slugify_pl(name, max_length=80) or "cecha"
            attribute, _c = Attribute.objects.get_or_create(
                store=self.store, slug=slug, defaults={"name": name[:80]}
            )
            self._attributes[name] = attribute
        vkey = (attribute.pk, value)
        found = self._values.get(vkey)
        if found is None:
            vslug = slugify_pl(value, max_length=80) or hashlib.sha1(value.encode()).hexdigest()[:12]  # noqa: S324
            found, _c = AttributeValue.objects.get_or_create(
                attribute=attribute, slug=vslug, defaults={"value": value[:80]}
            )
            self._values[vkey] = found
        return found
