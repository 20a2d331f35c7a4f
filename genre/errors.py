"""The package's exceptions: one base class, each with a message a person understands."""


class GenreError(Exception):
    """Base class of every error the package raises on purpose."""


class AudioError(GenreError):
    """The input could not be turned into audio (not audio, corrupt, empty, too large)."""


class TooShortError(AudioError):
    """The audio is shorter than the minimum the model can judge."""


class FFmpegError(GenreError):
    """No ffmpeg could be found, or it misbehaved (crash, timeout)."""


class DataError(GenreError):
    """Training or evaluation data (or a tool that makes it, like espeak-ng) is missing or unusable."""


class ModelError(GenreError):
    """The model file or its metadata is missing, unreadable or does not match the code."""
