"""The package's exceptions: one base class, each with a message a person understands."""


class GenreError(Exception):
    """Base class of every error the package raises on purpose."""


class AudioError(GenreError):
    """The input could not be turned into audio (not audio, corrupt, empty, too large)."""


class RefusedError(AudioError):
    """The audio decoded but holds nothing the model can judge: too short or silent.

    Not a fault of the file: ``tag`` counts such songs as refused, not failed.
    """


class TooShortError(RefusedError):
    """The audio is shorter than the minimum the model can judge."""


class SilentError(RefusedError):
    """The audio is silent (or, for a microphone recording, too quiet to hold music)."""


class FFmpegError(GenreError):
    """No ffmpeg could be found, or it misbehaved (crash, timeout)."""


class DataError(GenreError):
    """Training or evaluation data (or a tool that makes it, like espeak-ng) is missing or unusable."""


class ModelError(GenreError):
    """The model file or its metadata is missing, unreadable or does not match the code."""
