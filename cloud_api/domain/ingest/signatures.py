"""Manifest signatures: Ed25519 over ``shared_models.signing_bytes(manifest)``."""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from shared_models import IncidentManifest, signing_bytes


def signature_valid(manifest: IncidentManifest, key: Ed25519PublicKey) -> bool:
    if len(manifest.signature) != 64:
        return False
    try:
        key.verify(manifest.signature, signing_bytes(manifest))
    except InvalidSignature:
        return False
    return True
