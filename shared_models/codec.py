"""msgpack encode / decode for every wire message, with one typed error for anything bad."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

from shared_models.messages import SCHEMA_VERSION, IncidentManifest, Message

T = TypeVar("T")

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Message)


class WireError(ValueError):
    """A payload that is not a valid message of the expected type and schema version.

    ``reason`` is a short, stable label (``malformed``, ``unknown_type``, ``invalid``,
    ``unsupported_version``, ``unexpected_type``) that receivers use to count rejections.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def encode(message: msgspec.Struct) -> bytes:
    return _encoder.encode(message)


def decode(payload: bytes | memoryview, expected: type[T] | Any = Message) -> T:
    """Decode ``payload`` as ``expected`` (one Struct or a union of them; any message by default).

    Raises WireError for bytes that are not msgpack, a missing or unknown ``type`` tag, a field that is
    missing, unknown or out of range, a message of another type than expected, or another schema version.
    """
    try:
        message = _decoder.decode(payload)
    except msgspec.ValidationError as exc:
        text = str(exc)
        tag_problem = "`$.type`" in text or "field `type`" in text or "Expected `object`" in text
        raise WireError("unknown_type" if tag_problem else "invalid", text) from None
    except msgspec.DecodeError as exc:
        raise WireError("malformed", str(exc)) from None
    if message.v != SCHEMA_VERSION:
        raise WireError("unsupported_version", f"schema version {message.v}, this side speaks {SCHEMA_VERSION}")
    if not isinstance(message, expected):
        raise WireError("unexpected_type", f"got {type(message).__name__}, expected {expected}")
    return message


def signing_bytes(manifest: IncidentManifest) -> bytes:
    """The exact bytes a device signs: the manifest encoded with an empty signature.

    Signing the whole manifest (not just the clip hash) binds the device id, incident id, times and
    chunk hashes to the device key, so none of them can be altered or replayed under another id.
    """
    return encode(msgspec.structs.replace(manifest, signature=b""))
