"""The one way this app parses XML from a source: lxml, hardened.

Entity expansion, external entities, DTD loading and network access are all off, so a
billion-laughs or XXE document costs nothing and reads nothing. ``recover`` is on because
Icecast emits control characters and stray ``&`` from stream titles and User-Agents; losing
a whole listener list to one bad title is worse than a mangled title. Size is bounded by the
caller before bytes reach the parser (see ``shared.clients.http.read_body``).
"""

from __future__ import annotations

from typing import Any

from shared.core.errors import BadInputError

# Errors inside text (stream titles, User-Agents) that recovery repairs without touching the
# document's structure. Any other error (a cut-off body, mismatched tags) means the numbers
# cannot be trusted, so the document is refused rather than read as "0 listeners".
TOLERATED = frozenset(
    {
        "ERR_INVALID_CHAR",
        "ERR_UNDECLARED_ENTITY",
        "ERR_INVALID_ENCODING",
        "ERR_NAME_REQUIRED",
        "ERR_ENTITYREF_SEMICOL_MISSING",
        "WAR_UNDECLARED_ENTITY",
        "ERR_INVALID_DEC_CHARREF",
        "ERR_INVALID_HEX_CHARREF",
        "ERR_INVALID_CHARREF",
    }
)


def parse_xml(data: bytes, *, what: str, root: str | None = None) -> Any:
    """Parse ``data`` (bytes, so the document's own encoding declaration is honoured)."""
    from lxml import etree

    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        recover=True,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        doc = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise BadInputError(f"{what}: not XML ({str(exc)[:120]})") from None
    if doc is None:
        raise BadInputError(f"{what}: not XML (empty or unreadable document)")
    if doc.getroottree().docinfo.doctype:
        # No source of ours sends a DTD; one here is an entity-expansion or XXE attempt.
        raise BadInputError(f"{what}: document declares a DTD; refused")
    if root is not None and local_name(doc) != root:
        raise BadInputError(f"{what}: expected <{root}>, got <{local_name(doc)[:40]}> (an error page?)")
    for error in parser.error_log:
        if error.type_name not in TOLERATED:
            raise BadInputError(f"{what}: malformed XML at line {error.line} ({error.message[:80]})")
    return doc


def local_name(element: Any) -> str:
    tag = element.tag
    if not isinstance(tag, str):  # comments, entities left unresolved
        return ""
    return tag.rsplit("}", 1)[-1]


def children_by_name(element: Any) -> dict[str, Any]:
    """Direct children keyed by lower-case local name (Icecast 2.5 lower-cased 2.4's tags)."""
    out: dict[str, Any] = {}
    for child in element:
        name = local_name(child).lower()
        if name and name not in out:
            out[name] = child
    return out


def text_of(children: dict[str, Any], *names: str) -> str | None:
    for name in names:
        node = children.get(name)
        if node is not None:
            return (node.text or "").strip()
    return None
