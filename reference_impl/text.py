"""Text helpers whose exact semantics the contract fixes."""

from __future__ import annotations

from typing import Final

# Unicode White_Space: what Rust's char::is_whitespace (and so str::trim)
# strips. Python's str.strip() would also strip U+001C..U+001F.
WHITE_SPACE: Final = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)


def rust_trim(text: str) -> str:
    return text.strip(WHITE_SPACE)


def cut(text: str, limit: int) -> str:
    """The first ``limit`` Unicode scalar values of ``text``.

    A Python str indexes code points; every str here comes from UTF-8 or from
    the contract's parser, which rejects lone surrogates, so code points are
    scalar values and no character is ever split.
    """
    return text[:limit]
