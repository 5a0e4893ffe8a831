"""Lexical retrieval over vector-store file contents, standing in for embeddings.

Files are cut into chunks at blank lines (paragraphs); a paragraph longer than
:data:`CHUNK_MAX_CHARS` is cut again at line ends, and a longer single line at that
length. Every chunk is an exact substring of the decoded file, so a citation quoting a
chunk quotes the file.

A chunk's score is the share of the query's distinct terms it contains (terms are
lower-cased runs of letters and digits, minus a short list of English stop words), so
scores lie in ``[0, 1]``. Ties go to the chunk with more occurrences of query terms, then
to the earlier file and the earlier chunk. Chunks scoring 0 never match.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

CHUNK_MAX_CHARS = 1200
_TERM = re.compile(r"[^\W_]+")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_STOP = "a an and are as at be by can do does for from how i in is it me my of on or our please"
_STOP += " tell that the this to us was we what when where which who why will with you your"
STOP_WORDS = frozenset(_STOP.split(" "))


@dataclass(frozen=True)
class Document:
    """One searchable file: its id, its name and its text."""

    file_id: str
    filename: str
    text: str


@dataclass(frozen=True)
class Hit:
    """A chunk of a file that matched a query."""

    file_id: str
    filename: str
    score: float
    text: str
    start: int  # offset of ``text`` in the file's text


def terms(text: str) -> list[str]:
    """The searchable terms of ``text``, in order, with repeats."""
    return [t for t in (m.group().lower() for m in _TERM.finditer(text)) if t not in STOP_WORDS]


def chunks(text: str) -> list[tuple[int, str]]:
    """``(offset, chunk)`` pairs covering the non-blank parts of ``text``."""
    out: list[tuple[int, str]] = []
    start = 0
    for brk in [*_PARAGRAPH_BREAK.finditer(text), None]:
        end = brk.start() if brk else len(text)
        out.extend(_split_long(text, start, end))
        start = brk.end() if brk else len(text)
    return out


def _split_long(text: str, start: int, end: int) -> Iterable[tuple[int, str]]:
    piece_start = start
    while piece_start < end:
        piece_end = end
        if piece_end - piece_start > CHUNK_MAX_CHARS:
            cut = text.rfind("\n", piece_start, piece_start + CHUNK_MAX_CHARS)
            piece_end = cut if cut > piece_start else piece_start + CHUNK_MAX_CHARS
        raw = text[piece_start:piece_end]
        stripped = raw.strip()
        if stripped:
            yield piece_start + (len(raw) - len(raw.lstrip())), stripped
        piece_start = piece_end


def search(
    query: str, documents: Sequence[Document], *, max_results: int, score_threshold: float = 0.0
) -> list[Hit]:
    """The best chunks for ``query``, best first, at most ``max_results``."""
    wanted = set(terms(query))
    if not wanted:
        return []
    ranked: list[tuple[float, int, int, int, Hit]] = []
    for doc_index, doc in enumerate(documents):
        for chunk_index, (offset, chunk) in enumerate(chunks(doc.text)):
            found = terms(chunk)
            shared = wanted.intersection(found)
            score = round(len(shared) / len(wanted), 4)
            if not shared or score < score_threshold:
                continue
            weight = sum(1 for t in found if t in wanted)
            hit = Hit(doc.file_id, doc.filename, score, chunk, offset)
            ranked.append((-score, -weight, doc_index, chunk_index, hit))
    ranked.sort(key=lambda r: r[:4])
    return [r[4] for r in ranked[:max_results]]


# -- chunking by a vector store's strategy (runs answered by an upstream model) ----------

#: the token count the backend assumes per character run (as ``responder.count_tokens``)
CHARS_PER_TOKEN = 4
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Chunk:
    """A piece of a file cut by its store's chunking strategy."""

    file_id: str
    filename: str
    text: str
    start: int  # offset of ``text`` in the file's text


def token_chunks(text: str, max_tokens: int, overlap_tokens: int) -> list[tuple[int, str]]:
    """``(offset, chunk)`` windows of at most ``max_tokens``, overlapping by ``overlap_tokens``.

    A token is :data:`CHARS_PER_TOKEN` characters; windows start and end at word
    boundaries (a single longer word is cut), so each chunk is a substring of ``text``.
    """
    limit = max(1, max_tokens * CHARS_PER_TOKEN)
    overlap = max(0, overlap_tokens * CHARS_PER_TOKEN)
    words = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    out: list[tuple[int, str]] = []
    i = 0
    while i < len(words):
        start = words[i][0]
        j = i
        while j + 1 < len(words) and words[j + 1][1] - start <= limit:
            j += 1
        end = min(words[j][1], start + limit)
        out.append((start, text[start:end]))
        if j + 1 >= len(words):
            break
        # the next window starts ``overlap`` characters before this one ends
        k = j + 1
        while k - 1 > i and end - words[k - 1][0] <= overlap:
            k -= 1
        i = k
    return out


def rank_lexical(
    query: str, pieces: Sequence[Chunk], *, max_results: int, score_threshold: float = 0.0
) -> list[Hit]:
    """``pieces`` scored as :func:`search` scores paragraphs, best first."""
    wanted = set(terms(query))
    if not wanted:
        return []
    ranked: list[tuple[float, int, int, Hit]] = []
    for index, piece in enumerate(pieces):
        found = terms(piece.text)
        shared = wanted.intersection(found)
        score = round(len(shared) / len(wanted), 4)
        if not shared or score < score_threshold:
            continue
        weight = sum(1 for t in found if t in wanted)
        hit = Hit(piece.file_id, piece.filename, score, piece.text, piece.start)
        ranked.append((-score, -weight, index, hit))
    ranked.sort(key=lambda r: r[:3])
    return [r[3] for r in ranked[:max_results]]
