import factory

from shop.models import Store, User


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store
        django_get_or_create = ("domain",)

    name = factory.Sequence(lambda n: f"Sklep {n}")
    domain = factory.Sequence(lambda n: f"sklep{n}.example.pl")
    currency = "PLN"
    default_language = "pl"
    timezone = "Europe/Warsaw"
    sender_email = factory.LazyAttribute(lambda o: f"sklep@{o.domain}")
    # A store issues invoices only with its company data (orders.invoices.check_seller).
    company_name = factory.LazyAttribute(lambda o: f"{o.name} sp. z o.o.")
    company_address = "ul. Prosta 1\n00-001 Warszawa"
    company_tax_id = "5260001246"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    first_name = "Anna"
    last_name = "Nowak"
    password = factory.PostGenerationMethodCall("set_password", "haslo-testowe-123")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class StaffFactory(UserFactory):
    is_staff = True
    # Staff of every store unless a test assigns stores (tests of per-store staff pass
    # all_stores=False and add the user to Store.staff).
    all_stores = True
    email = factory.Sequence(lambda n: f"staff{n}@example.com")


class SuperuserFactory(UserFactory):
    is_staff = True
    is_superuser = True
    email = factory.Sequence(lambda n: f"admin{n}@example.com")
