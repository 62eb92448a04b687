"""The default campaign: three emails (1 h, 24 h with a 10% coupon, 72 h), Polish and English.

The texts are ordinary StepTemplate rows once created; merchants edit them in the admin.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

_LINES = {
    "pl": """<table role="presentation" width="100%" cellspacing="0" cellpadding="0" style="margin:16px 0">
{% for line in lines %}<tr>
<td width="72" style="padding:8px 8px 8px 0;vertical-align:top">{% if line.image_url %}<img src="{{ line.image_url }}" width="64" alt="{{ line.name }}" style="border-radius:4px;display:block">{% endif %}</td>
<td style="padding:8px 0;vertical-align:top"><a href="{{ line.url }}" style="color:#1d2330;font-weight:bold">{{ line.name }}</a>{% if line.variant_name %} · {{ line.variant_name }}{% endif %}<br>
{{ line.quantity }} × {% if line.price_dropped %}<s style="color:#5b6475">{{ line.price_when_abandoned }}</s> <strong style="color:#0a7a3d">{{ line.unit_price }} {{ currency }}</strong> <span style="color:#0a7a3d">(taniej o {{ line.price_drop }} {{ currency }})</span>{% else %}{{ line.unit_price }} {{ currency }}{% endif %}
{% if line.sold_out %}<br><strong style="color:#b3261e">Wyprzedane – nie możemy go już wysłać.</strong>{% elif line.units_left %}<br><span style="color:#b35c00">Zostały tylko {{ line.units_left }} szt.</span>{% endif %}
</td></tr>{% endfor %}</table>
{% if has_sold_out %}<p style="color:#b3261e">Część produktów została wyprzedana – po przywróceniu koszyka zobaczysz tylko dostępne.</p>{% endif %}
{% if social_proof %}<p>{{ social_proof.count }} osób kupiło „{{ social_proof.product_name }}” w ostatnich dniach.</p>{% endif %}""",
    "en": """<table role="presentation" width="100%" cellspacing="0" cellpadding="0" style="margin:16px 0">
{% for line in lines %}<tr>
<td width="72" style="padding:8px 8px 8px 0;vertical-align:top">{% if line.image_url %}<img src="{{ line.image_url }}" width="64" alt="{{ line.name }}" style="border-radius:4px;display:block">{% endif %}</td>
<td style="padding:8px 0;vertical-align:top"><a href="{{ line.url }}" style="color:#1d2330;font-weight:bold">{{ line.name }}</a>{% if line.variant_name %} · {{ line.variant_name }}{% endif %}<br>
{{ line.quantity }} × {% if line.price_dropped %}<s style="color:#5b6475">{{ line.price_when_abandoned }}</s> <strong style="color:#0a7a3d">{{ line.unit_price }} {{ currency }}</strong> <span style="color:#0a7a3d">({{ line.price_drop }} {{ currency }} less)</span>{% else %}{{ line.unit_price }} {{ currency }}{% endif %}
{% if line.sold_out %}<br><strong style="color:#b3261e">Sold out – we can no longer send it.</strong>{% elif line.units_left %}<br><span style="color:#b35c00">Only {{ line.units_left }} left.</span>{% endif %}
</td></tr>{% endfor %}</table>
{% if has_sold_out %}<p style="color:#b3261e">Some items have sold out – the restored cart will hold only what is available.</p>{% endif %}
{% if social_proof %}<p>{{ social_proof.count }} people bought “{{ social_proof.product_name }}” in the last few days.</p>{% endif %}""",
}

_BUTTON = (
    '<p style="margin:24px 0"><a href="{{ restore_url }}" style="background:#1f4e79;color:#ffffff;'
    'padding:12px 20px;border-radius:6px;text-decoration:none;font-weight:bold">%s</a></p>'
)

_RECS = {
    "pl": """{% if recommendations %}<p><strong>Może Ci się spodobać:</strong></p><ul>{% for p in recommendations %}<li><a href="{{ p.url }}">{{ p.name }}</a>{% if p.price %} – {{ p.price }} {{ currency }}{% endif %}</li>{% endfor %}</ul>{% endif %}""",
    "en": """{% if recommendations %}<p><strong>You may also like:</strong></p><ul>{% for p in recommendations %}<li><a href="{{ p.url }}">{{ p.name }}</a>{% if p.price %} – {{ p.price }} {{ currency }}{% endif %}</li>{% endfor %}</ul>{% endif %}""",
}

_TEXT_LINES = {
    "pl": """{% for line in lines %}- {{ line.name }}{% if line.variant_name %} ({{ line.variant_name }}){% endif %}: {{ line.quantity }} × {{ line.unit_price }} {{ currency }}{% if line.price_dropped %} (było {{ line.price_when_abandoned }}){% endif %}{% if line.sold_out %} – WYPRZEDANE{% elif line.units_left %} – zostały {{ line.units_left }} szt.{% endif %}
{% endfor %}{% if has_sold_out %}Część produktów została wyprzedana.
{% endif %}""",
    "en": """{% for line in lines %}- {{ line.name }}{% if line.variant_name %} ({{ line.variant_name }}){% endif %}: {{ line.quantity }} × {{ line.unit_price }} {{ currency }}{% if line.price_dropped %} (was {{ line.price_when_abandoned }}){% endif %}{% if line.sold_out %} – SOLD OUT{% elif line.units_left %} – only {{ line.units_left }} left{% endif %}
{% endfor %}{% if has_sold_out %}Some items have sold out.
{% endif %}""",
}

STEPS = [
    {
        "position": 1,
        "delay": timedelta(hours=1),
        "incentive": ("", None, None),
        "pl": {
            "subject": "{{ greeting_name }}, Twój koszyk w {{ store.name }} czeka",
            "intro": "<p>Cześć {{ greeting_name }}!</p><p>Zostawiłeś(-aś) produkty w koszyku. Zachowaliśmy je dla Ciebie:</p>",
            "button": "Wróć do koszyka",
            "text_intro": "Cześć {{ greeting_name }}!\n\nZostawiłeś(-aś) produkty w koszyku:\n",
            "text_cta": "Wróć do koszyka: {{ restore_url }}",
        },
        "en": {
            "subject": "{{ greeting_name }}, your cart at {{ store.name }} is waiting",
            "intro": "<p>Hi {{ greeting_name }}!</p><p>You left a few things in your cart. We kept them for you:</p>",
            "button": "Back to my cart",
            "text_intro": "Hi {{ greeting_name }}!\n\nYou left a few things in your cart:\n",
            "text_cta": "Back to your cart: {{ restore_url }}",
        },
    },
    {
        "position": 2,
        "delay": timedelta(hours=24),
        "incentive": ("percentage", Decimal("10"), 3),
        "pl": {
            "subject": "-10% na Twój koszyk w {{ store.name }}",
            "intro": "<p>Cześć {{ greeting_name }}!</p><p>Twój koszyk nadal czeka. Mamy dla Ciebie kod rabatowy"
            '{% if coupon %} <strong>{{ coupon.code }}</strong> ({{ coupon.label }}), ważny do {{ coupon.expires_at|date:"j.m.Y H:i" }}{% endif %}'
            " – dodamy go automatycznie po powrocie do koszyka.</p>",
            "button": "Odbierz rabat",
            "text_intro": 'Cześć {{ greeting_name }}!\n\nTwój koszyk nadal czeka.{% if coupon %} Kod {{ coupon.code }} ({{ coupon.label }}) ważny do {{ coupon.expires_at|date:"j.m.Y H:i" }}.{% endif %}\n',
            "text_cta": "Odbierz rabat: {{ restore_url }}",
        },
        "en": {
            "subject": "10% off your cart at {{ store.name }}",
            "intro": "<p>Hi {{ greeting_name }}!</p><p>Your cart is still waiting. Here is a discount code"
            '{% if coupon %} <strong>{{ coupon.code }}</strong> ({{ coupon.label }}), valid until {{ coupon.expires_at|date:"Y-m-d H:i" }}{% endif %}'
            " – we apply it for you when you return to your cart.</p>",
            "button": "Claim my discount",
            "text_intro": 'Hi {{ greeting_name }}!\n\nYour cart is still waiting.{% if coupon %} Code {{ coupon.code }} ({{ coupon.label }}) valid until {{ coupon.expires_at|date:"Y-m-d H:i" }}.{% endif %}\n',
            "text_cta": "Claim your discount: {{ restore_url }}",
        },
    },
    {
        "position": 3,
        "delay": timedelta(hours=72),
        "incentive": ("", None, None),
        "pl": {
            "subject": "Ostatnie przypomnienie o Twoim koszyku",
            "intro": "<p>Cześć {{ greeting_name }}!</p><p>To nasze ostatnie przypomnienie – potem koszyk przestanie na Ciebie czekać.</p>",
            "button": "Dokończ zakupy",
            "text_intro": "Cześć {{ greeting_name }}!\n\nTo nasze ostatnie przypomnienie o koszyku:\n",
            "text_cta": "Dokończ zakupy: {{ restore_url }}",
        },
        "en": {
            "subject": "A last reminder about your cart",
            "intro": "<p>Hi {{ greeting_name }}!</p><p>This is our last reminder – after this your cart stops waiting for you.</p>",
            "button": "Finish my order",
            "text_intro": "Hi {{ greeting_name }}!\n\nThis is our last reminder about your cart:\n",
            "text_cta": "Finish your order: {{ restore_url }}",
        },
    },
]


def template_texts(step: dict, language: str) -> dict[str, str]:
    words = step[language]
    html = words["intro"] + _LINES[language] + (_BUTTON % words["button"]) + _RECS[language]
    text = words["text_intro"] + _TEXT_LINES[language] + "\n" + words["text_cta"]
    return {"subject": words["subject"], "html_body": html, "text_body": text}
