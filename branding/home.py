"""The home page a merchant built from blocks: read in position order, shaped for the template.

Slides next to each other become one slider; a product block shows its group's products as
cards (one query per block, the group's own rules through ``catalog.selectors.group_products``);
the categories block shows the top categories of the cached tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings

from catalog import selectors as catalog_selectors

from .models import HomeBlock


@dataclass
class Section:
    kind: str
    block: HomeBlock | None = None
    slides: list[HomeBlock] = field(default_factory=list)
    products: list = field(default_factory=list)
    categories: list = field(default_factory=list)


def active_blocks(store_id: int) -> list[HomeBlock]:
    return list(
        HomeBlock.objects.filter(branding_id=store_id, is_active=True)
        .select_related("group", "group__store", "group__rule_category")
        .order_by("position", "pk")
    )


def home_sections(store, tree) -> list[Section]:
    sections: list[Section] = []
    cards = []
    limit = settings.CATALOG_HOME_SECTION_SIZE
    for block in active_blocks(store.pk):
        if block.kind == HomeBlock.Kind.SLIDE:
            if sections and sections[-1].kind == "slider":
                sections[-1].slides.append(block)
            else:
                sections.append(Section("slider", slides=[block]))
        elif block.kind == HomeBlock.Kind.PRODUCTS:
            if not block.group.is_published:
                continue
            products = list(
                catalog_selectors.with_card_data(catalog_selectors.group_products(block.group)).order_by(
                    "-popularity", "-pk"
                )[:limit]
            )
            if products:
                cards += products
                sections.append(Section(block.kind, block=block, products=products))
        elif block.kind == HomeBlock.Kind.CATEGORIES:
            if tree.roots:
                sections.append(Section(block.kind, block=block, categories=list(tree.roots)))
        else:
            sections.append(Section(block.kind, block=block))
    catalog_selectors.attach_card_extras(cards)
    return sections
