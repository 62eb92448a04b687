"""Page-number pagination with a hard maximum page size.

``?page=2&page_size=48``: ``count``, ``next``, ``previous`` and ``results``. An out-of-range or
malformed page is a 404 in the usual error shape; ``page_size`` above the maximum is capped, and
one that is not a whole number from 1 is a 400 (it was silently ignored).
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework.pagination import PageNumberPagination

from .errors import ApiError


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
        if raw is None:
            return self.page_size
        size = int(raw) if raw.isascii() and raw.isdigit() else 0
        if size < 1:
            raise ApiError(
                _("Enter a whole number from 1."),
                status_code=400,
                fields={self.page_size_query_param: [_("Enter a whole number from 1.")]},
            )
        return min(size, self.max_page_size)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
        return parameters
