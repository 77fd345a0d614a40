"""Host name glob patterns: validation with reasons, normalisation, and compilation.

Semantics are fnmatch's, applied to normalised (lower-case, IDNA-encoded) names: `*` any run
of characters, dots included (`*.example.com` matches `a.b.example.com` but not
`example.com`); `?` exactly one character; `[a-f]` / `[!0-9]` one character of / not of a
set. A pattern is normalised like a host name (lower-cased, trailing dot dropped, labels
without wildcards IDNA-encoded, runs of `*` collapsed) so that equal patterns are equal text.

The compiled expression uses atomic groups for every `*` but the last (as CPython's own
`fnmatch.translate` does): the earliest place for each fixed-length piece between stars is
always a right one, so matching never backtracks exponentially whatever the pattern.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import idna

from app.matching.identity import MAX_NAME_LENGTH, encode_label

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_+")
_WILDCARD_CHARS = frozenset("*?[]")
_STARS = re.compile(r"\*{2,}")
_DOT_IN_SET = re.compile(r"\[[^\]]*\.")
_NUMERIC_LABEL = re.compile(r"[0-9*?\[\]!-]+")


class GlobError(ValueError):
    """The pattern is not a usable host name glob; the message says why."""


@dataclass(frozen=True, slots=True)
class Glob:
    """A validated glob, ready to match normalised host names."""

    pattern: str
    regex: re.Pattern[str]
    stars: int
    """Count of `*`; fewer is more specific."""
    literal_length: int
    """Characters matched literally (dots included); more is more specific."""
    single_wildcards: int
    """Count of `?` and `[...]`, each matching one character; fewer is more specific."""
    group: tuple[str, str]
    """(anchor, first character): the whole literal labels after the last wildcard, and the
    first character when it is literal, else "". Only names ending in `.anchor` (or any name,
    for an empty anchor) and starting with that character can match."""


def parse_glob(pattern: str) -> Glob:
    """Validate and compile a host name glob; GlobError says what is wrong with it."""
    text = pattern.strip()
    if not text:
        raise GlobError(
            "the pattern is empty: a hostname_glob rule needs a pattern such as *.corp.example.com"
        )
    if not text.isascii():
        try:
            text = idna.uts46_remap(text, std3_rules=False, transitional=False)
        except idna.IDNAError as error:
            message = f"{pattern!r} holds characters not allowed in host names ({error})"
            raise GlobError(message) from error
    text = _STARS.sub("*", text.lower().removesuffix("."))
    if _DOT_IN_SET.search(text):
        raise GlobError(
            f"{pattern!r}: a character set [...] cannot hold '.', which separates labels"
        )
    if not text:
        raise GlobError("the pattern is only a dot: write a name such as *.corp.example.com")
    labels: list[str] = []
    tokens: list[tuple[str, str]] = []  # (kind, regex text): kind "lit", "*", "?" or "[]"
    for label in text.split("."):
        if not label:
            raise GlobError(f"{pattern!r} has an empty label (two dots in a row, or a leading dot)")
        if tokens:
            tokens.append(("lit", r"\."))
        if _WILDCARD_CHARS.isdisjoint(label):
            encoded = encode_label(label)
            if encoded is None:
                raise GlobError(_bad_label(label))
            labels.append(encoded)
            tokens.extend(("lit", re.escape(c)) for c in encoded)
        else:
            labels.append(label)
            tokens.extend(_tokens(label))
    normalised = ".".join(labels)
    if len(normalised) > MAX_NAME_LENGTH:
        raise GlobError(f"the pattern is longer than a host name can be ({MAX_NAME_LENGTH})")
    _refuse_address_pattern(pattern, labels)
    try:
        regex = re.compile(_translate(tokens))
    except re.error as error:
        raise GlobError(f"{pattern!r} has an invalid character set ({error})") from error
    literal = sum(1 for kind, _ in tokens if kind == "lit")
    stars = sum(1 for kind, _ in tokens if kind == "*")
    wild_labels = [i for i, label in enumerate(labels) if not _WILDCARD_CHARS.isdisjoint(label)]
    anchor = ".".join(labels[wild_labels[-1] + 1 :]) if wild_labels else normalised
    first = normalised[0] if tokens[0][0] == "lit" else ""
    return Glob(normalised, regex, stars, literal, len(tokens) - literal - stars, (anchor, first))


def _tokens(label: str) -> Iterator[tuple[str, str]]:
    """(kind, regex text) of each token of a label holding wildcards."""
    i = 0
    while i < len(label):
        char = label[i]
        if char == "*":
            yield "*", ".*"
        elif char == "?":
            yield "?", "."
        elif char == "[":
            end = label.find("]", i + 1)
            if end == -1:
                raise GlobError(f"'[' without a closing ']' in {label!r}")
            body = label[i + 1 : end]
            negate = body.startswith("!")
            members = body[1:] if negate else body
            if not members:
                raise GlobError(f"empty character set '[{body}]' in {label!r}")
            if not _NAME_CHARS.issuperset(members):
                raise GlobError(
                    f"a character set may hold only letters, digits, '-', '_' and '+', "
                    f"not '[{body}]' in {label!r}"
                )
            yield "[]", "[" + ("^" if negate else "") + members + "]"
            i = end
        elif char == "]":
            raise GlobError(f"']' without an opening '[' in {label!r}")
        elif char in _NAME_CHARS:
            yield "lit", re.escape(char)
        else:
            raise GlobError(_bad_char(char))
        i += 1


def _translate(tokens: list[tuple[str, str]]) -> str:
    """A regex for fullmatch: the pieces between stars, with all but the last star atomic."""
    segments: list[list[str]] = [[]]
    for kind, text in tokens:
        if kind == "*":
            segments.append([])
        else:
            segments[-1].append(text)
    texts = ["".join(segment) for segment in segments]
    if len(texts) == 1:
        return texts[0]
    middle = "".join(f"(?>.*?{text})" for text in texts[1:-1])
    return f"{texts[0]}{middle}.*{texts[-1]}"


def _bad_char(char: str) -> str:
    if char in ":/":
        return (
            f"{char!r} is not allowed in a host name glob; address ranges are cidr rules "
            "(e.g. 10.20.0.0/16 or 2001:db8::/32)"
        )
    if not char.isascii():
        return (
            f"{char!r} in a label with wildcards: write such labels in ASCII "
            "(their xn-- form for international names)"
        )
    return (
        f"{char!r} is not allowed in a host name glob: use letters, digits, '-', '_', '+', "
        "dots between labels, and the wildcards *, ? and [...]"
    )


def _bad_label(label: str) -> str:
    for char in label:
        if char not in _NAME_CHARS and char.isascii():
            return _bad_char(char)
    return (
        f"{label!r} is not a host name label: use letters, digits, '-', '_' and '+', "
        "at most 63 characters"
    )


def _refuse_address_pattern(pattern: str, labels: list[str]) -> None:
    """Globs match names only; a pattern made of numbers is meant for addresses."""
    if not all(_NUMERIC_LABEL.fullmatch(label) for label in labels):
        return
    if not any(c.isdigit() for label in labels for c in label):
        return
    octets = [label for label in labels if label.isdigit()]
    rest = labels[len(octets) :]
    if 1 <= len(octets) <= 3 and all(int(o) <= 255 for o in octets) and rest == ["*"] * len(rest):
        network = ".".join(octets + ["0"] * (4 - len(octets))) + f"/{8 * len(octets)}"
        suggestion = f"use a cidr rule with {network}"
    else:
        suggestion = "use a cidr rule such as 10.20.0.0/16"
    raise GlobError(
        f"{pattern.strip()!r} looks like an IP address pattern, but host name globs match "
        f"names only: {suggestion}"
    )
