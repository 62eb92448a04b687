"""The framework's ceiling: a Django project whose one view returns "ok".

Served by the same gunicorn settings as Koszyk and django-oscar (``bench/run.py``), it measures
what Django's request/response cycle plus ``startproject``'s default middleware costs on this
machine, with no database, template or cache work. Every storefront figure is reported as a
fraction of it.
"""
