"""Which audio format a file is, from its first bytes: the ffmpeg demuxer ``audio`` forces.

Decoding never lets ffmpeg guess: a playlist, a concat list or an HLS manifest renamed ``.mp3``
would be followed. So the format is named here from the leading bytes, and anything else is
refused before ffmpeg sees it. An ID3v2 tag may stand in front of MP3, and also of ADTS AAC (as
broadcast and HLS segments write it) and FLAC; the bytes after the tag say which.
"""
from __future__ import annotations

from pathlib import Path

from .errors import AudioError

# What people name the files ``sniff_format`` knows (the page's upload filter, ``tag``'s walk).
SUFFIXES = (".mp3", ".wav", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".mp4", ".aac", ".aif", ".aiff",
            ".mka", ".webm")
FORMAT_NAMES = "MP3, WAV, FLAC, OGG/Opus, M4A/AAC/MP4, AIFF or WebM/MKA"  # how a sentence lists them
HEAD_BYTES = 16  # the first bytes ``sniff_format`` reads: enough for every signature in _MAGIC
ID3_HEADER = 10  # bytes of an ID3v2 header (and of its optional footer)
ID3_FOOTER_FLAG = 0x10  # in an ID3v2.4 header's flags: a footer follows the tag
AFTER_ID3 = ("mp3", "aac", "flac")  # what an ID3v2 tag may stand in front of, for ffmpeg's demuxers
MAX_ID3_TAGS = 4  # stacked ID3v2 tags looked past; more is not a file anyone made
# Leading bytes -> ffmpeg demuxer.
_MAGIC = [
    (0, b"ID3", "mp3"),
    (0, b"fLaC", "flac"),
    (0, b"OggS", "ogg"),
    (0, b"\x1a\x45\xdf\xa3", "matroska"),  # WebM / MKA
    (4, b"ftyp", "mov"),  # MP4 / M4A / AAC in MP4
]


def sniff_format(head: bytes) -> str:
    """Name the ffmpeg demuxer for a file from its first bytes.

    Parameters
    ----------
    head : bytes
        At least the first 12 bytes of the file.

    Returns
    -------
    str
        An ffmpeg input format such as ``"mp3"``, ``"wav"`` or ``"flac"``.

    Raises
    ------
    AudioError
        If the bytes are not those of a known audio format.
    """
    if not head:
        raise AudioError("The file is empty.")
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    for offset, magic, fmt in _MAGIC:
        if head[offset:offset + len(magic)] == magic:
            return fmt
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        # An MPEG audio frame sync: MP3 (layer bits != 00) or ADTS AAC (layer bits == 00).
        return "aac" if head[1] & 0x06 == 0 else "mp3"
    raise AudioError(f"This does not look like an audio file ({FORMAT_NAMES}).")


def id3_size(head: bytes) -> int:
    """Bytes an ID3v2 tag at the start of ``head`` takes: its header, body and (v2.4) footer.

    Parameters
    ----------
    head : bytes
        At least the first ``ID3_HEADER`` bytes of a file, or of what follows a tag.

    Returns
    -------
    int
        0 when ``head`` does not start with an ID3v2 tag.
    """
    if len(head) < ID3_HEADER or head[:3] != b"ID3":
        return 0
    body = (head[6] & 0x7F) << 21 | (head[7] & 0x7F) << 14 | (head[8] & 0x7F) << 7 | head[9] & 0x7F  # syncsafe
    footer = head[3] == 4 and head[5] & ID3_FOOTER_FLAG  # only ID3v2.4 has a footer
    return ID3_HEADER + body + (ID3_HEADER if footer else 0)


def source_format(data: bytes | None, path: Path | None) -> str:
    """The demuxer for an upload's bytes or a file: ``sniff_format`` past any ID3v2 tags in front.

    Parameters
    ----------
    data : bytes, optional
        The file's bytes (an upload); None to read ``path``.
    path : pathlib.Path, optional
        The file, when ``data`` is None.

    Returns
    -------
    str
        As ``sniff_format``; behind an ID3v2 tag, one of ``AFTER_ID3`` (``"mp3"`` for anything else:
        the MP3 demuxer judges it, and refuses what is not MP3 as corrupt).

    Raises
    ------
    AudioError
        Unreadable, empty, or not a known audio format.
    """
    head = data[:HEAD_BYTES] if data is not None else read_head(path)
    at = 0
    for _ in range(MAX_ID3_TAGS):  # tags are sometimes stacked, one writer's after another's
        size = id3_size(head)
        if not size:
            break
        at += size
        head = data[at:at + HEAD_BYTES] if data is not None else read_head(path, at)
    if not at:
        return sniff_format(head)
    try:
        found = sniff_format(head)
    except AudioError:
        return "mp3"  # a tag alone, or before what the MP3 demuxer will judge
    return found if found in AFTER_ID3 else "mp3"


def read_head(path: Path, offset: int = 0) -> bytes:
    """``HEAD_BYTES`` bytes of a file from ``offset``, enough for ``sniff_format``."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read(HEAD_BYTES)
    except OSError as exc:
        raise AudioError(f"Cannot read {path.name}: {exc.strerror or exc}.") from exc
