"""What an id may be: job ids, topics and app ids, checked before any write."""

from __future__ import annotations

import os
import re
from typing import Any

from hotmesh import errors

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,254}$")
#: the manifest schema's rule for app.id (schemas/app.schema.json), so an app a
#: process can init is an app it can deploy; 'a' is reserved (channel names)
_APP_ID = re.compile(r"^[A-Za-z0-9-]{1,255}$")


def uuid4_hex() -> str:
    """``uuid.uuid4().hex`` (32 hex digits, version 4, RFC 4122 variant), built
    straight from the random bytes: a third of the cost, and it runs for every
    job and message."""
    b = bytearray(os.urandom(16))
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    return b.hex()


def check(value: Any, what: str) -> str:
    """``value`` if it is a valid id (job, topic, worker topic...), else ``ConfigError``."""
    if not isinstance(value, str) or not _ID.match(value):
        raise errors.ConfigError(
            f"invalid {what} {value!r}: use 1-255 characters of letters, digits, '_', '.', "
            "':' and '-', starting with a letter or digit"
        )
    return value


def check_app_id(value: Any) -> str:
    """``value`` if it is a valid app id, else ``ConfigError``."""
    if not isinstance(value, str) or not _APP_ID.match(value) or value == "a":
        raise errors.ConfigError(
            f"invalid app id {value!r}: use 1-255 letters, digits and '-' (as a "
            "manifest's app.id); 'a' is reserved"
        )
    return value
