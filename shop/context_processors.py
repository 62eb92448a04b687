from django.conf import settings


def store(request):
    """Expose the current store and site-wide switches to every template."""
    return {
        "store": getattr(request, "store", None),
        "SITE_URL": settings.SITE_URL,
        "csp_nonce": getattr(request, "csp_nonce", ""),  # shop/security_headers.py
    }
