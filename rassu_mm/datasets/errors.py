"""The error raised for any unusable clip (missing or corrupt input)."""


class ClipDataError(ValueError):
    """A clip cannot be used; the message names the clip id and the path.

    Args:
        clip_id (str): The clip's id (``'?'`` when unknown).
        path (str): The offending file (or annotation file).
        reason (str): What is wrong.
    """

    def __init__(self, clip_id: str, path: str, reason: str) -> None:
        self.clip_id = clip_id
        self.path = path
        self.reason = reason
        super().__init__(f'clip {clip_id!r}: {reason} ({path})')
