"""Shared by read_delta.py and write_delta.py: storage options and JSON."""

import base64
import datetime
import decimal
import math
import os

# The object_store settings the functions get (see meander_e2e::moto::env_for_function).
_KEYS = (
    "AWS_ENDPOINT_URL",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ALLOW_HTTP",
)


def storage_options(uri):
    """Storage options for `uri`: the AWS_* variables for s3://, none otherwise."""
    if not uri.startswith(("s3://", "s3a://")):
        return None
    opts = {k: os.environ[k] for k in _KEYS if os.environ.get(k)}
    opts.setdefault("AWS_REGION", "us-east-1")
    return opts


def plain(v):
    """A pyarrow-produced Python value as JSON: bytes -> base64, dates and
    times -> ISO 8601, decimals -> strings, NaN/inf -> strings."""
    if isinstance(v, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(v)).decode("ascii")
    if isinstance(v, (datetime.datetime, datetime.date, datetime.time)):
        return v.isoformat()
    if isinstance(v, datetime.timedelta):
        return v.total_seconds()
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return v
