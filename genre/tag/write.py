"""Writing a song's genre into its own metadata with mutagen, never touching the audio.

One field per container: ID3 ``TCON`` in MP3 (and in WAV and AIFF, which carry an ID3 chunk),
the Vorbis comment ``GENRE`` in FLAC, Ogg Vorbis and Ogg Opus, ``©gen`` in MP4/M4A. mutagen
rewrites only the metadata blocks; the audio frames are copied byte for byte (the tests compare
the decoded audio's checksum before and after). The change is made on a copy in the same folder,
flushed, and renamed over the original, so an interruption leaves either the old file or the new
one, never half of each.
"""
from __future__ import annotations

import os
import shutil
import tempfile

import mutagen
from mutagen.aiff import AIFF
from mutagen.flac import FLAC
from mutagen.id3 import TCON
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE

from .walk import TEMP_PREFIX

ID3_VERSION = 3  # ID3v2.3 for new tags: what most players and Windows read
GENRE_LABELS = {"hiphop": "Hip-Hop", "rnb": "R&B"}  # else the genre's name, capitalised
VORBIS_KEY = "GENRE"
MP4_KEY = "\xa9gen"


def tag_value(genre: str) -> str:
    """The text written for a model genre: ``"hiphop"`` -> ``"Hip-Hop"``, ``"rock"`` -> ``"Rock"``."""
    return GENRE_LABELS.get(genre, genre.title())


def _kind(audio) -> str | None:
    if isinstance(audio, (FLAC, OggVorbis, OggOpus)):
        return "vorbis"
    if isinstance(audio, MP4):
        return "mp4"
    if isinstance(audio, (MP3, WAVE, AIFF)):
        return "id3"
    return None


def read_genre(path) -> str | None:
    """The genre already in a file's metadata, or None (no tag, an empty one, or no metadata).

    Raises
    ------
    mutagen.MutagenError, OSError
        The file cannot be read or parsed.
    """
    audio = mutagen.File(path)
    kind = _kind(audio)
    return _get(audio, kind) if kind else None


def _get(audio, kind: str) -> str | None:
    tags = audio.tags
    if tags is None:
        return None
    if kind == "id3":
        genres = [g for frame in tags.getall("TCON") for g in frame.genres if g.strip()]
    elif kind == "vorbis":
        genres = [g for g in tags.get(VORBIS_KEY, []) if g.strip()]
    else:
        genres = [g for g in tags.get(MP4_KEY, []) if str(g).strip()]
    return "; ".join(map(str, genres)) or None


def _set(audio, kind: str, text: str) -> None:
    had_tags = audio.tags is not None
    if not had_tags:
        audio.add_tags()
    if kind == "id3":
        audio.tags.setall("TCON", [TCON(encoding=3, text=[text])])
        version = audio.tags.version[1] if had_tags and audio.tags.version[1] in (3, 4) else ID3_VERSION
        audio.save(v2_version=version)
    elif kind == "vorbis":
        audio.tags[VORBIS_KEY] = [text]
        audio.save()
    else:
        audio.tags[MP4_KEY] = [text]
        audio.save()


def write_genre(path, genre: str, *, overwrite: bool = False, dry_run: bool = False) -> dict:
    """Put ``genre`` in a file's metadata unless it already has one (or ``overwrite``).

    Parameters
    ----------
    path : path
        The song.
    genre : str
        A model genre (``"hiphop"``); the file gets its label (``"Hip-Hop"``).
    overwrite : bool
        Replace a genre already there; by default it is kept.
    dry_run : bool
        Decide and report, write nothing.

    Returns
    -------
    dict
        ``action`` ('written', 'would write', 'kept', 'same', 'unsupported' or 'failed'), ``old``
        (the genre there before, or None), ``new`` (the label), ``error`` when it failed.
    """
    new = tag_value(genre)
    try:
        audio = mutagen.File(path)
        kind = _kind(audio)
        if kind is None:
            return {"action": "unsupported", "old": None, "new": new}
        old = _get(audio, kind)
        if old is not None and old.strip().lower() == new.lower():
            return {"action": "same", "old": old, "new": new}
        if old is not None and not overwrite:
            return {"action": "kept", "old": old, "new": new}
        if dry_run:
            return {"action": "would write", "old": old, "new": new}
        _replace_with_tagged_copy(path, kind, new)
    except (mutagen.MutagenError, OSError) as exc:
        return {"action": "failed", "old": None, "new": new, "error": f"cannot write the tag: {exc}"}
    return {"action": "written", "old": old, "new": new}


def _replace_with_tagged_copy(path, kind: str, text: str) -> None:
    """Tag a copy beside ``path`` and rename it over ``path``; in place where a copy cannot work."""
    path = os.fspath(path)
    st = os.stat(path)
    if st.st_nlink > 1:  # a rename would split the hard links
        audio = mutagen.File(path)
        _set(audio, kind, text)
        return
    try:
        fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=os.path.splitext(path)[1],
                                   dir=os.path.dirname(path))
    except OSError:  # a folder we may not write in, around a file we may
        audio = mutagen.File(path)
        _set(audio, kind, text)
        return
    try:
        os.close(fd)
        shutil.copyfile(path, tmp)
        os.chmod(tmp, st.st_mode & 0o7777)
        if os.geteuid() == 0:
            os.chown(tmp, st.st_uid, st.st_gid)
        _set(mutagen.File(tmp), kind, text)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
