"""The inferencer's inputs: the videos of a folder, their output
folders."""
import os
import os.path as osp
from typing import List, Sequence, Union

InputsType = Union[str, Sequence[str]]
VIDEO_EXTENSIONS = ('.mp4', '.m4v', '.mov', '.mkv', '.webm', '.avi', '.mpg',
                    '.mpeg', '.ts', '.flv', '.wmv', '.3gp')


def list_videos(inputs: InputsType) -> List[str]:
    """A path, a list of paths or a folder (its files with a video
    extension, sorted) as a list of paths."""
    if isinstance(inputs, str):
        if osp.isdir(inputs):
            return [
                osp.join(inputs, name) for name in sorted(os.listdir(inputs))
                if osp.splitext(name)[1].lower() in VIDEO_EXTENSIONS
            ]
        inputs = [inputs]
    return list(inputs)


def output_name(video: str, videos: List[str]) -> str:
    """The output folder name of ``video`` among ``videos``: the file name
    without its extension, with it when two inputs share a stem."""
    stem = osp.splitext(osp.basename(video))[0]
    stems = [osp.splitext(osp.basename(v))[0] for v in videos]
    return osp.basename(video) if stems.count(stem) > 1 else stem
