"""A small reader of nginx configuration files: directives with their arguments and blocks.

Enough for the tests to ask structural questions (which locations exist, what a location
passes to, which headers it sets); nginx itself checks the syntax (`nginx -t`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

TOKEN = re.compile(
    r"""\s+|\#[^\n]*|"(?P<dq>(?:[^"\\]|\\.)*)"|'(?P<sq>(?:[^'\\]|\\.)*)'|(?P<punct>[{};])|(?P<word>[^\s{};"'#]+)""",
    re.DOTALL,
)


@dataclass
class Directive:
    name: str
    args: list[str]
    block: list[Directive] | None = None
    children: list[Directive] = field(init=False)

    def __post_init__(self) -> None:
        self.children = self.block or []

    def all(self, name: str) -> list[Directive]:
        """Direct children with this name."""
        return [child for child in self.children if child.name == name]

    def one(self, name: str, *args: str) -> Directive:
        """The only direct child with this name (and these leading arguments)."""
        found = [c for c in self.all(name) if c.args[: len(args)] == list(args)]
        assert len(found) == 1, f"{len(found)} `{name} {' '.join(args)}` in `{self.name}`"
        return found[0]

    def value(self, name: str) -> str | None:
        """The arguments of the only direct `name` directive, joined; None when absent."""
        found = self.all(name)
        assert len(found) <= 1, f"{len(found)} `{name}` in `{self.name} {self.args}`"
        return " ".join(found[0].args) if found else None

    def walk(self) -> Iterator[Directive]:
        for child in self.children:
            yield child
            yield from child.walk()


def parse(text: str) -> Directive:
    """The whole file as the children of a root directive named `main`."""
    tokens: list[str] = []
    for match in TOKEN.finditer(text):
        if match.group("punct"):
            tokens.append(match.group("punct"))
        elif match.group("word") is not None:
            tokens.append(match.group("word"))
        elif match.group("dq") is not None or match.group("sq") is not None:
            tokens.append("\0" + (match.group("dq") or match.group("sq") or ""))
    position, children = _block(tokens, 0)
    assert position == len(tokens), "unbalanced braces"
    return Directive("main", [], children)


def _block(tokens: list[str], position: int) -> tuple[int, list[Directive]]:
    children: list[Directive] = []
    words: list[str] = []
    while position < len(tokens):
        token = tokens[position]
        position += 1
        if token == ";":
            children.append(Directive(words[0], [_unquote(w) for w in words[1:]]))
            words = []
        elif token == "{":
            position, inner = _block(tokens, position)
            children.append(Directive(words[0], [_unquote(w) for w in words[1:]], inner))
            words = []
        elif token == "}":
            assert not words, f"directive without ';': {words}"
            return position, children
        else:
            words.append(token)
    assert not words, f"directive without ';': {words}"
    return position, children


def _unquote(word: str) -> str:
    return word[1:] if word.startswith("\0") else word
