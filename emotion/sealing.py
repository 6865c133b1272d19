"""Sealing camera frames for the broker: AES-256-GCM with a key that never enters the broker.

The API seals each frame with its consent's key (``Consent.frame_key``, in the database)
before queueing it; the worker opens it only after finding the consent still active.
Withdrawing deletes the consent row and its key in the erasure transaction, so frames
still queued, redelivered, or kept in the broker's append-only file become unreadable at
once. The message metadata (view and sequence) is bound in as associated data, so a
sealed frame cannot be replayed under another view.
"""

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12

__all__ = ["InvalidTag", "new_key", "open_frame", "seal_frame"]


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def _context(view_pk: int, sequence: int) -> bytes:
    return f"frame:{view_pk}:{sequence}".encode()


def seal_frame(key: bytes, frame: bytes, view_pk: int, sequence: int) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(bytes(key)).encrypt(nonce, frame, _context(view_pk, sequence))


def open_frame(key: bytes, sealed: bytes, view_pk: int, sequence: int) -> bytes:
    """The frame's bytes; raises ``InvalidTag`` for a wrong key, other metadata or tampering."""
    return AESGCM(bytes(key)).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], _context(view_pk, sequence))
