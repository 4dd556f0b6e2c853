"""``KEY=VALUE`` files read as systemd reads ``EnvironmentFile=`` (systemd.exec(5)), so the
command run by hand with ``--env-file`` sees exactly what the service sees.

Why it matters: a key written ``IDENTITY_HASH_KEY="..."`` that kept its quotes would change every
hash silently. The rules, from systemd.exec(5): blank lines and lines starting with ``#`` or ``;``
are skipped; leading and trailing white space around the key and the value is dropped; a value in
single quotes is verbatim; in double quotes ``\\"``, ``\\\\``, ``\\``` and ``\\$`` are escapes
and the value may span lines; an unquoted value keeps inner white space, a backslash keeps the
next character, and a final backslash continues the line. What cannot be read that way (an
unterminated quote, text after a closing quote, a key that is not a name) is refused, naming the
line and the key, never guessed.
"""

from __future__ import annotations

import re

from shared.core.errors import ConfigError

KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
WHITE = " \t\r"
DOUBLE_ESCAPES = {'"': '"', "\\": "\\", "`": "`", "$": "$", "\n": ""}


class EnvFileError(ConfigError):
    """The file cannot be read as systemd would read it; the message names line and key."""

    def __init__(self, message: str):
        where, _, why = message.partition(": ")
        super().__init__({where: why})


def parse_env_file(text: str, *, source: str = "env file") -> dict[str, str]:
    values: dict[str, str] = {}
    pos, line_no, size = 0, 1, len(text)
    while pos < size:
        end = text.find("\n", pos)
        end = size if end < 0 else end
        line = text[pos:end].lstrip(WHITE)
        start_line = line_no
        if not line or line[0] in "#;" or "=" not in line:
            pos, line_no = end + 1, line_no + 1
            continue
        key, _, _ = line.partition("=")
        key = key.rstrip(WHITE)
        if not KEY.fullmatch(key):
            raise EnvFileError(f"{source}, line {start_line}: {key[:40]!r} is not a variable name")
        value_start = text.index("=", pos) + 1
        while value_start < size and text[value_start] in WHITE:
            value_start += 1
        value, pos, line_no = _value(text, value_start, line_no, source, key)
        values[key] = value
    return values


def _value(text: str, pos: int, line_no: int, source: str, key: str) -> tuple[str, int, int]:
    """The value from ``pos``; returns it, the position after its line and the next line number."""
    if pos < len(text) and text[pos] in "'\"":
        return _quoted(text, pos, line_no, source, key)
    return _unquoted(text, pos, line_no)


def _quoted(text: str, pos: int, line_no: int, source: str, key: str) -> tuple[str, int, int]:
    """A value in quotes: escapes inside double quotes only, nothing but space after it."""
    size, first, quote = len(text), line_no, text[pos]
    out: list[str] = []
    pos += 1
    while True:
        if pos >= size:
            raise EnvFileError(f"{source}, line {first}: {key}: the {quote} quote is never closed")
        char = text[pos]
        if char == quote:
            break
        if char == "\\" and quote == '"' and text[pos + 1 : pos + 2] in DOUBLE_ESCAPES:
            char = text[pos + 1]
            out.append(DOUBLE_ESCAPES[char])
            pos += 1
        else:
            out.append(char)
        line_no += char == "\n"
        pos += 1
    pos += 1
    end = text.find("\n", pos)
    end = size if end < 0 else end
    if text[pos:end].strip(WHITE):
        raise EnvFileError(
            f"{source}, line {line_no}: {key}: text after the closing {quote} quote "
            "(systemd would read this differently; quote the whole value)"
        )
    return "".join(out), end + 1, line_no + 1


def _unquoted(text: str, pos: int, line_no: int) -> tuple[str, int, int]:
    """A bare value to the end of its line; a backslash escapes the next character, a newline
    included (the value goes on on the next line)."""
    size = len(text)
    out: list[str] = []
    while pos < size and text[pos] != "\n":
        char = text[pos]
        if char == "\\" and pos + 1 < size:
            if text[pos + 1] == "\n":
                line_no += 1
            else:
                out.append(text[pos + 1])
            pos += 2
            continue
        out.append(char)
        pos += 1
    return "".join(out).rstrip(WHITE), pos + 1, line_no + 1


def read_env_file(path: str) -> dict[str, str]:
    """The file's variables; ``OSError`` when it cannot be read, ``EnvFileError`` when it cannot be parsed."""
    with open(path, encoding="utf-8") as handle:
        return parse_env_file(handle.read(), source=path)
