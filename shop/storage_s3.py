"""The S3-compatible backends of shop/storage.py (AWS S3, MinIO, Ceph, Cloudflare R2, ...), in a
module of their own so that boto3 is imported only by a shop that configures a bucket."""

from __future__ import annotations

from storages.backends.s3 import S3Storage

from shop.storage import MAX_PRIVATE_URL_SECONDS


class MediaS3Storage(S3Storage):
    """Public media: plain object URLs (or the CDN's custom domain). The bucket's policy (or the
    CDN in front of it) makes them readable; the shop writes them without an ACL of its own, as
    buckets with ACLs disabled require."""

    def __init__(self, **options):
        options.setdefault("querystring_auth", False)
        options.setdefault("file_overwrite", False)  # two uploads named alike never replace each other
        super().__init__(**options)


class PrivateS3Storage(S3Storage):
    """Private files: never a custom domain, never an unsigned URL; a presigned URL lives at most
    :data:`~shop.storage.MAX_PRIVATE_URL_SECONDS`."""

    def __init__(self, **options):
        options["querystring_auth"] = True
        options["custom_domain"] = None
        options.setdefault("signature_version", "s3v4")  # the expiry is signed (X-Amz-Expires)
        options.setdefault("file_overwrite", False)
        options["querystring_expire"] = _capped(options.get("querystring_expire"))
        super().__init__(**options)

    def url(self, name, parameters=None, expire=None, http_method=None):
        expire = _capped(self.querystring_expire if expire is None else expire)
        return super().url(name, parameters=parameters, expire=expire, http_method=http_method)


def _capped(expire) -> int:
    return max(1, min(int(expire or MAX_PRIVATE_URL_SECONDS), MAX_PRIVATE_URL_SECONDS))
