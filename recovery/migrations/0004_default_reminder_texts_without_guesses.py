"""The default reminder texts without guessed genders or names: data for the rows created before.

The default campaign's templates are ordinary rows (merchants edit them), so the texts written
by ``recovery.defaults`` before this change are still in the database of existing shops:
"Zostawiłeś(-aś)", "Cześć {{ greeting_name }}!" (which read "Cześć Kliencie!"), "Zostały tylko
1 szt.", prices as "39,00 PLN". Each field still equal to the old default text is replaced by the
new default; a field a merchant has edited is left as it is. Both versions are frozen here, so
the migration means the same thing whatever ``recovery.defaults`` says later.
"""

from django.db import migrations

FIELDS = ("subject", "html_body", "text_body")

# (language, old texts, new texts) for each default step, in step order.
TEXTS = [
    (
        "pl",
        {
            "html_body": "<p>Cześć {{ greeting_name }}!</p><p>Zostawiłeś(-aś) produkty w koszyku. Zachowaliśmy je dla "
            'Ciebie:</p><table role="presentation" width="100%" cellspacing="0" cellpadding="0" '
            'style="margin:16px 0">\n'
            "{% for line in lines %}<tr>\n"
            '<td width="72" style="padding:8px 8px 8px 0;vertical-align:top">{% if line.image_url %}<img '
            'src="{{ line.image_url }}" width="64" alt="{{ line.name }}" '
            'style="border-radius:4px;display:block">{% endif %}</td>\n'
            '<td style="padding:8px 0;vertical-align:top"><a href="{{ line.url }}" '
            'style="color:#1d2330;font-weight:bold">{{ line.name }}</a>{% if line.variant_name %} · {{ '
            "line.variant_name }}{% endif %}<br>\n"
            '{{ line.quantity }} × {% if line.price_dropped %}<s style="color:#5b6475">{{ '
            'line.price_when_abandoned }}</s> <strong style="color:#0a7a3d">{{ line.unit_price }} {{ '
            'currency }}</strong> <span style="color:#0a7a3d">(taniej o {{ line.price_drop }} {{ '
            "currency }})</span>{% else %}{{ line.unit_price }} {{ currency }}{% endif %}\n"
            '{% if line.sold_out %}<br><strong style="color:#b3261e">Wyprzedane – nie możemy go już '
            'wysłać.</strong>{% elif line.units_left %}<br><span style="color:#b35c00">Zostały tylko {{ '
            "line.units_left }} szt.</span>{% endif %}\n"
            "</td></tr>{% endfor %}</table>\n"
            '{% if has_sold_out %}<p style="color:#b3261e">Część produktów została wyprzedana – po '
            "przywróceniu koszyka zobaczysz tylko dostępne.</p>{% endif %}\n"
            "{% if social_proof %}<p>{{ social_proof.count }} osób kupiło „{{ social_proof.product_name "
            '}}” w ostatnich dniach.</p>{% endif %}<p style="margin:24px 0"><a href="{{ restore_url }}" '
            'style="background:#1f4e79;color:#ffffff;padding:12px '
            '20px;border-radius:6px;text-decoration:none;font-weight:bold">Wróć do koszyka</a></p>{% if '
            "recommendations %}<p><strong>Może Ci się spodobać:</strong></p><ul>{% for p in "
            'recommendations %}<li><a href="{{ p.url }}">{{ p.name }}</a>{% if p.price %} – {{ p.price '
            "}} {{ currency }}{% endif %}</li>{% endfor %}</ul>{% endif %}",
            "subject": "{{ greeting_name }}, Twój koszyk w {{ store.name }} czeka",
            "text_body": "Cześć {{ greeting_name }}!\n"
            "\n"
            "Zostawiłeś(-aś) produkty w koszyku:\n"
            "{% for line in lines %}- {{ line.name }}{% if line.variant_name %} ({{ line.variant_name "
            "}}){% endif %}: {{ line.quantity }} × {{ line.unit_price }} {{ currency }}{% if "
            "line.price_dropped %} (było {{ line.price_when_abandoned }}){% endif %}{% if line.sold_out "
            "%} – WYPRZEDANE{% elif line.units_left %} – zostały {{ line.units_left }} szt.{% endif %}\n"
            "{% endfor %}{% if has_sold_out %}Część produktów została wyprzedana.\n"
            "{% endif %}\n"
            "Wróć do koszyka: {{ restore_url }}",
        },
        {
            "html_body": "<p>{{ greeting }}</p><p>Produkty z Twojego koszyka wciąż na Ciebie czekają:</p><table "
            'role="presentation" width="100%" cellspacing="0" cellpadding="0" style="margin:16px 0">\n'
            "{% for line in lines %}<tr>\n"
            '<td width="72" style="padding:8px 8px 8px 0;vertical-align:top">{% if line.image_url %}<img '
            'src="{{ line.image_url }}" width="64" alt="{{ line.name }}" '
            'style="border-radius:4px;display:block">{% endif %}</td>\n'
            '<td style="padding:8px 0;vertical-align:top"><a href="{{ line.url }}" '
            'style="color:#1d2330;font-weight:bold">{{ line.name }}</a>{% if line.variant_name %} · {{ '
            "line.variant_name }}{% endif %}<br>\n"
            '{{ line.quantity }} × {% if line.price_dropped %}<s style="color:#5b6475">{{ '
            'line.price_when_abandoned|money:currency }}</s> <strong style="color:#0a7a3d">{{ '
            'line.unit_price|money:currency }}</strong> <span style="color:#0a7a3d">(taniej o {{ '
            "line.price_drop|money:currency }})</span>{% else %}{{ line.unit_price|money:currency }}{% "
            "endif %}\n"
            '{% if line.sold_out %}<br><strong style="color:#b3261e">Brak w magazynie – tego produktu '
            'nie możemy już wysłać.</strong>{% elif line.units_left %}<br><span style="color:#b35c00">{{ '
            'line.units_left|plural:"Została,Zostały,Zostało" }} tylko {{ line.units_left }} {{ '
            'line.units_left|plural:"sztuka,sztuki,sztuk" }}.</span>{% endif %}\n'
            "</td></tr>{% endfor %}</table>\n"
            '{% if has_sold_out %}<p style="color:#b3261e">Części produktów nie ma już w magazynie – po '
            "powrocie do koszyka zobaczysz tylko dostępne.</p>{% endif %}\n"
            '{% if social_proof %}<p>{{ social_proof.count }} {{ social_proof.count|plural:"osoba '
            'kupiła,osoby kupiły,osób kupiło" }} produkt „{{ social_proof.product_name }}” w ostatnich '
            'dniach.</p>{% endif %}<p style="margin:24px 0"><a href="{{ restore_url }}" '
            'style="background:#1f4e79;color:#ffffff;padding:12px '
            '20px;border-radius:6px;text-decoration:none;font-weight:bold;display:inline-block">Wróć do '
            "koszyka</a></p>{% if recommendations %}<p><strong>Może Ci się spodobać:</strong></p><ul>{% "
            'for p in recommendations %}<li><a href="{{ p.url }}">{{ p.name }}</a>{% if p.price %} – {{ '
            "p.price|money:currency }}{% endif %}</li>{% endfor %}</ul>{% endif %}",
            "subject": "Twój koszyk wciąż czeka – {{ store.name }}",
            "text_body": "{{ greeting }}\n"
            "\n"
            "Produkty z Twojego koszyka wciąż na Ciebie czekają:\n"
            "{% for line in lines %}- {{ line.name }}{% if line.variant_name %} ({{ line.variant_name "
            "}}){% endif %}: {{ line.quantity }} × {{ line.unit_price|money:currency }}{% if "
            "line.price_dropped %} (wcześniej {{ line.price_when_abandoned|money:currency }}){% endif "
            "%}{% if line.sold_out %} – brak w magazynie{% elif line.units_left %} – {{ "
            'line.units_left|plural:"została,zostały,zostało" }} tylko {{ line.units_left }} {{ '
            'line.units_left|plural:"sztuka,sztuki,sztuk" }}{% endif %}\n'
            "{% endfor %}{% if has_sold_out %}Części produktów nie ma już w magazynie.\n"
            "{% endif %}\n"
            "Wróć do koszyka: {{ restore_url }}",
        },
    ),
    (
        "en",
        {
            "html_body": "<p>Hi {{ greeting_name }}!</p><p>You left a few things in your cart. We kept them for "
            'you:</p><table role="presentation" width="100%" cellspacing="0" cellpadding="0" '
            'style="margin:16px 0">\n'
            "{% for line in lines %}<tr>\n"
            '<td width="72" style="padding:8px 8px 8px 0;vertical-align:top">{% if line.image_url %}<img '
            'src="{{ line.image_url }}" width="64" alt="{{ line.name }}" '
            'style="border-radius:4px;display:block">{% endif %}</td>\n'
            '<td style="padding:8px 0;vertical-align:top"><a href="{{ line.url }}" '
            'style="color:#1d2330;font-weight:bold">{{ line.name }}</a>{% if line.variant_name %} · {{ '
            "line.variant_name }}{% endif %}<br>\n"
            '{{ line.quantity }} × {% if line.price_dropped %}<s style="color:#5b6475">{{ '
            'line.price_when_abandoned }}</s> <strong style="color:#0a7a3d">{{ line.unit_price }} {{ '
            'currency }}</strong> <span style="color:#0a7a3d">({{ line.price_drop }} {{ currency }} '
            "less)</span>{% else %}{{ line.unit_price }} {{ currency }}{% endif %}\n"
            '{% if line.sold_out %}<br><strong style="color:#b3261e">Sold out – we can no longer send '
            'it.</strong>{% elif line.units_left %}<br><span style="color:#b35c00">Only {{ '
            "line.units_left }} left.</span>{% endif %}\n"
            "</td></tr>{% endfor %}</table>\n"
            '{% if has_sold_out %}<p style="color:#b3261e">Some items have sold out – the restored cart '
            "will hold only what is available.</p>{% endif %}\n"
            "{% if social_proof %}<p>{{ social_proof.count }} people bought “{{ "
            'social_proof.product_name }}” in the last few days.</p>{% endif %}<p style="margin:24px '
            '0"><a href="{{ restore_url }}" style="background:#1f4e79;color:#ffffff;padding:12px '
            '20px;border-radius:6px;text-decoration:none;font-weight:bold">Back to my cart</a></p>{% if '
            "recommendations %}<p><strong>You may also like:</strong></p><ul>{% for p in recommendations "
            '%}<li><a href="{{ p.url }}">{{ p.name }}</a>{% if p.price %} – {{ p.price }} {{ currency '
            "}}{% endif %}</li>{% endfor %}</ul>{% endif %}",
            "subject": "{{ greeting_name }}, your cart at {{ store.name }} is waiting",
            "text_body": "Hi {{ greeting_name }}!\n"
            "\n"
            "You left a few things in your cart:\n"
            "{% for line in lines %}- {{ line.name }}{% if line.variant_name %} ({{ line.variant_name "
            "}}){% endif %}: {{ line.quantity }} × {{ line.unit_price }} {{ currency }}{% if "
            "line.price_dropped %} (was {{ line.price_when_abandoned }}){% endif %}{% if line.sold_out "
            "%} – SOLD OUT{% elif line.units_left %} – only {{ line.units_left }} left{% endif %}\n"
            "{% endfor %}{% if has_sold_out %}Some items have sold out.\n"
            "{% endif %}\n"
            "Back to your cart: {{ restore_url }}",
        },
        {
            "html_body": "<p>{{ greeting }}</p><p>The items in your cart are still waiting for you:</p><table "
            'role="presentation" width="100%" cellspacing="0" cellpadding="0" style="margin:16px 0">\n'
            "{% for line in lines %}<tr>\n"
            '<td width="72" style="padding:8px 8px 8px 0;vertical-align:top">{% if line.image_url %}<img '
            'src="{{ line.image_url }}" width="64" alt="{{ line.name }}" '
            'style="border-radius:4px;display:block">{% endif %}</td>\n'
            '<td style="padding:8px 0;vertical-align:top"><a href="{{ line.url }}" '
            'style="color:#1d2330;font-weight:bold">{{ line.name }}</a>{% if line.variant_name %} · {{ '
            "line.variant_name }}{% endif %}<br>\n"
            '{{ line.quantity }} × {% if line.price_dropped %}<s style="color:#5b6475">{{ '
            'line.price_when_abandoned|money:currency }}</s> <strong style="color:#0a7a3d">{{ '
            'line.unit_price|money:currency }}</strong> <span style="color:#0a7a3d">({{ '
            "line.price_drop|money:currency }} less)</span>{% else %}{{ line.unit_price|money:currency "
            "}}{% endif %}\n"
            '{% if line.sold_out %}<br><strong style="color:#b3261e">Sold out – we can no longer send '
            'it.</strong>{% elif line.units_left %}<br><span style="color:#b35c00">Only {{ '
            "line.units_left }} left.</span>{% endif %}\n"
            "</td></tr>{% endfor %}</table>\n"
            '{% if has_sold_out %}<p style="color:#b3261e">Some items have sold out – your cart will '
            "hold only what is still available.</p>{% endif %}\n"
            "{% if social_proof %}<p>{{ social_proof.count }} {{ "
            'social_proof.count|plural:"person,people" }} bought “{{ social_proof.product_name }}” in '
            'the last few days.</p>{% endif %}<p style="margin:24px 0"><a href="{{ restore_url }}" '
            'style="background:#1f4e79;color:#ffffff;padding:12px '
            '20px;border-radius:6px;text-decoration:none;font-weight:bold;display:inline-block">Back to '
            "my cart</a></p>{% if recommendations %}<p><strong>You may also like:</strong></p><ul>{% for "
            'p in recommendations %}<li><a href="{{ p.url }}">{{ p.name }}</a>{% if p.price %} – {{ '
            "p.price|money:currency }}{% endif %}</li>{% endfor %}</ul>{% endif %}",
            "subject": "Don't forget your cart at {{ store.name }}",
            "text_body": "{{ greeting }}\n"
            "\n"
            "The items in your cart are still waiting for you:\n"
            "{% for line in lines %}- {{ line.name }}{% if line.variant_name %} ({{ line.variant_name "
            "}}){% endif %}: {{ line.quantity }} × {{ line.unit_price|money:currency }}{% if "
            "line.price_dropped %} (was {{ line.price_when_abandoned|money:currency }}){% endif %}{% if "
            "line.sold_out %} – sold out{% elif line.units_left %} – only {{ line.units_left }} left{% "
            "endif %}\n"
            "{% endfor %}{% if has_sold_out %}Some items have sold out.\n"
            "{% endif %}\n"
            "Back to your cart: {{ restore_url }}",
        },
    ),
    (
        "pl",
        {
            "html_body": "<p>Cześć {{ greeting_name }}!</p><p>Twój koszyk nadal czeka. Mamy dla Ciebie kod rabatowy{% "
            "if coupon %} <strong>{{ coupon.code }}</strong> ({{ coupon.label }}), ważny do {{ "
            'coupon.expires_at|date:"j.m.Y H:i" }}{% endif %} – dodamy go automatycznie po powrocie do '
            'koszyka.</p><table role="presentation" width="100%" cellspacing="0" cellpadding="0" '
            'style="margin:16px 0">\n'
            "{% for line in lines %}<tr>\n"
            '<td width="72" style="padding:8px 8px 8px 0;vertical-align:top">{% if line.image_url %}<img '
            'src="{{ line.image_url }}" width="64" alt="{{ line.name }}" '
            'style="border-radius:4px;display:block">{% endif %}</td>\n'
            '<td style="padding:8px 0;vertical-align:top"><a href="{{ line.url }}" '
            'style="color:#1d2330;font-weight:bold">{{ line.name }}</a>{% if line.variant_name %} · {{ '
            "line.variant_name }}{% endif %}<br>\n"
            '{{ line.quantity }} × {% if line.price_dropped %}<s style="color:#5b6475">{{ '
            'line.price_when_abandoned }}</s> <strong style="color:#0a7a3d">{{ line.unit_price }} {{ '
            'currency }}</strong> <span style="color:#0a7a3d">(taniej o {{ line.price_drop }} {{ '
            "currency }})</span>{% else %}{{ line.unit_price }} {{ currency }}{% endif %}\n"
            '{% if line.sold_out %}<br><strong style="color:#b3261e">Wyprzedane – nie możemy go już '
            'wysłać.</strong>{% elif line.units_left %}<br><span style="color:#b35c00">Zostały tylko {{ '
            "line.units_left }} szt.</span>{% endif %}\n"
            "</td></tr>{% endfor %}</table>\n"
            '{% if has_sold_out %}<p style="color:#b3261e">Część produktów została wyprzedana – po '
            "przywróceniu koszyka zobaczysz tylko dostępne.</p>{% endif %}\n"
            "{% if social_proof %}<p>{{ social_proof.count }} osób kupiło „{{ social_proof.product_name "
            '}}” w ostatnich dniach.</p>{% endif %}<p style="margin:24px 0"><a href="{{ restore_url }}" '
            'style="background:#1f4e79;color:#ffffff;padding:12px '
            '20px;border-radius:6px;text-decoration:none;font-weight:bold">Odbierz rabat</a></p>{% if '
            "recommendations %}<p><strong>Może Ci się spodobać:</strong></p><ul>{% for p in "
            'recommendations %}<li><a href="{{ p.url }}">{{ p.name }}</a>{% if p.price %} – {{ p.price '
            "}} {{ currency }}{% endif %}</li>{% endfor %}</ul>{% endif %}",
            "subject": "-10% na Twój koszyk w {{ store.name }}",
            "text_body": "Cześć {{ greeting_name }}!\n"
            "\n"
            "Twój koszyk nadal czeka.{% if coupon %} Kod {{ coupon.code }} ({{ coupon.label }}) ważny do "
            '{{ coupon.expires_at|date:"j.m.Y H:i" }}.{% endif %}\n'
            "{% for line in lines %}- {{ line.name }}{% if line.variant_name %} ({{ line.variant_name "
            "}}){% endif %}: {{ line.quantity }} × {{ line.unit_price }} {{ currency }}{% if "
            "line.price_dropped %} (było {{ line.price_when_abandoned }}){% endif %}{% if line.sold_out "
            "%} – WYPRZEDANE{% elif line.units_left %} – zostały {{ line.units_left }} szt.{% endif %}\n"
            "{% endfor %}{% if has_sold_out %}Część produktów została wyprzedana.\n"
            "{% endif %}\n"
            "Odbierz rabat: {{ restore_url }}",
        },
        {
            "html_body": "<p>{{ greeting }}</p><p>Twój koszyk wciąż czeka.{% if coupon %} Mamy dla Ciebie kod "
            "rabatowy <strong>{{ coupon.code }}</strong> ({{ coupon.label }}){% if coupon.expires_at %}, "
            'ważny do {{ coupon.expires_at|date:"d.m.Y, H:i" }}{% endif %} – dodamy go automatycznie po '
            'powrocie do koszyka.{% endif %}</p><table role="presentation" width="100%" cellspacing="0" '
            'cellpadding="0" style="margin:16px 0">\n'
            "{% for line in lines %}<tr>\n"
            '<td width="72" style="padding:8px 8px 8px 0;vertical-align:top">{% if line.image_url %}<img '
            'src="{{ line.image_url }}" width="64" alt="{{ line.name }}" '
            'style="border-radius:4px;display:block">{% endif %}</td>\n'
            '<td style="padding:8px 0;vertical-align:top"><a href="{{ line.url }}" '
            'style="color:#1d2330;font-weight:bold">{{ line.name }}</a>{% if line.variant_name %} · {{ '
            "line.variant_name }}{% endif %}<br>\n"
            '{{ line.quantity }} × {% if line.price_dropped %}<s style="color:#5b6475">{{ '
            'line.price_when_abandoned|money:currency }}</s> <strong style="color:#0a7a3d">{{ '
            'line.unit_price|money:currency }}</strong> <span style="color:#0a7a3d">(taniej o {{ '
            "line.price_drop|money:currency }})</span>{% else %}{{ line.unit_price|money:currency }}{% "
            "endif %}\n"
            '{% if line.sold_out %}<br><strong style="color:#b3261e">Brak w magazynie – tego produktu '
            'nie możemy już wysłać.</strong>{% elif line.units_left %}<br><span style="color:#b35c00">{{ '
            'line.units_left|plural:"Została,Zostały,Zostało" }} tylko {{ line.units_left }} {{ '
            'line.units_left|plural:"sztuka,sztuki,sztuk" }}.</span>{% endif %}\n'
            "</td></tr>{% endfor %}</table>\n"
            '{% if has_sold_out %}<p style="color:#b3261e">Części produktów nie ma już w magazynie – po '
            "powrocie do koszyka zobaczysz tylko dostępne.</p>{% endif %}\n"
            '{% if social_proof %}<p>{{ social_proof.count }} {{ social_proof.count|plural:"osoba '
            'kupiła,osoby kupiły,osób kupiło" }} produkt „{{ social_proof.product_name }}” w ostatnich '
            'dniach.</p>{% endif %}<p style="margin:24px 0"><a href="{{ restore_url }}" '
            'style="background:#1f4e79;color:#ffffff;padding:12px '
            '20px;border-radius:6px;text-decoration:none;font-weight:bold;display:inline-block">{% if '
            "coupon %}Odbierz rabat{% else %}Wróć do koszyka{% endif %}</a></p>{% if recommendations "
            "%}<p><strong>Może Ci się spodobać:</strong></p><ul>{% for p in recommendations %}<li><a "
            'href="{{ p.url }}">{{ p.name }}</a>{% if p.price %} – {{ p.price|money:currency }}{% endif '
            "%}</li>{% endfor %}</ul>{% endif %}",
            "subject": "-10% na Twój koszyk – {{ store.name }}",
            "text_body": "{{ greeting }}\n"
            "\n"
            "Twój koszyk wciąż czeka.{% if coupon %} Mamy dla Ciebie kod rabatowy {{ coupon.code }} ({{ "
            'coupon.label }}){% if coupon.expires_at %}, ważny do {{ coupon.expires_at|date:"d.m.Y, H:i" '
            "}}{% endif %} – dodamy go automatycznie po powrocie do koszyka.{% endif %}\n"
            "{% for line in lines %}- {{ line.name }}{% if line.variant_name %} ({{ line.variant_name "
            "}}){% endif %}: {{ line.quantity }} × {{ line.unit_price|money:currency }}{% if "
            "line.price_dropped %} (wcześniej {{ line.price_when_abandoned|money:currency }}){% endif "
            "%}{% if line.sold_out %} – brak w magazynie{% elif line.units_left %} – {{ "
            'line.units_left|plural:"została,zostały,zostało" }} tylko {{ line.units_left }} {{ '
            'line.units_left|plural:"sztuka,sztuki,sztuk" }}{% endif %}\n'
            "{% endfor %}{% if has_sold_out %}Części produktów nie ma już w magazynie.\n"
            "{% endif %}\n"
            "{% if coupon %}Odbierz rabat{% else %}Wróć do koszyka{% endif %}: {{ restore_url }}",
        },
    ),
    (
        "en",
        {
            "html_body": "<p>Hi {{ greeting_name }}!</p><p>Your cart is still waiting. Here is a discount code{% if "
            "coupon %} <strong>{{ coupon.code }}</strong> ({{ coupon.label }}), valid until {{ "
            'coupon.expires_at|date:"Y-m-d H:i" }}{% endif %} – we apply it for you when you return to '
            'your cart.</p><table role="presentation" width="100%" cellspacing="0" cellpadding="0" '
            'style="margin:16px 0">\n'
            "{% for line in lines %}<tr>\n"
            '<td width="72" style="padding:8px 8px 8px 0;vertical-align:top">{% if line.image_url %}<img '
            'src="{{ line.image_url }}" width="64" alt="{{ line.name }}" '
            'style="border-radius:4px;display:block">{% endif %}</td>\n'
            '<td style="padding:8px 0;vertical-align:top"><a href="{{ line.url }}" '
            'style="color:#1d2330;font-weight:bold">{{ line.name }}</a>{% if line.variant_name %} · {{ '
            "line.variant_name }}{% endif %}<br>\n"
            '{{ line.quantity }} × {% if line.price_dropped %}<s style="color:#5b6475">{{ '
            'line.price_when_abandoned }}</s> <strong style="color:#0a7a3d">{{ line.unit_price }} {{ '
            'currency }}</strong> <span style="color:#0a7a3d">({{ line.price_drop }} {{ currency }} '
            "less)</span>{% else %}{{ line.unit_price }} {{ currency }}{% endif %}\n"
            '{% if line.sold_out %}<br><strong style="color:#b3261e">Sold out – we can no longer send '
            'it.</strong>{% elif line.units_left %}<br><span style="color:#b35c00">Only {{ '
            "line.units_left }} left.</span>{% endif %}\n"
            "</td></tr>{% endfor %}</table>\n"
            '{% if has_sold_out %}<p style="color:#b3261e">Some items have sold out – the restored cart '
            "will hold only what is available.</p>{% endif %}\n"
            "{% if social_proof %}<p>{{ social_proof.count }} people bought “{{ "
            'social_proof.product_name }}” in the last few days.</p>{% endif %}<p style="margin:24px '
            '0"><a href="{{ restore_url }}" style="background:#1f4e79;color:#ffffff;padding:12px '
            '20px;border-radius:6px;text-decoration:none;font-weight:bold">Claim my discount</a></p>{% '
            "if recommendations %}<p><strong>You may also like:</strong></p><ul>{% for p in "
            'recommendations %}<li><a href="{{ p.url }}">{{ p.name }}</a>{% if p.price %} – {{ p.price '
            "}} {{ currency }}{% endif %}</li>{% endfor %}</ul>{% endif %}",
            "subject": "10% off your cart at {{ store.name }}",
            "text_body": "Hi {{ greeting_name }}!\n"
            "\n"
            "Your cart is still waiting.{% if coupon %} Code {{ coupon.code }} ({{ coupon.label }}) "
            'valid until {{ coupon.expires_at|date:"Y-m-d H:i" }}.{% endif %}\n'
            "{% for line in lines %}- {{ line.name }}{% if line.variant_name %} ({{ line.variant_name "
            "}}){% endif %}: {{ line.quantity }} × {{ line.unit_price }} {{ currency }}{% if "
            "line.price_dropped %} (was {{ line.price_when_abandoned }}){% endif %}{% if line.sold_out "
            "%} – SOLD OUT{% elif line.units_left %} – only {{ line.units_left }} left{% endif %}\n"
            "{% endfor %}{% if has_sold_out %}Some items have sold out.\n"
            "{% endif %}\n"
            "Claim your discount: {{ restore_url }}",
        },
        {
            "html_body": "<p>{{ greeting }}</p><p>Your cart is still waiting.{% if coupon %} Here is a discount code, "
            "<strong>{{ coupon.code }}</strong> ({{ coupon.label }}){% if coupon.expires_at %}, valid "
            'until {{ coupon.expires_at|date:"d.m.Y, H:i" }}{% endif %} – we apply it for you when you '
            'return to your cart.{% endif %}</p><table role="presentation" width="100%" cellspacing="0" '
            'cellpadding="0" style="margin:16px 0">\n'
            "{% for line in lines %}<tr>\n"
            '<td width="72" style="padding:8px 8px 8px 0;vertical-align:top">{% if line.image_url %}<img '
            'src="{{ line.image_url }}" width="64" alt="{{ line.name }}" '
            'style="border-radius:4px;display:block">{% endif %}</td>\n'
            '<td style="padding:8px 0;vertical-align:top"><a href="{{ line.url }}" '
            'style="color:#1d2330;font-weight:bold">{{ line.name }}</a>{% if line.variant_name %} · {{ '
            "line.variant_name }}{% endif %}<br>\n"
            '{{ line.quantity }} × {% if line.price_dropped %}<s style="color:#5b6475">{{ '
            'line.price_when_abandoned|money:currency }}</s> <strong style="color:#0a7a3d">{{ '
            'line.unit_price|money:currency }}</strong> <span style="color:#0a7a3d">({{ '
            "line.price_drop|money:currency }} less)</span>{% else %}{{ line.unit_price|money:currency "
            "}}{% endif %}\n"
            '{% if line.sold_out %}<br><strong style="color:#b3261e">Sold out – we can no longer send '
            'it.</strong>{% elif line.units_left %}<br><span style="color:#b35c00">Only {{ '
            "line.units_left }} left.</span>{% endif %}\n"
            "</td></tr>{% endfor %}</table>\n"
            '{% if has_sold_out %}<p style="color:#b3261e">Some items have sold out – your cart will '
            "hold only what is still available.</p>{% endif %}\n"
            "{% if social_proof %}<p>{{ social_proof.count }} {{ "
            'social_proof.count|plural:"person,people" }} bought “{{ social_proof.product_name }}” in '
            'the last few days.</p>{% endif %}<p style="margin:24px 0"><a href="{{ restore_url }}" '
            'style="background:#1f4e79;color:#ffffff;padding:12px '
            '20px;border-radius:6px;text-decoration:none;font-weight:bold;display:inline-block">{% if '
            "coupon %}Claim my discount{% else %}Back to my cart{% endif %}</a></p>{% if recommendations "
            "%}<p><strong>You may also like:</strong></p><ul>{% for p in recommendations %}<li><a "
            'href="{{ p.url }}">{{ p.name }}</a>{% if p.price %} – {{ p.price|money:currency }}{% endif '
            "%}</li>{% endfor %}</ul>{% endif %}",
            "subject": "10% off your cart at {{ store.name }}",
            "text_body": "{{ greeting }}\n"
            "\n"
            "Your cart is still waiting.{% if coupon %} Here is a discount code, {{ coupon.code }} ({{ "
            'coupon.label }}){% if coupon.expires_at %}, valid until {{ coupon.expires_at|date:"d.m.Y, '
            'H:i" }}{% endif %} – we apply it for you when you return to your cart.{% endif %}\n'
            "{% for line in lines %}- {{ line.name }}{% if line.variant_name %} ({{ line.variant_name "
            "}}){% endif %}: {{ line.quantity }} × {{ line.unit_price|money:currency }}{% if "
            "line.price_dropped %} (was {{ line.price_when_abandoned|money:currency }}){% endif %}{% if "
            "line.sold_out %} – sold out{% elif line.units_left %} – only {{ line.units_left }} left{% "
            "endif %}\n"
            "{% endfor %}{% if has_sold_out %}Some items have sold out.\n"
            "{% endif %}\n"
            "{% if coupon %}Claim your discount{% else %}Back to your cart{% endif %}: {{ restore_url "
            "}}",
        },
    ),
    (
        "pl",
        {
            "html_body": "<p>Cześć {{ greeting_name }}!</p><p>To nasze ostatnie przypomnienie – potem koszyk "
            'przestanie na Ciebie czekać.</p><table role="presentation" width="100%" cellspacing="0" '
            'cellpadding="0" style="margin:16px 0">\n'
            "{% for line in lines %}<tr>\n"
            '<td width="72" style="padding:8px 8px 8px 0;vertical-align:top">{% if line.image_url %}<img '
            'src="{{ line.image_url }}" width="64" alt="{{ line.name }}" '
            'style="border-radius:4px;display:block">{% endif %}</td>\n'
            '<td style="padding:8px 0;vertical-align:top"><a href="{{ line.url }}" '
            'style="color:#1d2330;font-weight:bold">{{ line.name }}</a>{% if line.variant_name %} · {{ '
            "line.variant_name }}{% endif %}<br>\n"
            '{{ line.quantity }} × {% if line.price_dropped %}<s style="color:#5b6475">{{ '
            'line.price_when_abandoned }}</s> <strong style="color:#0a7a3d">{{ line.unit_price }} {{ '
            'currency }}</strong> <span style="color:#0a7a3d">(taniej o {{ line.price_drop }} {{ '
            "currency }})</span>{% else %}{{ line.unit_price }} {{ currency }}{% endif %}\n"
            '{% if line.sold_out %}<br><strong style="color:#b3261e">Wyprzedane – nie możemy go już '
            'wysłać.</strong>{% elif line.units_left %}<br><span style="color:#b35c00">Zostały tylko {{ '
            "line.units_left }} szt.</span>{% endif %}\n"
            "</td></tr>{% endfor %}</table>\n"
            '{% if has_sold_out %}<p style="color:#b3261e">Część produktów została wyprzedana – po '
            "przywróceniu koszyka zobaczysz tylko dostępne.</p>{% endif %}\n"
            "{% if social_proof %}<p>{{ social_proof.count }} osób kupiło „{{ social_proof.product_name "
            '}}” w ostatnich dniach.</p>{% endif %}<p style="margin:24px 0"><a href="{{ restore_url }}" '
            'style="background:#1f4e79;color:#ffffff;padding:12px '
            '20px;border-radius:6px;text-decoration:none;font-weight:bold">Dokończ zakupy</a></p>{% if '
            "recommendations %}<p><strong>Może Ci się spodobać:</strong></p><ul>{% for p in "
            'recommendations %}<li><a href="{{ p.url }}">{{ p.name }}</a>{% if p.price %} – {{ p.price '
            "}} {{ currency }}{% endif %}</li>{% endfor %}</ul>{% endif %}",
            "subject": "Ostatnie przypomnienie o Twoim koszyku",
            "text_body": "Cześć {{ greeting_name }}!\n"
            "\n"
            "To nasze ostatnie przypomnienie o koszyku:\n"
            "{% for line in lines %}- {{ line.name }}{% if line.variant_name %} ({{ line.variant_name "
            "}}){% endif %}: {{ line.quantity }} × {{ line.unit_price }} {{ currency }}{% if "
            "line.price_dropped %} (było {{ line.price_when_abandoned }}){% endif %}{% if line.sold_out "
            "%} – WYPRZEDANE{% elif line.units_left %} – zostały {{ line.units_left }} szt.{% endif %}\n"
            "{% endfor %}{% if has_sold_out %}Część produktów została wyprzedana.\n"
            "{% endif %}\n"
            "Dokończ zakupy: {{ restore_url }}",
        },
        {
            "html_body": "<p>{{ greeting }}</p><p>To nasze ostatnie przypomnienie – potem koszyk przestanie na Ciebie "
            'czekać.</p><table role="presentation" width="100%" cellspacing="0" cellpadding="0" '
            'style="margin:16px 0">\n'
            "{% for line in lines %}<tr>\n"
            '<td width="72" style="padding:8px 8px 8px 0;vertical-align:top">{% if line.image_url %}<img '
            'src="{{ line.image_url }}" width="64" alt="{{ line.name }}" '
            'style="border-radius:4px;display:block">{% endif %}</td>\n'
            '<td style="padding:8px 0;vertical-align:top"><a href="{{ line.url }}" '
            'style="color:#1d2330;font-weight:bold">{{ line.name }}</a>{% if line.variant_name %} · {{ '
            "line.variant_name }}{% endif %}<br>\n"
            '{{ line.quantity }} × {% if line.price_dropped %}<s style="color:#5b6475">{{ '
            'line.price_when_abandoned|money:currency }}</s> <strong style="color:#0a7a3d">{{ '
            'line.unit_price|money:currency }}</strong> <span style="color:#0a7a3d">(taniej o {{ '
            "line.price_drop|money:currency }})</span>{% else %}{{ line.unit_price|money:currency }}{% "
            "endif %}\n"
            '{% if line.sold_out %}<br><strong style="color:#b3261e">Brak w magazynie – tego produktu '
            'nie możemy już wysłać.</strong>{% elif line.units_left %}<br><span style="color:#b35c00">{{ '
            'line.units_left|plural:"Została,Zostały,Zostało" }} tylko {{ line.units_left }} {{ '
            'line.units_left|plural:"sztuka,sztuki,sztuk" }}.</span>{% endif %}\n'
            "</td></tr>{% endfor %}</table>\n"
            '{% if has_sold_out %}<p style="color:#b3261e">Części produktów nie ma już w magazynie – po '
            "powrocie do koszyka zobaczysz tylko dostępne.</p>{% endif %}\n"
            '{% if social_proof %}<p>{{ social_proof.count }} {{ social_proof.count|plural:"osoba '
            'kupiła,osoby kupiły,osób kupiło" }} produkt „{{ social_proof.product_name }}” w ostatnich '
            'dniach.</p>{% endif %}<p style="margin:24px 0"><a href="{{ restore_url }}" '
            'style="background:#1f4e79;color:#ffffff;padding:12px '
            '20px;border-radius:6px;text-decoration:none;font-weight:bold;display:inline-block">Dokończ '
            "zakupy</a></p>{% if recommendations %}<p><strong>Może Ci się spodobać:</strong></p><ul>{% "
            'for p in recommendations %}<li><a href="{{ p.url }}">{{ p.name }}</a>{% if p.price %} – {{ '
            "p.price|money:currency }}{% endif %}</li>{% endfor %}</ul>{% endif %}",
            "subject": "Ostatnie przypomnienie o Twoim koszyku – {{ store.name }}",
            "text_body": "{{ greeting }}\n"
            "\n"
            "To nasze ostatnie przypomnienie o koszyku:\n"
            "{% for line in lines %}- {{ line.name }}{% if line.variant_name %} ({{ line.variant_name "
            "}}){% endif %}: {{ line.quantity }} × {{ line.unit_price|money:currency }}{% if "
            "line.price_dropped %} (wcześniej {{ line.price_when_abandoned|money:currency }}){% endif "
            "%}{% if line.sold_out %} – brak w magazynie{% elif line.units_left %} – {{ "
            'line.units_left|plural:"została,zostały,zostało" }} tylko {{ line.units_left }} {{ '
            'line.units_left|plural:"sztuka,sztuki,sztuk" }}{% endif %}\n'
            "{% endfor %}{% if has_sold_out %}Części produktów nie ma już w magazynie.\n"
            "{% endif %}\n"
            "Dokończ zakupy: {{ restore_url }}",
        },
    ),
    (
        "en",
        {
            "html_body": "<p>Hi {{ greeting_name }}!</p><p>This is our last reminder – after this your cart stops "
            'waiting for you.</p><table role="presentation" width="100%" cellspacing="0" cellpadding="0" '
            'style="margin:16px 0">\n'
            "{% for line in lines %}<tr>\n"
            '<td width="72" style="padding:8px 8px 8px 0;vertical-align:top">{% if line.image_url %}<img '
            'src="{{ line.image_url }}" width="64" alt="{{ line.name }}" '
            'style="border-radius:4px;display:block">{% endif %}</td>\n'
            '<td style="padding:8px 0;vertical-align:top"><a href="{{ line.url }}" '
            'style="color:#1d2330;font-weight:bold">{{ line.name }}</a>{% if line.variant_name %} · {{ '
            "line.variant_name }}{% endif %}<br>\n"
            '{{ line.quantity }} × {% if line.price_dropped %}<s style="color:#5b6475">{{ '
            'line.price_when_abandoned }}</s> <strong style="color:#0a7a3d">{{ line.unit_price }} {{ '
            'currency }}</strong> <span style="color:#0a7a3d">({{ line.price_drop }} {{ currency }} '
            "less)</span>{% else %}{{ line.unit_price }} {{ currency }}{% endif %}\n"
            '{% if line.sold_out %}<br><strong style="color:#b3261e">Sold out – we can no longer send '
            'it.</strong>{% elif line.units_left %}<br><span style="color:#b35c00">Only {{ '
            "line.units_left }} left.</span>{% endif %}\n"
            "</td></tr>{% endfor %}</table>\n"
            '{% if has_sold_out %}<p style="color:#b3261e">Some items have sold out – the restored cart '
            "will hold only what is available.</p>{% endif %}\n"
            "{% if social_proof %}<p>{{ social_proof.count }} people bought “{{ "
            'social_proof.product_name }}” in the last few days.</p>{% endif %}<p style="margin:24px '
            '0"><a href="{{ restore_url }}" style="background:#1f4e79;color:#ffffff;padding:12px '
            '20px;border-radius:6px;text-decoration:none;font-weight:bold">Finish my order</a></p>{% if '
            "recommendations %}<p><strong>You may also like:</strong></p><ul>{% for p in recommendations "
            '%}<li><a href="{{ p.url }}">{{ p.name }}</a>{% if p.price %} – {{ p.price }} {{ currency '
            "}}{% endif %}</li>{% endfor %}</ul>{% endif %}",
            "subject": "A last reminder about your cart",
            "text_body": "Hi {{ greeting_name }}!\n"
            "\n"
            "This is our last reminder about your cart:\n"
            "{% for line in lines %}- {{ line.name }}{% if line.variant_name %} ({{ line.variant_name "
            "}}){% endif %}: {{ line.quantity }} × {{ line.unit_price }} {{ currency }}{% if "
            "line.price_dropped %} (was {{ line.price_when_abandoned }}){% endif %}{% if line.sold_out "
            "%} – SOLD OUT{% elif line.units_left %} – only {{ line.units_left }} left{% endif %}\n"
            "{% endfor %}{% if has_sold_out %}Some items have sold out.\n"
            "{% endif %}\n"
            "Finish your order: {{ restore_url }}",
        },
        {
            "html_body": "<p>{{ greeting }}</p><p>This is our last reminder – after this your cart stops waiting for "
            'you.</p><table role="presentation" width="100%" cellspacing="0" cellpadding="0" '
            'style="margin:16px 0">\n'
            "{% for line in lines %}<tr>\n"
            '<td width="72" style="padding:8px 8px 8px 0;vertical-align:top">{% if line.image_url %}<img '
            'src="{{ line.image_url }}" width="64" alt="{{ line.name }}" '
            'style="border-radius:4px;display:block">{% endif %}</td>\n'
            '<td style="padding:8px 0;vertical-align:top"><a href="{{ line.url }}" '
            'style="color:#1d2330;font-weight:bold">{{ line.name }}</a>{% if line.variant_name %} · {{ '
            "line.variant_name }}{% endif %}<br>\n"
            '{{ line.quantity }} × {% if line.price_dropped %}<s style="color:#5b6475">{{ '
            'line.price_when_abandoned|money:currency }}</s> <strong style="color:#0a7a3d">{{ '
            'line.unit_price|money:currency }}</strong> <span style="color:#0a7a3d">({{ '
            "line.price_drop|money:currency }} less)</span>{% else %}{{ line.unit_price|money:currency "
            "}}{% endif %}\n"
            '{% if line.sold_out %}<br><strong style="color:#b3261e">Sold out – we can no longer send '
            'it.</strong>{% elif line.units_left %}<br><span style="color:#b35c00">Only {{ '
            "line.units_left }} left.</span>{% endif %}\n"
            "</td></tr>{% endfor %}</table>\n"
            '{% if has_sold_out %}<p style="color:#b3261e">Some items have sold out – your cart will '
            "hold only what is still available.</p>{% endif %}\n"
            "{% if social_proof %}<p>{{ social_proof.count }} {{ "
            'social_proof.count|plural:"person,people" }} bought “{{ social_proof.product_name }}” in '
            'the last few days.</p>{% endif %}<p style="margin:24px 0"><a href="{{ restore_url }}" '
            'style="background:#1f4e79;color:#ffffff;padding:12px '
            '20px;border-radius:6px;text-decoration:none;font-weight:bold;display:inline-block">Finish '
            "my order</a></p>{% if recommendations %}<p><strong>You may also like:</strong></p><ul>{% "
            'for p in recommendations %}<li><a href="{{ p.url }}">{{ p.name }}</a>{% if p.price %} – {{ '
            "p.price|money:currency }}{% endif %}</li>{% endfor %}</ul>{% endif %}",
            "subject": "A last reminder about your cart at {{ store.name }}",
            "text_body": "{{ greeting }}\n"
            "\n"
            "This is our last reminder about your cart:\n"
            "{% for line in lines %}- {{ line.name }}{% if line.variant_name %} ({{ line.variant_name "
            "}}){% endif %}: {{ line.quantity }} × {{ line.unit_price|money:currency }}{% if "
            "line.price_dropped %} (was {{ line.price_when_abandoned|money:currency }}){% endif %}{% if "
            "line.sold_out %} – sold out{% elif line.units_left %} – only {{ line.units_left }} left{% "
            "endif %}\n"
            "{% endfor %}{% if has_sold_out %}Some items have sold out.\n"
            "{% endif %}\n"
            "Finish your order: {{ restore_url }}",
        },
    ),
]


def _swap(apps, *, backwards: bool) -> None:
    StepTemplate = apps.get_model("recovery", "StepTemplate")
    replacements = {}
    for language, old, new in TEXTS:
        before, after = (new, old) if backwards else (old, new)
        for field in FIELDS:
            replacements[(language, field, before[field])] = after[field]
    for template in StepTemplate.objects.all().iterator():
        changed = []
        for field in FIELDS:
            replacement = replacements.get((template.language, field, getattr(template, field)))
            if replacement is not None:
                setattr(template, field, replacement)
                changed.append(field)
        if changed:
            template.save(update_fields=changed)


def forwards(apps, schema_editor):
    _swap(apps, backwards=False)


def backwards(apps, schema_editor):
    _swap(apps, backwards=True)


class Migration(migrations.Migration):
    dependencies = [
        ("recovery", "0003_tracked_cart_cancelled_state"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
