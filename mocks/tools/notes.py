"""The in-memory store behind the ``notes`` tool: bounded, and safe under concurrent tool calls.

Concurrency: the tool server runs on one asyncio event loop, and every method here is synchronous
(no ``await`` inside), so each call runs to completion before another coroutine can touch the store.
That single-threaded invariant makes id allocation and insertion atomic without a lock; do not add
an ``await`` inside these methods, and do not call them from other threads.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from datetime import UTC, datetime

DEFAULT_MAX_NOTES = 10_000
MAX_TEXT_CHARS = 4_000
LIST_LIMIT = 100


class NotesError(ValueError):
    """A request the store refuses; the message says what to change."""


@dataclass(frozen=True, slots=True)
class Note:
    """One note. ``created_at`` is an ISO-8601 UTC timestamp."""

    id: int
    text: str
    created_at: str


class NoteStore:
    """Notes by id, in insertion order, at most ``max_notes`` of them."""

    def __init__(self, max_notes: int = DEFAULT_MAX_NOTES) -> None:
        if max_notes <= 0:
            raise ValueError("max_notes must be positive")
        self.max_notes = max_notes
        self._notes: dict[int, Note] = {}
        self._ids = itertools.count(1)

    def __len__(self) -> int:
        return len(self._notes)

    def add(self, text: str | None) -> Note:
        """Store ``text`` and return the new note; refuses empty text and a full store."""
        if text is None or not text.strip():
            raise NotesError("action 'add' needs a non-empty 'text'")
        if len(text) > MAX_TEXT_CHARS:
            raise NotesError(f"the note is too long ({len(text)} characters; at most {MAX_TEXT_CHARS})")
        if len(self._notes) >= self.max_notes:
            raise NotesError(f"the notes store is full ({self.max_notes} notes); it keeps notes in memory "
                             "only and does not evict them, restart the tool server to empty it")
        note = Note(next(self._ids), text, _now_iso())
        self._notes[note.id] = note
        return note

    def get(self, note_id: int | None) -> Note:
        """The note with ``note_id``; refuses a missing or unknown id."""
        if note_id is None:
            raise NotesError("action 'get' needs a 'note_id'")
        note = self._notes.get(note_id)
        if note is None:
            raise NotesError(f"there is no note with id {note_id}")
        return note

    def recent(self, limit: int = LIST_LIMIT) -> list[Note]:
        """The ``limit`` most recent notes, oldest first."""
        newest_first = list(itertools.islice(reversed(self._notes.values()), limit))
        return newest_first[::-1]


def _now_iso() -> str:
    return datetime.fromtimestamp(time.time(), UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
