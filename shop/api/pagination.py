"""Page-number pagination with a hard maximum page size.

``?page=2&page_size=48``: ``count``, ``next``, ``previous`` and ``results``. An out-of-range or
malformed page is a 404 in the usual error shape; ``page_size`` above the maximum is capped.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.pagination import PageNumberPagination


class PagePagination(PageNumberPagination):
    page_size_query_param = "page_size"

    @property
    def page_size(self):  # read at request time so tests and operators can change it
        return settings.API_PAGE_SIZE

    @property
    def max_page_size(self):
        return settings.API_MAX_PAGE_SIZE

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None:
            try:
                size = int(raw)
            except (TypeError, ValueError):
                return self.page_size
            if size > 0:
                return min(size, self.max_page_size)
        return self.page_size
