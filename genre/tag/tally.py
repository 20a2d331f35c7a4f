"""What a ``tag`` run counts for its progress bar and its closing summary (never the rows themselves)."""
from __future__ import annotations

import collections
import os
import sys
import time

from ..verdict import LOW_CONFIDENCE, MOSTLY_SILENCE, NO_BEAT, NOT_MUSIC, OUTSIDE_TEN
from .rows import Row, TagWrite

PROBLEM_WORDS = {"special": "FIFO, socket or device (never opened)"}  # walk problems, as the summary says them
REASON_WORDS = {NOT_MUSIC: "not music", OUTSIDE_TEN: "music outside the ten", LOW_CONFIDENCE: "low confidence",
                MOSTLY_SILENCE: "mostly silence", NO_BEAT: "no beat"}  # verdict.REASONS, as the summary says them
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BUSY = 0, 1, 2, 2  # a run's and an undo's exit status (BUSY: another holds --out)
FAILED_TAGS = ("failed", "changed")  # tag actions that fail the run (said on the "tags:" line, not as analyses)
DEFAULT_COLUMNS, DEFAULT_ROWS = 80, 24  # for a terminal that does not say its size (tqdm hides a bar in 0 rows)


def progress_bar(total: int, desc: str | None = None):
    """A ``tqdm`` bar with an ETA on stderr, shown only when stderr is a terminal; a terminal that
    does not say its width (``script``, some CI) gets 80 columns."""
    from tqdm import tqdm

    sized = _terminal_width() > 0
    return tqdm(total=total, desc=desc, unit="song", disable=not total or not sys.stderr.isatty(),
                file=sys.stderr, dynamic_ncols=sized, ncols=None if sized else DEFAULT_COLUMNS,
                nrows=None if sized else DEFAULT_ROWS, smoothing=0.1)


def _terminal_width() -> int:
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns
    except (OSError, ValueError):
        return 0


class Tally:
    """Counts for the progress bar and the summary (never the rows themselves)."""

    def __init__(self, tagging: bool = False):
        self.start = time.monotonic()
        self.analysed = self.failed = self.already = self.not_audio = self.unsure = self.retagged = 0
        self.aliases = self.leftovers = self.deaths = self.refused = self.tags_failed = self.gone = 0
        self.failed_before = self.undone_before = 0  # of ``already``: what the results say of them
        self.tagging = tagging  # a --write-tags (or --dry-run) run: its summary always speaks of tags
        self.problems = collections.Counter()  # walk problems by kind
        self.genres = collections.Counter()  # sure verdicts only: an unsure song has no genre to count
        self.reasons = collections.Counter()  # unsure verdicts, by their reason
        self.tags = collections.Counter()  # tag actions

    def count(self, row: Row) -> None:
        self.analysed += 1
        if row.refused:  # too short or silent: nothing to judge, but nothing wrong either
            self.refused += 1
            return
        if row.error:
            self.failed += 1
            return
        if row.unsure:
            self.unsure += 1
            self.reasons[row.reason or LOW_CONFIDENCE] += 1
        else:
            self.genres[row.genre] += 1
        if row.tag is not None:
            self.count_tag(row.tag)

    def count_tag(self, tag: TagWrite) -> None:
        self.tags[tag.action] += 1
        self.tags_failed += tag.action in FAILED_TAGS

    def summary(self, interrupted: bool = False) -> str:
        seconds = time.monotonic() - self.start
        rate = self.analysed / seconds if seconds else 0.0
        lines = [f"{'interrupted: ' if interrupted else ''}{self.analysed} song(s) analysed in "
                 f"{_clock(seconds)} ({rate:.2f}/s), {self.failed} failed; {self.already} already "
                 f"in the results and unchanged{self._already_words()}; {self.not_audio} other file(s) skipped"]
        extra = [f"{self.refused} refused: too short or silent to judge" * bool(self.refused),
                 f"{self.aliases} path(s) to a song already found (symlinks, hard links)" * bool(self.aliases),
                 f"{self.leftovers} copy(ies) left by a killed run removed" * bool(self.leftovers),
                 f"{self.deaths} worker(s) died or were stopped" * bool(self.deaths),
                 f"{self.gone} song(s) in the results not found this time (moved or deleted; their rows are "
                 "kept)" * bool(self.gone)]
        if any(extra):
            lines.append("; ".join(filter(None, extra)))
        if self.problems:
            lines.append("not read: " + ", ".join(f"{n} {PROBLEM_WORDS.get(k, k)}"
                                                  for k, n in sorted(self.problems.items())))
        if self.genres or self.unsure:
            sure = ", ".join(f"{g} {n}" for g, n in self.genres.most_common()) or "none"
            why = ", ".join(f"{REASON_WORDS.get(r, r)} {n}" for r, n in self.reasons.most_common())
            lines.append(f"genres (sure): {sure}" + (f"; {self.unsure} unsure: {why}" if self.unsure else ""))
        if self.tags:
            lines.append("tags: " + ", ".join(f"{n} {a}" for a, n in self.tags.most_common())
                         + (f" ({self.retagged} from earlier results)" if self.retagged else ""))
        elif self.tagging and self.already and not self.analysed and not interrupted:
            lines.append("tags: none left to write (every song's is settled in the results)")
        return "\n".join(lines)

    def _already_words(self) -> str:
        """What the results say of the songs left alone, so a rerun that does nothing says why."""
        said = [f"{self.failed_before} failed before, tried again once changed" * bool(self.failed_before),
                f"{self.undone_before} undone by --undo, not written again" * bool(self.undone_before)]
        return f" ({'; '.join(filter(None, said))})" if any(said) else ""


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"
