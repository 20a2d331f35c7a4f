"""Formats: the ffmpeg demuxer named from a file's first bytes, past an ID3v2 tag in front."""
import pytest

from genre import audio, formats
from genre.errors import AudioError
from tests.support import sounds


@pytest.mark.parametrize("head, fmt", [
    (b"ID3\x04\x00" + bytes(11), "mp3"), (b"\xff\xfb\x90\x00" + bytes(12), "mp3"),
    (b"\xff\xf1\x50\x80" + bytes(12), "aac"), (b"RIFF\x00\x00\x00\x00WAVEfmt ", "wav"),
    (b"fLaC" + bytes(12), "flac"), (b"OggS" + bytes(12), "ogg"),
    (b"\x00\x00\x00\x20ftypM4A " + bytes(4), "mov"), (b"FORM\x00\x00\x00\x00AIFF" + bytes(4), "aiff"),
])
def test_sniff_format_from_magic_bytes(head, fmt):
    assert formats.sniff_format(head) == fmt


@pytest.mark.parametrize("head", [b"#EXTM3U\n#EXT-X-VERSION:3\n", b"ffconcat version 1.0\n",
                                  b"\x89PNG\r\n\x1a\n" + bytes(8), b"PK\x03\x04" + bytes(12),
                                  b"hello, this is text"])
def test_sniff_refuses_what_is_not_audio(head):
    with pytest.raises(AudioError, match="does not look like an audio file"):
        formats.sniff_format(head)


def _id3(body_size: int, footer: bool = False) -> bytes:
    """An ID3v2.4 header announcing ``body_size`` bytes (syncsafe), then that many zero bytes."""
    size = bytes((body_size >> s) & 0x7F for s in (21, 14, 7, 0))
    return b"ID3\x04\x00" + bytes([0x10 if footer else 0]) + size + bytes(body_size) + (b"3DI" + bytes(7)) * footer


@pytest.mark.parametrize("body, footer", [(0, False), (300, False), (200_000, True)])
def test_id3_size_reads_the_syncsafe_length_and_footer(body, footer):
    tag = _id3(body, footer)
    assert formats.id3_size(tag[:formats.HEAD_BYTES]) == len(tag)
    assert formats.id3_size(b"fLaC" + bytes(12)) == 0 and formats.id3_size(b"ID3") == 0
    v23 = b"ID3\x03" + tag[4:formats.HEAD_BYTES]  # the footer flag means nothing before ID3v2.4
    assert formats.id3_size(v23) == len(tag) - (formats.ID3_HEADER if footer else 0)


@pytest.mark.parametrize("encode_args, fmt", [(["-c:a", "aac", "-f", "adts"], "aac"), (["-f", "flac"], "flac"),
                                              (["-f", "mp3"], "mp3")])
@pytest.mark.parametrize("tags", [[517], [40, 1200]])  # one tag, or two stacked (one with a footer)
def test_audio_behind_an_id3_tag_is_named_and_decoded(encode_args, fmt, tags, tmp_path):
    """Broadcast and HLS AAC (and some FLAC) carry an ID3v2 tag in front: the bytes after it decide."""
    plain = tmp_path / "plain"
    sounds.encode(sounds.tone(4.0, freq=330.0), plain, args=encode_args)
    tagged = tmp_path / f"tagged.{fmt}"
    tagged.write_bytes(b"".join(_id3(size, footer=i == 1) for i, size in enumerate(tags)) + plain.read_bytes())
    assert formats.source_format(None, tagged) == formats.source_format(tagged.read_bytes(), None) == fmt
    assert abs(len(audio.decode(tagged)) - 4.0 * audio.SAMPLE_RATE) < 0.1 * audio.SAMPLE_RATE


def test_what_an_id3_tag_hides_is_still_refused_when_not_audio(tmp_path):
    """A tag before a playlist is not a way past the sniffing: the MP3 demuxer judges it, as corrupt."""
    playlist = tmp_path / "list.mp3"
    playlist.write_bytes(_id3(20) + b"#EXTM3U\n#EXT-X-VERSION:3\nfile:/etc/passwd\n")
    assert formats.source_format(None, playlist) == "mp3"
    with pytest.raises(AudioError, match="could not be decoded"):
        audio.decode(playlist)
