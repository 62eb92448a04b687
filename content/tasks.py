from celery import shared_task


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def forward_contact_message(message_id: int) -> bool:
    from .contact import forward

    return forward(message_id)
