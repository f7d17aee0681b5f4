"""The media layer's own failure: FFmpeg could not do what was asked with a file."""


class MediaError(RuntimeError):
    """ffmpeg or PyAV could not read or write a media file."""
