"""The default campaign: three emails (1 h, 24 h with a 10% coupon, 72 h), Polish and English.

The texts are ordinary StepTemplate rows once created; merchants edit them in the admin.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

# Amounts go through the ``money`` filter (the shop's one format: "39,00 zł"); counts through
# ``plural`` (Polish has three forms). No sentence guesses the shopper's gender or a product
# noun's gender, and the store's name stands where the nominative fits.
_LINES = {
    "pl": """<table role="presentation" width="100%" cellspacing="0" cellpadding="0" style="margin:16px 0">
{% for line in lines %}<tr>
<td width="72" style="padding:8px 8px 8px 0;vertical-align:top">{% if line.image_url %}<img src="{{ line.image_url }}" width="64" alt="{{ line.name }}" style="border-radius:4px;display:block">{% endif %}</td>
<td style="padding:8px 0;vertical-align:top"><a href="{{ line.url }}" style="color:#1d2330;font-weight:bold">{{ line.name }}</a>{% if line.variant_name %} · {{ line.variant_name }}{% endif %}<br>
{{ line.quantity }} × {% if line.price_dropped %}<s style="color:#5b6475">{{ line.price_when_abandoned|money:currency }}</s> <strong style="color:#0a7a3d">{{ line.unit_price|money:currency }}</strong> <span style="color:#0a7a3d">(taniej o {{ line.price_drop|money:currency }})</span>{% else %}{{ line.unit_price|money:currency }}{% endif %}
{% if line.sold_out %}<br><strong style="color:#b3261e">Brak w magazynie – tego produktu nie możemy już wysłać.</strong>{% elif line.units_left %}<br><span style="color:#b35c00">{{ line.units_left|plural:"Została,Zostały,Zostało" }} tylko {{ line.units_left }} {{ line.units_left|plural:"sztuka,sztuki,sztuk" }}.</span>{% endif %}
</td></tr>{% endfor %}</table>
{% if has_sold_out %}<p style="color:#b3261e">Części produktów nie ma już w magazynie – po powrocie do koszyka zobaczysz tylko dostępne.</p>{% endif %}
{% if social_proof %}<p>{{ social_proof.count }} {{ social_proof.count|plural:"osoba kupiła,osoby kupiły,osób kupiło" }} produkt „{{ social_proof.product_name }}” w ostatnich dniach.</p>{% endif %}""",
    "en": """<table role="presentation" width="100%" cellspacing="0" cellpadding="0" style="margin:16px 0">
{% for line in lines %}<tr>
<td width="72" style="padding:8px 8px 8px 0;vertical-align:top">{% if line.image_url %}<img src="{{ line.image_url }}" width="64" alt="{{ line.name }}" style="border-radius:4px;display:block">{% endif %}</td>
<td style="padding:8px 0;vertical-align:top"><a href="{{ line.url }}" style="color:#1d2330;font-weight:bold">{{ line.name }}</a>{% if line.variant_name %} · {{ line.variant_name }}{% endif %}<br>
{{ line.quantity }} × {% if line.price_dropped %}<s style="color:#5b6475">{{ line.price_when_abandoned|money:currency }}</s> <strong style="color:#0a7a3d">{{ line.unit_price|money:currency }}</strong> <span style="color:#0a7a3d">({{ line.price_drop|money:currency }} less)</span>{% else %}{{ line.unit_price|money:currency }}{% endif %}
{% if line.sold_out %}<br><strong style="color:#b3261e">Sold out – we can no longer send it.</strong>{% elif line.units_left %}<br><span style="color:#b35c00">Only {{ line.units_left }} left.</span>{% endif %}
</td></tr>{% endfor %}</table>
{% if has_sold_out %}<p style="color:#b3261e">Some items have sold out – your cart will hold only what is still available.</p>{% endif %}
{% if social_proof %}<p>{{ social_proof.count }} {{ social_proof.count|plural:"person,people" }} bought “{{ social_proof.product_name }}” in the last few days.</p>{% endif %}""",
}

_BUTTON = (
    '<p style="margin:24px 0"><a href="{{ restore_url }}" style="background:#1f4e79;color:#ffffff;'
    'padding:12px 20px;border-radius:6px;text-decoration:none;font-weight:bold;display:inline-block">%s</a></p>'
)

_RECS = {
    "pl": """{% if recommendations %}<p><strong>Może Ci się spodobać:</strong></p><ul>{% for p in recommendations %}<li><a href="{{ p.url }}">{{ p.name }}</a>{% if p.price %} – {{ p.price|money:currency }}{% endif %}</li>{% endfor %}</ul>{% endif %}""",
    "en": """{% if recommendations %}<p><strong>You may also like:</strong></p><ul>{% for p in recommendations %}<li><a href="{{ p.url }}">{{ p.name }}</a>{% if p.price %} – {{ p.price|money:currency }}{% endif %}</li>{% endfor %}</ul>{% endif %}""",
}

_TEXT_LINES = {
    "pl": """{% for line in lines %}- {{ line.name }}{% if line.variant_name %} ({{ line.variant_name }}){% endif %}: {{ line.quantity }} × {{ line.unit_price|money:currency }}{% if line.price_dropped %} (wcześniej {{ line.price_when_abandoned|money:currency }}){% endif %}{% if line.sold_out %} – brak w magazynie{% elif line.units_left %} – {{ line.units_left|plural:"została,zostały,zostało" }} tylko {{ line.units_left }} {{ line.units_left|plural:"sztuka,sztuki,sztuk" }}{% endif %}
{% endfor %}{% if has_sold_out %}Części produktów nie ma już w magazynie.
{% endif %}""",
    "en": """{% for line in lines %}- {{ line.name }}{% if line.variant_name %} ({{ line.variant_name }}){% endif %}: {{ line.quantity }} × {{ line.unit_price|money:currency }}{% if line.price_dropped %} (was {{ line.price_when_abandoned|money:currency }}){% endif %}{% if line.sold_out %} – sold out{% elif line.units_left %} – only {{ line.units_left }} left{% endif %}
{% endfor %}{% if has_sold_out %}Some items have sold out.
{% endif %}""",
}

_COUPON_DATE = '{{ coupon.expires_at|date:"d.m.Y, H:i" }}'

STEPS = [
    {
        "position": 1,
        "delay": timedelta(hours=1),
        "incentive": ("", None, None),
        "pl": {
            "subject": "Twój koszyk wciąż czeka – {{ store.name }}",
            "intro": "<p>{{ greeting }}</p><p>Produkty z Twojego koszyka wciąż na Ciebie czekają:</p>",
            "button": "Wróć do koszyka",
            "text_intro": "{{ greeting }}\n\nProdukty z Twojego koszyka wciąż na Ciebie czekają:\n",
            "text_cta": "Wróć do koszyka: {{ restore_url }}",
        },
        "en": {
            "subject": "Don't forget your cart at {{ store.name }}",
            "intro": "<p>{{ greeting }}</p><p>The items in your cart are still waiting for you:</p>",
            "button": "Back to my cart",
            "text_intro": "{{ greeting }}\n\nThe items in your cart are still waiting for you:\n",
            "text_cta": "Back to your cart: {{ restore_url }}",
        },
    },
    {
        "position": 2,
        "delay": timedelta(hours=24),
        "incentive": ("percentage", Decimal("10"), 3),
        "pl": {
            "subject": "-10% na Twój koszyk – {{ store.name }}",
            "intro": "<p>{{ greeting }}</p><p>Twój koszyk wciąż czeka."
            "{% if coupon %} Mamy dla Ciebie kod rabatowy <strong>{{ coupon.code }}</strong> ({{ coupon.label }})"
            "{% if coupon.expires_at %}, ważny do " + _COUPON_DATE + "{% endif %}"
            " – dodamy go automatycznie po powrocie do koszyka.{% endif %}</p>",
            "button": "{% if coupon %}Odbierz rabat{% else %}Wróć do koszyka{% endif %}",
            "text_intro": "{{ greeting }}\n\nTwój koszyk wciąż czeka."
            "{% if coupon %} Mamy dla Ciebie kod rabatowy {{ coupon.code }} ({{ coupon.label }})"
            "{% if coupon.expires_at %}, ważny do " + _COUPON_DATE + "{% endif %}"
            " – dodamy go automatycznie po powrocie do koszyka.{% endif %}\n",
            "text_cta": "{% if coupon %}Odbierz rabat{% else %}Wróć do koszyka{% endif %}: {{ restore_url }}",
        },
        "en": {
            "subject": "10% off your cart at {{ store.name }}",
            "intro": "<p>{{ greeting }}</p><p>Your cart is still waiting."
            "{% if coupon %} Here is a discount code, <strong>{{ coupon.code }}</strong> ({{ coupon.label }})"
            "{% if coupon.expires_at %}, valid until " + _COUPON_DATE + "{% endif %}"
            " – we apply it for you when you return to your cart.{% endif %}</p>",
            "button": "{% if coupon %}Claim my discount{% else %}Back to my cart{% endif %}",
            "text_intro": "{{ greeting }}\n\nYour cart is still waiting."
            "{% if coupon %} Here is a discount code, {{ coupon.code }} ({{ coupon.label }})"
            "{% if coupon.expires_at %}, valid until " + _COUPON_DATE + "{% endif %}"
            " – we apply it for you when you return to your cart.{% endif %}\n",
            "text_cta": "{% if coupon %}Claim your discount{% else %}Back to your cart{% endif %}: {{ restore_url }}",
        },
    },
    {
        "position": 3,
        "delay": timedelta(hours=72),
        "incentive": ("", None, None),
        "pl": {
            "subject": "Ostatnie przypomnienie o Twoim koszyku – {{ store.name }}",
            "intro": "<p>{{ greeting }}</p><p>To nasze ostatnie przypomnienie – potem koszyk przestanie na Ciebie czekać.</p>",
            "button": "Dokończ zakupy",
            "text_intro": "{{ greeting }}\n\nTo nasze ostatnie przypomnienie o koszyku:\n",
            "text_cta": "Dokończ zakupy: {{ restore_url }}",
        },
        "en": {
            "subject": "A last reminder about your cart at {{ store.name }}",
            "intro": "<p>{{ greeting }}</p><p>This is our last reminder – after this your cart stops waiting for you.</p>",
            "button": "Finish my order",
            "text_intro": "{{ greeting }}\n\nThis is our last reminder about your cart:\n",
            "text_cta": "Finish your order: {{ restore_url }}",
        },
    },
]


def template_texts(step: dict, language: str) -> dict[str, str]:
    words = step[language]
    html = words["intro"] + _LINES[language] + (_BUTTON % words["button"]) + _RECS[language]
    text = words["text_intro"] + _TEXT_LINES[language] + "\n" + words["text_cta"]
    return {"subject": words["subject"], "html_body": html, "text_body": text}
