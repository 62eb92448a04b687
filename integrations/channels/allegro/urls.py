"""Admin pages of the Allegro connector (``/admin/integrations/allegro/``)."""

from .admin_views import urlpatterns as _patterns

urlpatterns = _patterns()
