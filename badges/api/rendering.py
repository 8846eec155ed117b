"""JSON responses rendered with orjson: a progress page of 50 templates is about 40 KB of JSON, and
the standard library's encoder took longer to write it than the view took to build it."""
from __future__ import annotations

from typing import Any

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_UTC_Z
# The UTF-8 bytes that U+2028 and U+2029 (and other characters) start with.
_LINE_SEPARATORS_START = "\u2028".encode()[:2]


class FastJSONRenderer(JSONRenderer):
    """Writes the same JSON as DRF's :class:`JSONRenderer` (compact, UTF-8, UTC times with ``Z``).

    Values orjson does not know (lazy translations, decimals) go through DRF's encoder. Anything
    orjson refuses, and the indented or ASCII-only forms a request or the host's settings ask for,
    are left to DRF's renderer.
    """

    def render(self, data: Any, accepted_media_type: str | None = None,
               renderer_context: dict | None = None) -> bytes:
        if (data is None or not self.compact or self.ensure_ascii
                or self.get_indent(accepted_media_type, renderer_context or {}) is not None):
            return super().render(data, accepted_media_type, renderer_context)
        try:
            rendered = orjson.dumps(data, default=_default, option=_OPTIONS)
        except orjson.JSONEncodeError:
            return super().render(data, accepted_media_type, renderer_context)
        # As DRF does: keep the output a strict subset of JavaScript (one scan when neither occurs).
        if _LINE_SEPARATORS_START in rendered:
            rendered = rendered.replace("\u2028".encode(), b"\\u2028").replace("\u2029".encode(), b"\\u2029")
        return rendered


_encoder = JSONEncoder()


def _default(value: Any) -> Any:
    return _encoder.default(value)
