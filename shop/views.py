from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import health


@never_cache
@require_GET
def healthz(request):
    """200 when database, cache and broker are all up; 503 naming the failing parts otherwise."""
    checks = health.run_checks()
    failing = sorted(name for name, result in checks.items() if result["status"] != "up")
    body = {"status": "ok" if not failing else "fail", "failing": failing, "checks": checks}
    return JsonResponse(body, status=503 if failing else 200)


@never_cache
@require_GET
def readyz(request):
    """200 when this node can take traffic: database up, migrations applied, cache and broker up;
    503 naming the failing checks otherwise (a load balancer's readiness probe)."""
    checks = health.run_checks(health.READINESS_CHECKS)
    failing = [name for name, result in checks.items() if result["status"] != "up"]
    body = {"status": "ok" if not failing else "fail", "failing": failing, "checks": checks}
    return JsonResponse(body, status=503 if failing else 200)
