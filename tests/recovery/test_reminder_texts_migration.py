"""The data migration that brings shops created before onto the new default reminder texts,
leaving every text a merchant has edited as it is."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from recovery.models import StepTemplate
from recovery.services.campaigns import ensure_default_campaign

pytestmark = pytest.mark.django_db


def test_the_data_migration_updates_only_texts_still_equal_to_the_old_defaults(store):
    migration = importlib.import_module("recovery.migrations.0004_default_reminder_texts_without_guesses")
    frozen = {
        (position, language): (old, new)
        for position, (language, old, new) in zip([1, 1, 2, 2, 3, 3], migration.TEXTS, strict=True)
    }
    campaign = ensure_default_campaign(store=store)
    templates = list(StepTemplate.objects.filter(step__campaign=campaign).select_related("step"))
    assert len(templates) == 6
    # A shop created before this change: the old default texts, one subject edited by the merchant.
    for template in templates:
        old, _new = frozen[(template.step.position, template.language)]
        for field, value in old.items():
            setattr(template, field, value)
        if (template.step.position, template.language) == (1, "pl"):
            template.subject = "Nasz własny temat"
        template.save()
    assert "Zostawiłeś(-aś)" in StepTemplate.objects.get(step__position=1, language="pl").html_body

    migration.forwards(apps, None)

    for template in StepTemplate.objects.filter(step__campaign=campaign).select_related("step"):
        _old, new = frozen[(template.step.position, template.language)]
        assert template.html_body == new["html_body"] and template.text_body == new["text_body"]
        if (template.step.position, template.language) == (1, "pl"):
            assert template.subject == "Nasz własny temat"
        else:
            assert template.subject == new["subject"]
        for part in (template.subject, template.html_body, template.text_body):
            assert "(-aś)" not in part and "greeting_name" not in part and "szt." not in part
    # And back.
    migration.backwards(apps, None)
    assert "Zostawiłeś(-aś)" in StepTemplate.objects.get(step__position=1, language="pl").html_body
