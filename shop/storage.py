"""Where files live: public media, private files and backups, on disk or on an S3-compatible store.

Three ``STORAGES`` aliases (shop/settings.py builds them from the environment):

- ``default``: public media (product images and their thumbnails). On disk under ``MEDIA_ROOT``,
  or ``MediaS3Storage`` (``MEDIA_STORAGE=s3``, shop/storage_s3.py): plain object URLs, or the CDN's
  ``AWS_S3_CUSTOM_DOMAIN``.
- ``private``: digital goods, invoices and corrections, report exports, uploaded wholesaler feeds.
  On disk under ``PRIVATE_ROOT`` (:class:`PrivateFileSystemStorage`, which refuses to build a
  URL) or ``PrivateS3Storage`` (objects written with a private ACL; the only URL it builds is
  a presigned one that expires within :data:`MAX_PRIVATE_URL_SECONDS`). Files leave only through
  the shop's views that check a signed token or a staff permission (:func:`private_download`).
- ``backups``: encrypted backup archives (shop/backup.py), ``BACKUP_DIR`` or a bucket.

Every read and write goes through the storage API (``open``, ``save``, ``delete``, ``exists``,
``listdir``), never through a local path, so a worker on one machine reads what the web server on
another wrote.

Model fields hold :data:`private_storage`, a :class:`PrivateStorage`: it stands for whatever
``STORAGES["private"]`` is at the moment of the call, and deconstructs to the same path the
migrations already name, so moving the files to a bucket needs no migration.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import FileSystemStorage, storages
from django.http import FileResponse, HttpResponseRedirect
from django.utils.deconstruct import deconstructible

# A presigned link to a private object never lives longer than this (seconds).
MAX_PRIVATE_URL_SECONDS = 300


# --- on disk ---------------------------------------------------------------------------------------


class PrivateFileSystemStorage(FileSystemStorage):
    """``PRIVATE_ROOT`` on this machine's disk (the embedded default). No URL, ever."""

    @property
    def base_location(self):
        return str(settings.PRIVATE_ROOT)

    @property
    def location(self):
        return os.path.abspath(self.base_location)

    def url(self, name, *args, **kwargs):
        raise ValueError("Private files have no public URL; serve them through a checked view.")


class BackupFileSystemStorage(FileSystemStorage):
    """``BACKUP_DIR`` on this machine's disk."""

    @property
    def base_location(self):
        return str(settings.BACKUP_DIR)

    @property
    def location(self):
        return os.path.abspath(self.base_location)

    def url(self, name, *args, **kwargs):
        raise ValueError("Backups have no URL.")


def presigns(storage) -> bool:
    """Whether ``storage`` can hand out a short-lived presigned URL (an S3 bucket can)."""
    return hasattr(storage, "bucket_name") and getattr(storage, "querystring_auth", False)


# --- what the models hold ------------------------------------------------------------------------


@deconstructible(path="shop.storage.PrivateStorage")
class PrivateStorage:
    """Stands for ``STORAGES["private"]``: every attribute is looked up on the configured backend
    at the time of the call (settings overridden in tests or read from the environment apply)."""

    @staticmethod
    def backend():
        backend = storages["private"]
        if isinstance(backend, PrivateStorage):
            raise ImproperlyConfigured(
                'STORAGES["private"] must name a real backend, e.g. shop.storage.PrivateFileSystemStorage.'
            )
        return backend

    def __getattr__(self, name):
        return getattr(self.backend(), name)

    def __eq__(self, other):
        return isinstance(other, PrivateStorage)

    def __hash__(self):
        return hash(PrivateStorage)


private_storage = PrivateStorage()


def private_download(name: str, *, filename: str, storage=None, content_type: str | None = None):
    """The answer of a checked download view for a private file (its token or permission has been
    checked already): a redirect to a presigned URL that expires within five minutes when the file
    is in a bucket and ``PRIVATE_DOWNLOAD_REDIRECT`` is on, else the file streamed from storage."""
    storage = storage or private_storage
    backend = storage.backend() if isinstance(storage, PrivateStorage) else storage
    if settings.PRIVATE_DOWNLOAD_REDIRECT and presigns(backend):
        disposition = f"attachment; filename*=UTF-8''{_quote(filename)}"
        params = {"ResponseContentDisposition": disposition}
        if content_type:
            params["ResponseContentType"] = content_type
        response = HttpResponseRedirect(storage.url(name, parameters=params))
    else:
        fh = storage.open(name, "rb")
        response = FileResponse(fh, as_attachment=True, filename=filename, content_type=content_type)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")
