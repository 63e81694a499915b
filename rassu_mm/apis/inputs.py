"""The inferencer's inputs: the videos of a folder, their output folders,
and what it takes from the config's test set: the test pipeline on
decoded windows and the model's dataset meta."""
import os
import os.path as osp
from typing import List, Optional, Sequence, Tuple, Union

from mmseg.registry import DATASETS
from rassu_mm.datasets.audio import LogMelParams
from rassu_mm.datasets.transforms import PackSSUInputs
from rassu_mm.utils.paths import safe_join

InputsType = Union[str, Sequence[str]]
VIDEO_EXTENSIONS = ('.mp4', '.m4v', '.mov', '.mkv', '.webm', '.avi', '.mpg',
                    '.mpeg', '.ts', '.flv', '.wmv', '.3gp')
# transforms that read annotations, which a raw video does not have
ANNOTATION_TRANSFORMS = ('LoadClipMasks', 'LoadClipCaptions')
# metainfo every window adds so that its predictions can be placed
WINDOW_KEYS = ('video_path', 'frame_indices', 'num_new')


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


def clip_name(video: str) -> str:
    """The name of a video (its clip id): the file name without its
    extension."""
    return osp.splitext(osp.basename(video))[0]


def output_name(video: str, videos: List[str]) -> str:
    """The output folder name of ``video`` among ``videos``: the file name
    without its extension, with it when two inputs share a stem."""
    stem = clip_name(video)
    stems = [clip_name(v) for v in videos]
    return osp.basename(video) if stems.count(stem) > 1 else stem


def output_dir(out_dir: str, video: str, videos: List[str]) -> Optional[str]:
    """The output folder of ``video`` among ``videos`` in ``out_dir``
    (:func:`output_name`); None for ``out_dir=''`` (nothing written).

    Raises:
        UnsafePathError: The folder would be outside ``out_dir``.
    """
    return safe_join(out_dir, output_name(video, videos)) if out_dir else None


def dataset_meta(checkpoint: Optional[dict], dataset_cfg: dict) -> dict:
    """The model's ``dataset_meta``: the checkpoint's, else the ``METAINFO``
    of the test set's class (``dataset_cfg``). Its ``seg_mode``, which
    SSUDataset writes into checkpoints, is for older checkpoints and random
    weights the test set's (``'binary'`` when it names none)."""
    meta = (checkpoint or {}).get('meta', {}).get('dataset_meta')
    dataset_cls = DATASETS.get(dataset_cfg['type'])
    meta = dict(meta or getattr(dataset_cls, 'METAINFO', {}))
    meta.setdefault('seg_mode', dataset_cfg.get('seg_mode', 'binary'))
    return meta


def window_pipeline(
        pipeline: Sequence[dict]) -> Tuple[List[dict], LogMelParams]:
    """A test pipeline (transform configs) for the windows of
    :class:`VideoWindows`: the file loaders become their in-memory
    counterparts (``LoadClipFramesFromNDArray``,
    ``LoadClipAudioFromNDArray``), the annotation loaders are dropped and
    :data:`WINDOW_KEYS` are packed into the metainfo.

    Returns:
        tuple: The transform configs and the audio loader's parameters
        (the defaults without an audio loader).
    """
    out, audio_params = [], LogMelParams()
    for transform in pipeline:
        transform = dict(transform)
        kind = transform['type']
        if kind in ANNOTATION_TRANSFORMS:
            continue
        if kind == 'LoadClipFrames':
            transform = dict(
                type='LoadClipFramesFromNDArray',
                to_float32=transform.get('to_float32', False))
        elif kind == 'LoadClipAudio':
            params = {
                k: v
                for k, v in transform.items()
                if k in LogMelParams.__dataclass_fields__
            }
            audio_params = LogMelParams(**params)
            transform = dict(type='LoadClipAudioFromNDArray', **params)
        elif kind == 'PackSSUInputs':
            keys = transform.get('meta_keys', PackSSUInputs().meta_keys)
            transform['meta_keys'] = tuple(keys) + WINDOW_KEYS
        out.append(transform)
    return out, audio_params
