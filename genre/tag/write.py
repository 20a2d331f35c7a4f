"""Writing a song's genre into its own metadata with mutagen, never touching the audio.

One field per container (``fields``): ID3 ``TCON`` in MP3, WAV and AIFF, the Vorbis comment
``GENRE`` in FLAC, Ogg Vorbis and Ogg Opus, ``©gen`` in MP4/M4A. mutagen rewrites only the metadata blocks; the audio frames are copied byte for byte (the tests compare
them before and after). ``replace.rewrite`` makes the change on a copy and renames it over the
file the path leads to, so an interruption leaves either the old file or the new one.

Beside the genre goes ``GENRE_SOURCE``, which says that this project wrote it, with the model and
its confidence (``genre 1.0.0; model fused v1; confidence 0.87``): ID3 ``TXXX:GENRE_SOURCE``, the
Vorbis comment ``GENRE_SOURCE``, MP4's ``----:com.apple.iTunes:GENRE_SOURCE``. ``restore_genre``
(``tag --undo``) puts back the values a write replaced, and only where the genre and
``GENRE_SOURCE`` are still this project's.

What a write replaced also travels in the file, in the same atomic write: ``GENRE_REPLACED``
holds it as JSON with the genre written and the run, a digest of its results file's real path
(``{"wrote": "Rock", "genre": ["Jazz"], "source": null, "run": "sha256:3f2a..."}``, ``fields.run_mark``:
a shared song does not carry its owner's paths). So a run
killed after a write but before its row was saved loses nothing: the next run on the same results
file finds the genre already there ('same') and reads back what it replaced, for undo.
A second write over this project's own genre keeps the first record, so undo goes back to the
user's genre, not to this project's earlier one.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

import mutagen
from mutagen.mp3 import MP3
from mutagen.wave import WAVE

from .. import __version__
from . import fields, replace
from .fields import REPLACED, SOURCE
from .rows import TagWrite, json_text
from .walk import open_song

GENRE_LABELS = {"hiphop": "Hip-Hop", "rnb": "R&B"}  # else the genre's name, capitalised
SOURCE_PREFIX = "genre "  # how this project's GENRE_SOURCE begins (``source_text``); another tool's does not


@dataclass(frozen=True)
class Restore:
    """What ``restore_genre`` did: put back what a write replaced, or why it did not."""

    action: str  # 'restored', 'already restored', 'would restore', 'changed since', 'unsupported' or 'failed'
    now: str | None  # the genre found in the file
    restored: list[str] | None  # the values put back (an empty list: the genre removed)
    error: str | None = None  # a sentence, with 'failed'
    cleared: bool = False  # with 'changed since': this project's fields were (in a dry run, would be) taken off


def tag_value(genre: str) -> str:
    """The text written for a model genre: ``"hiphop"`` -> ``"Hip-Hop"``, ``"rock"`` -> ``"Rock"``."""
    return GENRE_LABELS.get(genre, genre.title())


def source_text(model: str | None, confidence: float | None) -> str:
    """``GENRE_SOURCE``'s value: this package's version, the model's, and the song's confidence."""
    text = f"{SOURCE_PREFIX}{__version__}; model {model or 'unknown'}"
    return text + (f"; confidence {float(confidence):.2f}" if confidence not in (None, "") else "")


def read_genre(path) -> str | None:
    """The genre already in a file's metadata, or None (no tag, an empty one, or no metadata).

    Raises
    ------
    mutagen.MutagenError, OSError
        The file cannot be read or parsed.
    """
    audio = mutagen.File(path)
    kind = fields.kind_of(audio)
    return fields.genre(audio, kind) if kind else None


def read_source(path) -> str | None:
    """The file's ``GENRE_SOURCE`` (None when this project did not write its genre)."""
    audio = mutagen.File(path)
    kind = fields.kind_of(audio)
    return fields.text(audio, kind) if kind and audio.tags is not None else None


def written_by(path, run: str) -> tuple[str, dict] | None:
    """``(genre written, what it replaced)`` where the file's genre is one a write of the run whose
    results file is ``run`` put there (its ``GENRE_REPLACED`` says so), else None: how ``--undo``
    finds a write whose row a killed run never saved.

    Raises
    ------
    mutagen.MutagenError, OSError
        The file cannot be read or parsed.
    """
    song = _open(path, None, stored=False)
    now = fields.genre(song.audio, song.kind) if song.kind else None
    ours = fields.before_ours(song.audio, song.kind, now) if song.kind else None
    return (now, ours[0]) if ours and fields.same_run(ours[1], run) else None


def write_genre(path, genre: str, *, overwrite: bool = False, dry_run: bool = False,
                source: str | None = None, expect: tuple[int, float] | None = None,
                run: str | None = None) -> TagWrite:
    """Put ``genre`` in a file's metadata unless it already has one (or ``overwrite``).

    Parameters
    ----------
    path : path
        The song, or a symlink to it (the target is written, the link stays).
    genre : str
        A model genre (``"hiphop"``); the file gets its label (``"Hip-Hop"``).
    overwrite : bool
        Replace a genre already there; by default it is kept.
    dry_run : bool
        Decide and report, write nothing.
    source : str, optional
        ``GENRE_SOURCE``'s value (``source_text``); by default this package's version alone.
    expect : (int, float), optional
        The (size, mtime) the song was analysed with: a file that differs is not written.
    run : str, optional
        The results file of this run (``--out``), kept in ``GENRE_REPLACED``: a later run on the
        same file that finds the genre already there ('same') takes up what it replaced, as the
        run killed before it saved its row would have.

    Returns
    -------
    TagWrite
        What was done; with 'written' (and 'same' after a killed run of ``run``), ``replaced``
        holds what ``tag --undo`` restores.
    """
    new = tag_value(genre)
    try:
        song = _open(path, expect)
        audio, kind, expect = song.audio, song.kind, song.expect
        if kind is None:
            return TagWrite("unsupported", None, new)
        old = fields.genre(audio, kind) or song.other  # the ID3 genre, else APEv2's or INFO's (left as they are)
        ours = fields.before_ours(audio, kind, old)  # this project's genre: what its first write replaced
        if old is not None and old.strip().lower() == new.lower():  # a killed run of this results file
            return TagWrite("same", old, new, ours[0] if ours and fields.same_run(ours[1], run) else None)
        if old is not None and not overwrite:
            return TagWrite("kept", old, new)
        if dry_run:  # what the write would meet: a read-only file is said now, not by the real run
            real = os.path.realpath(path)
            replace.check_writable(real, os.stat(real))
            return TagWrite("would write", old, new, beside=song.other)
        replaced = ours[0] if ours else fields.replaced_by_write(song.own, kind, song.v1)
        own = {SOURCE: source or source_text(None, None),
               REPLACED: json_text({"wrote": new, **replaced, "run": fields.run_mark(run)})}
        _rewrite(path, type(audio), kind, [new], own, expect)
    except replace.FileChanged as exc:
        return TagWrite("changed", None, new, error=str(exc))
    except (replace.NotWritten, mutagen.MutagenError, OSError) as exc:
        return TagWrite("failed", None, new, error=_sentence(exc))
    return TagWrite("written", old, new, replaced, beside=song.other)


def restore_genre(path, wrote: str, replaced: dict | None, *, dry_run: bool = False) -> Restore:
    """Undo a write: put back what it replaced where the genre is still ``wrote``, by this project.

    Parameters
    ----------
    path : path
        The song, or a symlink to it.
    wrote : str
        The label this project wrote.
    replaced : dict or None
        ``write_genre``'s ``replaced``: the genre field's values before that write (none: there
        was no genre) and the ``GENRE_SOURCE`` there was (None: none).
    dry_run : bool
        Decide and report, change nothing.

    Returns
    -------
    Restore
        What was done: 'changed since' when the genre or its ``GENRE_SOURCE`` is no longer this
        project's (edited by hand since): the genre is left as it is, and only this project's fields
        beside it are taken off (``_leave``: they would say the user's genre was this project's);
        'already restored' when the file already holds what the write replaced (an undo killed
        before it saved its row).
    """
    try:
        song = _open(path, None)
        audio, kind, expect = song.audio, song.kind, song.expect
        if kind is None:
            return Restore("unsupported", None, None)
        now = fields.genre(audio, kind)
        replaced = replaced or {}
        restored = list(replaced.get("genre") or [])
        ours = audio.tags is not None and fields.text(audio, kind) is not None
        held = {frozenset(_genres(fields.raw(song.own, kind))), frozenset(_genres(fields.raw(audio, kind)))}
        v1_back = replaced.get(fields.V1_GENRE) in (None, song.v1[-1] if song.v1 else None)
        if not ours and frozenset(_genres(restored)) in held and not replaced.get("source") and v1_back:
            return Restore("already restored", now, restored)  # an undo killed before its row was saved
        if now is None or now.strip().lower() != wrote.strip().lower() or not ours:
            return _leave(path, song, now, restored, dry_run)
        if dry_run:
            return Restore("would restore", now, restored)
        _rewrite(path, type(audio), kind, restored, {SOURCE: replaced.get("source"), REPLACED: None}, expect,
                 back=replaced)
    except (replace.NotWritten, mutagen.MutagenError, OSError) as exc:
        return Restore("failed", None, None, _sentence(exc))
    return Restore("restored", now, restored)


def _leave(path, song: _Song, now: str | None, restored: list[str], dry_run: bool) -> Restore:
    """'changed since': the genre is the user's now, so this project's fields beside it, which would
    claim it, are taken off: its ``GENRE_REPLACED``, and its ``GENRE_SOURCE`` where it is this
    project's (another tool's is left). The genre, the audio and an MP3's ID3v1 byte are left as they
    are; nothing is done where no ``GENRE_REPLACED`` is left (an undo killed after it restored the file),
    where the genre is a later write of this project's, or where the file cannot be written."""
    audio, kind = song.audio, song.kind
    if (audio.tags is None or fields.text(audio, kind, REPLACED) is None
            or fields.before_ours(audio, kind, now) is not None):  # another write of this project's
        return Restore("changed since", now, restored)
    if dry_run:
        return Restore("changed since", now, restored, cleared=True)
    source = fields.text(audio, kind)
    own = {REPLACED: None, **({SOURCE: None} if source is not None and source.startswith(SOURCE_PREFIX) else {})}
    try:
        _rewrite(path, type(audio), kind, None, own, song.expect,
                 back={fields.V1_GENRE: song.v1[-1]} if song.v1 else None)
    except (replace.NotWritten, mutagen.MutagenError, OSError):
        return Restore("changed since", now, restored)
    return Restore("changed since", now, restored, cleared=True)


def _genres(values: list[str]) -> set[str]:
    """Genre values compared as a player reads them: ID3v2.3 stores ["Rock", "Jazz"] as "Rock/Jazz"."""
    return {g.strip().lower() for v in values for g in re.split(r"[/;\x00]", v) if g.strip()}


@dataclass(frozen=True)
class _Song:
    """A song's tags as mutagen reads them, and what the undo of a write needs besides."""

    audio: object  # as players read it: an MP3's ID3v1 fields merged where its ID3v2 lacks them
    own: object  # its tags as stored (``fields.load_own``): an MP3's ID3v2 alone, frames untranslated
    kind: str | None  # ``fields.kind_of``
    expect: tuple[int, float]  # the (size, mtime) it was read with, or the one asked for
    v1: bytes | None  # an MP3's ID3v1 tag
    other: str | None  # the genre in a tag this project does not write: an MP3's APEv2, a WAV's LIST/INFO


def _open(path, expect, stored: bool = True) -> _Song:
    """The file parsed by mutagen; with ``stored``, also its tags as stored and what else a write
    or an undo reads (``written_by`` needs only the first)."""
    with open_song(path) as f:  # a regular file only: a FIFO put in its place is never waited on
        st = os.fstat(f.fileno())
        audio = own = mutagen.File(f)
        v1 = other = None
        if stored and audio is not None:
            own = fields.load_own(type(audio), f, audio)
            v1 = fields.v1_tag(f) if isinstance(audio, MP3) else None
            other = fields.ape_genre(f) if isinstance(audio, MP3) else \
                fields.info_genre(f) if isinstance(audio, WAVE) else None
    return _Song(audio, own, fields.kind_of(audio), expect if expect is not None else (st.st_size, st.st_mtime), v1,
                 other)


def _rewrite(path, cls, kind: str, values: list[str] | None, own: dict[str, str | None], expect,
             back: dict | None = None) -> None:
    def change(f) -> None:  # the class found on the file: the copy has no name
        # as stored (``fields.load_own``): the ID3v2 tag saved gains nothing but the genre
        stored = fields.load_own(cls, f)
        expected = fields.raw(stored, kind) if values is None else values
        fields.set_fields(stored, kind, values, own, f, back)
        saved = fields.load_own(cls, f)
        if _genres(fields.raw(saved, kind)) != _genres(expected) or (
                saved.tags is not None and SOURCE in own and fields.text(saved, kind) != own[SOURCE]):
            # mutagen wrote where it cannot read back (a WAV whose odd-sized chunk lacks its pad byte)
            raise replace.NotWritten("The new tag could not be read back from the file (its layout is "
                                     "unusual); not changed.")

    replace.rewrite(path, change, expect)


def _sentence(exc: Exception) -> str:
    if isinstance(exc, replace.NotWritten):
        return f"Cannot write the tag: {exc}"
    return f"Cannot write the tag: {getattr(exc, 'strerror', None) or exc}."
