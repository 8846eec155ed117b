"""Baking: the signed credential carried inside a PNG, in an ``iTXt`` chunk with the keyword
``openbadgecredential`` (Open Badges 3.0 baking), so the image alone can be verified.

Only PNG, written with the standard library (zlib): a chunk is length, type, data and CRC-32.
"""
from __future__ import annotations

import struct
import zlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
KEYWORD = b"openbadgecredential"
BADGE_SIZE = 128
BADGE_RGB = (0x1F, 0x5F, 0xA6)


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of each chunk; ValueError when ``png`` is not a well-formed PNG."""
    if not png.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG image")
    found, offset = [], len(PNG_SIGNATURE)
    while offset < len(png):
        if offset + 8 > len(png):
            raise ValueError("truncated PNG chunk header")
        (length,) = struct.unpack(">I", png[offset:offset + 4])
        kind = png[offset + 4:offset + 8]
        data = png[offset + 8:offset + 8 + length]
        if len(data) != length or offset + 12 + length > len(png):
            raise ValueError("truncated PNG chunk")
        found.append((kind, data))
        offset += 12 + length
    return found


def plain_badge_png() -> bytes:
    """A plain square badge image, when the achievement has no PNG of its own stored here."""
    header = struct.pack(">IIBBBBB", BADGE_SIZE, BADGE_SIZE, 8, 2, 0, 0, 0)
    row = b"\x00" + bytes(BADGE_RGB) * BADGE_SIZE
    return PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(row * BADGE_SIZE)) + chunk(
        b"IEND", b"")


def baked_png(token: str, png: bytes | None = None) -> bytes:
    """``png`` (or the plain badge image) with ``token`` in an iTXt chunk before the image data;
    an ``openbadgecredential`` chunk already there is replaced, never duplicated."""
    parts = [(kind, data) for kind, data in chunks(png or plain_badge_png())
             if not (kind == b"iTXt" and data.startswith(KEYWORD + b"\x00"))]
    # iTXt: keyword, NUL, compression flag 0, method 0, empty language tag and translated keyword (NULs), text.
    itxt = (b"iTXt", KEYWORD + b"\x00\x00\x00\x00\x00" + token.encode())
    at = next(i for i, (kind, _) in enumerate(parts) if kind == b"IDAT")
    parts.insert(at, itxt)
    return PNG_SIGNATURE + b"".join(chunk(kind, data) for kind, data in parts)


def extract_token(png: bytes) -> str | None:
    """The credential baked into ``png``, if any."""
    for kind, data in chunks(png):
        if kind == b"iTXt" and data.startswith(KEYWORD + b"\x00"):
            return data[len(KEYWORD) + 5:].decode()
    return None
