import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _recovery_settings(settings):
    # Deterministic defaults for recovery tests; individual tests override what they exercise.
    settings.RECOVERY_QUIET_HOURS = ""
    settings.RECOVERY_FREQUENCY_CAP_HOURS = 24
    settings.RECOVERY_IDLE_MINUTES = 30
    settings.RECOVERY_DELAY_SCALE = 1.0
    settings.RECOVERY_SMS_PROVIDER = ""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.RECOVERY_SMTP_IDLE_CHECK_SECONDS = 0
    from recovery.channels import email

    email.close_connection()
    # Messages are asserted in English (the msgids); Polish is tested where it matters.
    with translation.override("en"):
        yield
    email.close_connection()
