"""Check a whole dataset before training: every clip's annotation entry,
frames, masks, audio and captions, with the dataset's own checks and
loading transforms, so each bad clip is reported with the one-line
:class:`~rassu_mm.datasets.ClipDataError` message that training would stop
with (``docs/data.md`` section 5). ``tools/misc/check_dataset.py`` is the
command line.

A split is checked in two passes: the dataset's annotation checks of every
entry (:meth:`SSUDataset.check_entries`), then the loading transforms of
the split's pipeline on every clip that passed, in worker processes. Nothing is written: the audio feature cache of
``LoadClipAudio`` is turned off, so every audio file is decoded.
"""
import copy
import json
import logging
from typing import Dict, List, Optional, Sequence, Tuple

import mmengine.fileio as fileio
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope
from mmengine.utils import track_parallel_progress, track_progress

from mmseg.registry import DATASETS, TRANSFORMS
from .errors import ClipDataError
from .ssu_dataset import SSUDataset

#: The loading transforms, in the order they run here; a pipeline lacking
#: one gets it with default arguments, so every file is decoded.
LOADERS = ('LoadClipFrames', 'LoadClipMasks', 'LoadClipAudio',
           'LoadClipCaptions')


def loading_pipeline(pipeline: Sequence[dict]) -> List[dict]:
    """The configs of the loading transforms of ``pipeline`` (with their
    arguments, e.g. ``reject_silence``), in :data:`LOADERS` order, without
    the audio cache; missing ones with default arguments."""
    by_type = {t.get('type'): t for t in pipeline if isinstance(t, dict)}
    configs = []
    for name in LOADERS:
        cfg = copy.deepcopy(dict(by_type.get(name, dict(type=name))))
        if name == 'LoadClipAudio':
            cfg['cache_dir'] = None
        configs.append(cfg)
    return configs


def build_loaders(configs: Sequence[dict]) -> list:
    """Build :func:`loading_pipeline` configs in the mmseg scope."""
    with DefaultScope.overwrite_default_scope('mmseg'):
        return [TRANSFORMS.build(cfg) for cfg in configs]


def _as_error(err: Exception, clip_id: str, path: str,
              step: str) -> ClipDataError:
    if isinstance(err, ClipDataError):
        return err
    text = ' '.join(str(err).split())
    return ClipDataError(clip_id, path,
                         f'{step} failed: {type(err).__name__}: {text}')


def check_clip(info: dict, loaders: Sequence) -> List[ClipDataError]:
    """Run the loading transforms on one clip; every error they raise.

    Frames, audio and captions are checked independently; masks only when
    the frames loaded (their size is checked against the frames').

    Args:
        info (dict): The clip's data info (``docs/data_contract.md``).
        loaders (list): :func:`build_loaders` of :data:`LOADERS`.

    Returns:
        list[ClipDataError]: Empty for a good clip. An unexpected exception
        becomes a ``ClipDataError`` naming the transform.
    """
    frames, masks, audio, captions = loaders
    clip_id = info['clip_id']
    errors = []

    def run(transform, results, path):
        try:
            return transform(results)
        except Exception as err:  # report, then check the other files
            errors.append(
                _as_error(err, clip_id, path, type(transform).__name__))
            return None

    loaded = run(frames, copy.deepcopy(info), info['frame_paths'][0])
    if loaded is not None:
        mask_path = next((p for p in info['mask_paths'] if p), '?')
        run(masks, loaded, mask_path)
    run(audio, copy.deepcopy(info), info['audio_path'])
    run(captions, copy.deepcopy(info), info['frame_paths'][0])
    return errors


_WORKER_LOADERS: Dict[str, list] = {}


def _init_worker(loader_cfgs: Dict[str, List[dict]]) -> None:
    """Pool initializer: build each split's loaders once per process."""
    import cv2
    cv2.setNumThreads(0)
    _WORKER_LOADERS.clear()
    _WORKER_LOADERS.update(
        {split: build_loaders(cfgs)
         for split, cfgs in loader_cfgs.items()})


def _error_record(err: ClipDataError) -> dict:
    return dict(file=err.path, reason=err.reason, message=str(err))


def _check_task(task: Tuple[str, dict]) -> List[dict]:
    """:func:`check_clip` in a worker; the errors as plain dicts (a
    ``ClipDataError`` does not survive pickling)."""
    split, info = task
    errors = check_clip(info, _WORKER_LOADERS[split])
    return [_error_record(e) for e in errors]


def build_split_dataset(dataset_cfg: dict) -> SSUDataset:
    """The split's dataset with ``skip_bad_clips`` (so its checks collect
    instead of raising) and no pipeline.

    Raises:
        ClipDataError: The annotation file itself is unusable.
        TypeError: The dataset is not an :class:`SSUDataset`.
    """
    cfg = dict(
        copy.deepcopy(dataset_cfg),
        skip_bad_clips=True,
        pipeline=[],
        lazy_init=False,
        serialize_data=False)
    # the dataset warns about each clip it skips: the report lists them
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with DefaultScope.overwrite_default_scope('mmseg'):
            dataset = DATASETS.build(cfg)
    finally:
        logger.setLevel(level)
    if not isinstance(dataset, SSUDataset):
        raise TypeError(f'{type(dataset).__name__} is not an SSUDataset: '
                        'check_dataset checks SSU-format datasets')
    return dataset


def annotation_entries(dataset: SSUDataset) -> Tuple[dict, list]:
    """Check every entry of the dataset's annotation file as the dataset
    does (:meth:`SSUDataset.check_entries`), keeping its position.

    Returns:
        tuple: The annotation (parsed JSON) and one ``(index, info,
        error)`` per entry of ``clips``: the data info for a good entry,
        the :class:`ClipDataError` for a bad one (the other is None).
    """
    ann = json.loads(
        fileio.get_text(dataset.ann_file, backend_args=dataset.backend_args))
    return ann, list(dataset.check_entries(ann['clips']))


def check_splits(dataset_cfgs: Dict[str, dict],
                 pipelines: Dict[str, Sequence[dict]],
                 workers: int = 0) -> Tuple[dict, Dict[str, dict]]:
    """Check the datasets of several splits; every clip's files once.

    Args:
        dataset_cfgs (dict): Split name -> dataset config.
        pipelines (dict): Split name -> its pipeline (whose loading
            transforms are used).
        workers (int): Worker processes; 0 or 1 checks in this process.
            A progress bar is shown either way.

    Returns:
        tuple: The report (``dict``: per split ``ann_file``,
        ``num_clips``, ``num_bad``, ``bad_clips`` = ``[{clip_id, index,
        errors: [{file, reason, message}]}]``, or ``error`` when the
        annotation file is unusable) and per split the annotation with
        only its good clips (missing for unusable annotation files).
    """
    report, clean, tasks, owners, entries_of = {}, {}, [], [], {}
    loader_cfgs = {}
    for split, dataset_cfg in dataset_cfgs.items():
        try:
            dataset = build_split_dataset(dataset_cfg)
            ann, entries = annotation_entries(dataset)
        except ClipDataError as err:
            report[split] = dict(
                ann_file=err.path, error=str(err), num_clips=None,
                num_bad=None, bad_clips=[])
            continue
        report[split] = dict(ann_file=dataset.ann_file,
                             num_clips=len(entries))
        entries_of[split] = (ann, entries)
        loader_cfgs[split] = loading_pipeline(pipelines[split])
        for position, (_, info, _) in enumerate(entries):
            if info is not None:
                tasks.append((split, info))
                owners.append((split, position))
    _init_worker(loader_cfgs)
    if workers > 1 and len(tasks) > 2:
        # the first clip here: decoders load lazily (librosa takes seconds),
        # and the forked workers inherit them loaded
        results = [_check_task(tasks[0])] + track_parallel_progress(
            _check_task, tasks[1:], min(workers, len(tasks) - 1),
            initializer=_init_worker, initargs=(loader_cfgs, ))
    else:
        results = track_progress(_check_task, tasks) if tasks else []
    load_errors = {owner: errs for owner, errs in zip(owners, results)}
    for split, (ann, entries) in entries_of.items():
        bad, good = [], []
        for position, (index, info, err) in enumerate(entries):
            errors = [_error_record(err)] if err is not None else \
                load_errors[(split, position)]
            if errors:
                clip_id = info['clip_id'] if info else err.clip_id
                bad.append(dict(clip_id=clip_id, index=index, errors=errors))
            else:
                good.append(ann['clips'][index])
        report[split].update(num_bad=len(bad), bad_clips=bad)
        clean[split] = dict(ann, clips=good)
    return report, clean


def bad_messages(report: dict) -> List[str]:
    """Every error message of a :func:`check_splits` report, split by
    split."""
    messages = []
    for entry in report.values():
        if entry.get('error'):
            messages.append(entry['error'])
        for clip in entry['bad_clips']:
            messages += [e['message'] for e in clip['errors']]
    return messages


def is_clean(report: dict) -> bool:
    """Whether no split of the report has a bad clip or annotation."""
    return not any(
        entry.get('error') or entry['bad_clips']
        for entry in report.values())


def summary_line(split: str, entry: dict,
                 clean_path: Optional[str] = None) -> str:
    """``train: 3 of 16 clips bad`` (or the annotation file's error)."""
    if entry.get('error'):
        return f'{split}: annotation unusable ({entry["ann_file"]})'
    line = (f'{split}: {entry["num_bad"]} of {entry["num_clips"]} clips bad'
            f' ({entry["ann_file"]})')
    if clean_path:
        line += f'; clean annotation: {clean_path}'
    return line
