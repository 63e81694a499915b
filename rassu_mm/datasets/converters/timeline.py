"""Which annotated frame of an export becomes SSU frame ``k``."""
import bisect
import math
from typing import List, Sequence, Tuple

from ..errors import ClipDataError


def sample_plan(frames: Sequence[int], video_fps: float, fps: float,
                position: float, step: int, clip_id: str,
                path: str) -> List[Tuple[int, float, float]]:
    """Pick one annotated frame per ``1 / fps`` window, as
    ``videos_to_ssu.py`` picks video frames.

    Annotated frame ``f`` (a frame number at ``video_fps``) is shown from
    ``(f - frames[0]) / video_fps`` seconds on, so the clip starts at the
    first annotated frame and lasts ``(frames[-1] - frames[0] + step) /
    video_fps`` seconds. SSU frame ``k`` is the annotated frame shown at
    ``(k + position) / fps`` (the last one at or before that time); only
    whole windows become frames.

    Args:
        frames (Sequence[int]): annotated frame numbers, ascending.
        video_fps (float): frame rate of the frame numbers.
        fps (float): SSU frames per second.
        position (float): where in its window frame ``k`` is taken.
        step (int): frame-number distance from the last annotated frame to
            the end of the clip (the export's frame step).
        clip_id, path (str): named in errors.

    Returns:
        list[tuple]: per SSU frame ``k``: ``(frame number, window start,
        window end)``, the window in frame numbers.

    Raises:
        ClipDataError: if the frames cover less than one window.
    """
    first = frames[0]
    duration = (frames[-1] - first + step) / video_fps
    num = int(math.floor(duration * fps + 1e-3))
    if num < 1:
        raise ClipDataError(
            clip_id, path, f'annotated frames span {duration:.2f} s, less '
            f'than one 1/fps window ({1 / fps:.2f} s)')
    plan, per_window = [], video_fps / fps
    for k in range(num):
        target = first + (k + position) * per_window
        idx = max(bisect.bisect_right(frames, target + 1e-6) - 1, 0)
        plan.append((frames[idx], first + k * per_window,
                     first + (k + 1) * per_window))
    return plan
