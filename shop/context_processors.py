from django.conf import settings


def store(request):
    """Expose the current store and site-wide switches to every template."""
    return {"store": getattr(request, "store", None), "SITE_URL": settings.SITE_URL}
