"""What a wholesaler connector's options say about importing its feed."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings

from ...models import ConnectorConfig
from ..pricing import PriceRules

VANISHED_POLICIES = ("hide", "zero", "keep")


@dataclass
class ImportOptions:
    warehouse_code: str
    rules: PriceRules
    category_root: str = ""
    category_map: dict[str, str] = field(default_factory=dict)
    vanished_policy: str = "hide"
    max_vanish_percent: Decimal = Decimal(50)
    publish_new: bool = False
    adopt_existing: bool = True
    download_images: bool = True
    batch_size: int = 1000

    @classmethod
    def from_options(cls, options: dict[str, Any], *, config: ConnectorConfig) -> ImportOptions:
        return cls(
            warehouse_code=options.get("warehouse_code") or f"hurtownia-{config.pk}",
            rules=PriceRules.from_options(options),
            category_root=options.get("category_root") or "",
            category_map=dict(options.get("category_map") or {}),
            vanished_policy=options.get("vanished_policy") or "hide",
            max_vanish_percent=Decimal(str(options.get("max_vanish_percent") or 50)),
            publish_new=bool(options.get("publish_new")),
            adopt_existing=options.get("adopt_existing", True) is not False,
            download_images=options.get("download_images", True) is not False,
            batch_size=int(options.get("batch_size") or settings.INTEGRATIONS_BATCH_SIZE),
        )
