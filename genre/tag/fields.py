"""This project's fields in a song's metadata, per container, through mutagen.

One genre field per container: ID3 ``TCON`` in MP3 (and in WAV and AIFF, which carry an ID3
chunk), the Vorbis comment ``GENRE`` in FLAC, Ogg Vorbis and Ogg Opus, ``©gen`` in MP4/M4A.
Beside it, two fields of this project's own, as ID3 ``TXXX``, Vorbis comments and MP4 freeform
atoms: ``GENRE_SOURCE`` (that this project wrote the genre, with the model and its confidence)
and ``GENRE_REPLACED`` (what the genre was before, as JSON, for ``tag --undo``).
"""
from __future__ import annotations

import hashlib
import json
import os

from mutagen import MutagenError
from mutagen._util import delete_bytes
from mutagen.apev2 import APEv2
from mutagen.aiff import AIFF
from mutagen.flac import FLAC
from mutagen.id3 import TCON, TXXX, ParseID3v1
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4, AtomDataType, MP4FreeForm
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE

from ..formats import ID3_FOOTER_FLAG, ID3_HEADER, id3_size

ID3_VERSION = 3  # ID3v2.3 for new tags: what most players and Windows read
VORBIS_KEY, MP4_KEY = "GENRE", "\xa9gen"  # the genre field: a Vorbis comment, an MP4 atom
SOURCE = "GENRE_SOURCE"  # the field that says this project wrote the genre
REPLACED = "GENRE_REPLACED"  # beside it: what the genre was before this project first wrote one (JSON)
V1_BYTES = 128  # an ID3v1 tag: the file's last 128 bytes, from "TAG"
INFO_MAX = 1 << 20  # bytes of a WAV's LIST/INFO chunk read at most (its size field may lie)
NO_ID3V2 = "id3v2"  # in what a write replaced: False when the write gave the file its first ID3v2 tag
ENCODING = "encoding"  # in what a write replaced: the ID3 genre frame's text encoding, to put back as it was
V1_GENRE = "id3v1_genre"  # in what a write replaced: an MP3's ID3v1 genre byte (255: none), to put back
RUN_MARK, RUN_MARK_HEX = "sha256:", 16  # a run in GENRE_REPLACED: 64 bits of its results file's path's digest
KEYS = {name: {"id3": f"TXXX:{name}", "vorbis": name, "mp4": f"----:com.apple.iTunes:{name}"}
        for name in (SOURCE, REPLACED)}


def kind_of(audio) -> str | None:
    """'id3', 'vorbis' or 'mp4': where this file keeps its genre; None for a container without one."""
    if isinstance(audio, (FLAC, OggVorbis, OggOpus)):
        return "vorbis"
    if isinstance(audio, MP4):
        return "mp4"
    if isinstance(audio, (MP3, WAVE, AIFF)):
        return "id3"
    return None


def genre(audio, kind: str) -> str | None:
    """The genre field's values joined as people read them (``"Rock; Blues"``), or None."""
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


def raw(audio, kind: str) -> list[str]:
    """The genre field's values exactly as stored (what an undo puts back)."""
    tags = audio.tags
    if tags is None:
        return []
    if kind == "id3":
        return [str(t) for frame in tags.getall("TCON") for t in frame.text]
    return [str(v) for v in tags.get(VORBIS_KEY if kind == "vorbis" else MP4_KEY, [])]


def text(audio, kind: str, name: str = SOURCE) -> str | None:
    """The text of this project's field ``name`` (``GENRE_SOURCE`` or ``GENRE_REPLACED``), or None."""
    key = KEYS[name][kind]
    if kind == "id3":
        frame = audio.tags.get(key)
        return str(frame.text[0]) if frame is not None and frame.text else None
    values = audio.tags.get(key, [])
    return (bytes(values[0]).decode(errors="replace") if kind == "mp4" else str(values[0])) if values else None


def run_mark(run: str | None) -> str | None:
    """How ``GENRE_REPLACED`` names the run whose results file's real path is ``run``: by a digest,
    so a song shared with a friend carries none of its owner's paths (``/home/alice/...``)."""
    return None if run is None else RUN_MARK + hashlib.sha256(os.fsencode(run)).hexdigest()[:RUN_MARK_HEX]


def same_run(saved, run: str | None) -> bool:
    """Whether ``saved``, ``GENRE_REPLACED``'s run, is ``run``'s ``run_mark`` (or, from early writes, its path)."""
    return run is not None and saved is not None and saved in (run_mark(run), run)


def before_ours(audio, kind: str, now: str | None) -> tuple[dict, str | None] | None:
    """What the genre was before this project first wrote one, from ``GENRE_REPLACED``, and the run
    that wrote it as recorded (``run_mark``): ``({"genre": [...], "source": ...}, run)``.

    None unless the genre is still the one it wrote (``now``), ``GENRE_SOURCE`` is there and the
    record is well formed: a genre changed by hand since is not this project's to take back.
    """
    if audio.tags is None or text(audio, kind) is None or now is None:
        return None
    try:
        saved = json.loads(text(audio, kind, REPLACED) or "null")
    except ValueError:
        return None
    if (not isinstance(saved, dict) or str(saved.get("wrote", "")).lower() != now.strip().lower()
            or not isinstance(saved.get("genre"), list) or not all(isinstance(g, str) for g in saved["genre"])
            or not isinstance(saved.get("source"), (str, type(None)))):
        return None
    first = {"genre": saved["genre"], "source": saved["source"]}
    if saved.get(NO_ID3V2) is False:
        first[NO_ID3V2] = False
    if saved.get(ENCODING) in (0, 1, 2, 3):
        first[ENCODING] = saved[ENCODING]
    if isinstance(saved.get(V1_GENRE), int) and 0 <= saved[V1_GENRE] <= 255:
        first[V1_GENRE] = saved[V1_GENRE]
    return first, saved.get("run")


def ape_genre(f) -> str | None:
    """The genre in an MP3's APEv2 tag (foobar2000 and Winamp write one), or None: a genre already
    there, which a write without ``--overwrite`` keeps (it never changes the APEv2 tag)."""
    f.seek(0)
    try:
        values = APEv2(f).get("Genre")
    except MutagenError:  # no APEv2 tag, or a broken one
        return None
    if values is None:
        return None
    return str(values).replace("\x00", "; ").strip() or None  # several values: NUL-separated


def info_genre(f) -> str | None:
    """The ``IGNR`` of a WAV's ``LIST/INFO`` chunk (what Windows and many editors write), or None."""
    f.seek(0)
    riff = f.read(12)
    if len(riff) < 12 or riff[:4] != b"RIFF" or riff[8:] != b"WAVE":
        return None
    while len(head := f.read(8)) == 8:
        size, start = int.from_bytes(head[4:], "little"), f.tell()
        if head[:4] == b"LIST" and f.read(4) == b"INFO":  # there may be several; ffmpeg's holds ISFT alone
            info, at = f.read(min(max(0, size - 4), INFO_MAX)), 0
            while at + 8 <= len(info):
                length = int.from_bytes(info[at + 4:at + 8], "little")
                if info[at:at + 4] == b"IGNR":
                    return info[at + 8:at + 8 + length].split(b"\x00")[0].decode("latin-1").strip() or None
                at += 8 + length + length % 2
        f.seek(start + size + size % 2)  # chunks are padded to even sizes
    return None


def load_own(cls, f, parsed=None):
    """The file object ``f`` parsed as mutagen's ``cls``, its tags as stored: an MP3's ID3v2 alone
    (mutagen merges the ID3v1 fields into what it reads), ID3v2.3 and 2.4 frames untranslated (so a
    v2.3 ``TYER`` stays ``TYER`` when saved, and a genre stored as ``(17)`` is read as ``(17)``), and
    ID3v2.2 frames as the v2.3 ones they are saved as. ``parsed``: ``f`` as ``mutagen.File`` read it,
    returned as it is where that is the same (a FLAC, Ogg or MP4 file, a WAV without ID3)."""
    extra = {"load_v1": False} if issubclass(cls, MP3) else {}
    audio = parsed
    if audio is None or extra:  # an MP3 as ``mutagen.File`` read it holds its ID3v1 fields too
        f.seek(0)
        audio = cls(f, **extra)
    if kind_of(audio) == "id3" and audio.tags is not None:
        f.seek(0)
        if audio.tags.version[:2] in ((2, 3), (2, 4)):
            audio = cls(f, translate=False, **extra)
        else:  # ID3v2.2, which mutagen cannot write: read as the v2.3 it is saved as (TYE -> TYER, not TDRC)
            audio = cls(f, v2_version=ID3_VERSION, **extra)
    return audio


def replaced_by_write(own, kind: str, v1: bytes | None) -> dict:
    """What a first write of this project's genre replaces, for undo to put back: the genre field's
    values and ``GENRE_SOURCE`` in the file's own tag (``own``: an MP3's ID3v2 alone, not mutagen's
    merge of its ID3v1 fields) and, in an ID3 file, the genre frame's encoding, whether there was an
    ID3v2 tag at all and the ID3v1 tag's genre byte (``v1``: that tag, or None)."""
    replaced = {"genre": raw(own, kind), "source": text(own, kind) if own.tags is not None else None}
    if kind == "id3":
        if not has_id3v2(own):
            replaced[NO_ID3V2] = False  # this write adds the tag: its undo takes it away again
        if (encoding := id3_encoding(own)) is not None:
            replaced[ENCODING] = encoding
        if v1 is not None:
            replaced[V1_GENRE] = v1[-1]
    return replaced


def id3_encoding(audio) -> int | None:
    """The text encoding of an ID3 file's genre frame (0 Latin-1, 1 UTF-16, 2 UTF-16BE, 3 UTF-8), or None."""
    frames = audio.tags.getall("TCON") if audio.tags is not None else []
    return int(frames[0].encoding) if frames else None


def has_id3v2(audio) -> bool:
    """Whether an ID3-kind file holds an ID3v2 tag (mutagen reads an ID3v1-only tag as one of version 1)."""
    return audio.tags is not None and audio.tags.version >= (2, 0, 0)


def set_fields(audio, kind: str, values: list[str] | None, own: dict[str, str | None], f,
               back: dict | None = None) -> None:
    """Set the genre field to ``values`` (empty: removed; None: kept) and this project's fields ``own``
    (None: removed), then save to the file object ``f``; an MP3's ID3v1 tag keeps every byte but its genre's.

    ``back`` (an undo): ``replaced_by_write``'s record, whose genre frame encoding and ID3v1 genre
    byte are put back, and with whose ``"id3v2": false`` the ID3v2 tag the write added is removed
    again when it holds nothing but copies of the file's ID3v1 tag."""
    back = back or {}
    had_tags = audio.tags is not None
    if not had_tags:
        audio.add_tags()
    tags = audio.tags
    if kind == "id3":
        if values is not None:
            tags.delall("TCON")
        if values:
            tags.add(TCON(encoding=back.get(ENCODING, 3), text=values))
        for name, value in own.items():
            tags.delall(KEYS[name][kind])
            if value:
                tags.add(TXXX(encoding=3, desc=name, text=[value]))
        version = tags.version[1] if had_tags and tags.version[1] in (3, 4) else ID3_VERSION
        v1 = v1_tag(f) if isinstance(audio, MP3) else None  # WAV and AIFF keep ID3 in a chunk, and no ID3v1
        if isinstance(audio, MP3):
            _drop_id3_footer(f)
        f.seek(0)
        audio.save(f, v2_version=version)
        if v1 is not None:
            _keep_v1(f, v1, back.get(V1_GENRE))
        if back.get(NO_ID3V2) is False and _copies_of_v1(tags, f):
            f.seek(0)
            if isinstance(audio, MP3):
                tags.delete(f, delete_v1=False, delete_v2=True)  # its ID3v1 tag (genre put back) stays
            else:
                audio.delete(f)  # WAV, AIFF: the ID3 chunk the write added
        return
    field = VORBIS_KEY if kind == "vorbis" else MP4_KEY
    if values:
        tags[field] = values
    elif values is not None and field in tags:
        del tags[field]
    for name, value in own.items():
        key = KEYS[name][kind]
        if value:
            tags[key] = [MP4FreeForm(value.encode(), dataformat=AtomDataType.UTF8)] if kind == "mp4" else [value]
        elif key in tags:
            del tags[key]
    f.seek(0)
    audio.save(f)


def _drop_id3_footer(f) -> None:
    """Remove an ID3v2.4 footer from the start of ``f``: mutagen replaces the tag without it, which
    would leave the old footer's 10 bytes in front of the audio (a decoder then hears junk)."""
    f.seek(0)
    head = f.read(ID3_HEADER)
    if len(head) < ID3_HEADER or head[:3] != b"ID3" or head[3] != 4 or not head[5] & ID3_FOOTER_FLAG:
        return
    end = id3_size(head) - ID3_HEADER  # where the footer starts
    f.seek(end)
    if f.read(3) != b"3DI":
        return
    delete_bytes(f, ID3_HEADER, end)
    f.seek(5)
    f.write(bytes([head[5] & ~ID3_FOOTER_FLAG]))


def v1_tag(f) -> bytes | None:
    """The ID3v1 tag at the end of ``f`` (128 bytes from "TAG"), or None."""
    f.seek(0, 2)
    if f.tell() < V1_BYTES:
        return None
    f.seek(-V1_BYTES, 2)
    block = f.read(V1_BYTES)
    return block if block.startswith(b"TAG") else None


def _keep_v1(f, before: bytes, genre: int | None) -> None:
    """Put ``before`` back as the file's ID3v1 tag, with only the genre byte of the one mutagen just
    saved (or ``genre``, an undo's): mutagen rebuilds ID3v1 from the ID3v2 frames, which loses its
    comment, its padding and any field the two tags disagree on; a tag write changes the genre alone."""
    now = v1_tag(f)
    if now is not None:
        f.seek(-V1_BYTES, 2)
        f.write(before[:-1] + (now[-1:] if genre is None else bytes([genre])))  # the last byte: the genre


def _copies_of_v1(tags, f) -> bool:
    """Whether every frame of ``tags`` is one mutagen made from the ID3v1 tag at the end of ``f``."""
    block = v1_tag(f)
    v1 = (ParseID3v1(block) or {}) if block else {}
    for key, frame in tags.items():
        if key not in v1 or (key != "TCON" and str(frame) != str(v1[key])):  # TCON: v1 keeps its number
            return False
    return True
