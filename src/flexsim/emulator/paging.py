"""List envelopes: ``{"meta": {...}, "<key>": [...]}`` with absolute page URLs and PageTokens.

The token is opaque to clients; here it is ``PT`` plus the offset of the page's first
record. ``next_page_url`` points back at the emulator and keeps the caller's filters, so
the SDK's ``list()``/``stream()`` follow it as they would on Twilio. ``Page`` > 0 without a
``PageToken`` (absolute paging) answers 400/40153, as Twilio has done since 2021.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence
from urllib.parse import urlencode

from werkzeug.datastructures import MultiDict

from flexsim.emulator.errors import BadRequest

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


def _page_size(args: MultiDict) -> int:
    raw = args.get("PageSize")
    if raw is None:
        return DEFAULT_PAGE_SIZE
    try:
        size = int(raw)
    except ValueError:
        raise BadRequest(f"Invalid value for PageSize: {raw!r} is not an integer") from None
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise BadRequest(f"PageSize must be between 1 and {MAX_PAGE_SIZE}, not {size}")
    return size


def _offset(args: MultiDict) -> tuple[int, int]:
    """(page number, offset of the first record) from Page and PageToken."""
    try:
        page = int(args.get("Page", "0"))
    except ValueError:
        raise BadRequest(f"Invalid value for Page: {args.get('Page')!r} is not an integer") from None
    token = args.get("PageToken")
    if token is None:
        if page > 0:
            raise BadRequest("Absolute paging (Page without PageToken) is not supported; follow next_page_url",
                             code=40153)
        return max(page, 0), 0
    if not (token.startswith("PT") and token[2:].isdigit()):
        raise BadRequest(f"Invalid PageToken {token!r}")
    return max(page, 0), int(token[2:])


def page_envelope(items: Sequence[Any], *, key: str, serialize: Callable[[Any], dict[str, Any]],
                  base_url: str, path: str, args: MultiDict) -> dict[str, Any]:
    """Slice ``items`` per the request's paging parameters and wrap the page in ``meta``.

    :param key: the envelope key (``workers``, ``channels``, ...), also ``meta.key``.
    :param serialize: turns one record into its wire dict (called for this page only).
    :param base_url: the emulator's ``http://host:port`` as the client reached it.
    :param path: the request path (``/v1/Workspaces/WS…/Workers``).
    :param args: the query parameters, filters included.
    """
    size = _page_size(args)
    page, offset = _offset(args)
    filters = [(k, v) for k, values in args.lists() if k not in ("PageSize", "Page", "PageToken") for v in values]

    def link(page_no: int, start: int | None) -> str:
        query = [*filters, ("PageSize", str(size)), ("Page", str(page_no))]
        if start is not None:
            query.append(("PageToken", f"PT{start}"))
        return f"{base_url}{path}?{urlencode(query)}"

    chunk = items[offset:offset + size]
    has_next = offset + size < len(items)
    return {
        "meta": {
            "first_page_url": link(0, None),
            "key": key,
            "next_page_url": link(page + 1, offset + size) if has_next else None,
            "page": page,
            "page_size": size,
            "previous_page_url": link(page - 1, max(0, offset - size)) if page > 0 else None,
            "url": link(page, offset if "PageToken" in args else None),
        },
        key: [serialize(item) for item in chunk],
    }
