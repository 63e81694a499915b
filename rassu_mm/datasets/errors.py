"""The error raised for any unusable clip (missing or corrupt input)."""
from rassu_mm.utils.paths import is_safe_component


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


def check_clip_id(clip_id: str, path: str) -> None:
    """Refuse a clip id that is not one plain path component.

    Clip ids name files and folders (``frames/<clip_id>/``, output masks),
    so ``'../x'``, ``'/abs'``, ``'a/b'``, ``'a\\b'`` or NUL are refused.

    Args:
        clip_id (str): The id to check.
        path (str): The file the id comes from (named in the error).

    Raises:
        ClipDataError: If ``clip_id`` is unsafe.
    """
    if not is_safe_component(clip_id):
        raise ClipDataError(
            clip_id, path, 'unsafe clip id: it must be one plain file name '
            '(no /, \\, .., NUL, drive or absolute path)')
