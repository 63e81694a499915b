"""SSUDataset: clips of frames + audio + masks + captions (SSU JSON)."""
import copy
import json
import logging
from typing import Callable, Iterator, List, Optional, Tuple, Union

import mmengine.fileio as fileio
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log
from mmengine.registry import DefaultScope

from mmseg.registry import DATASETS
from rassu_mm.utils.class_names import make_palette
from rassu_mm.utils.paths import RootChecker, UnsafePathError, safe_join
from rassu_mm.utils.seg_modes import SEG_MODES
from .errors import ClipDataError, check_clip_id


@DATASETS.register_module()
class SSUDataset(BaseDataset):
    """A sound source understanding dataset in the SSU format.

    The annotation file (``DESIGN.md`` section 3) holds ``metainfo``
    (``dataset_name``, ``classes``, ``super_categories``, ``fps``, optional
    ``palette``) and ``clips``; each clip has ``clip_id``, ``categories``,
    ``audio`` and ``frames`` (``image``, ``mask``, ``caption``), paths
    relative to ``data_root``/``data_prefix['root']``. Each clip becomes one
    data info dict of ``docs/data_contract.md``.

    Names from the file never leave the dataset root: a ``clip_id`` must be
    one plain file name, and a frame, mask or audio path must be relative,
    without ``..``, and resolve (symlinks followed) inside
    ``data_root``/``data_prefix['root']``; otherwise :class:`ClipDataError`
    names the clip and the annotation file.

    Metainfo keys missing from the class ``METAINFO`` and the ``metainfo``
    argument are taken from the annotation file at :meth:`full_init`.
    When the file's class list differs from the dataset's, semantic mask
    values are remapped by ``label_map`` (file value ``i + 1`` -> dataset
    value ``j + 1``; classes the dataset lacks -> 255, ignored).

    Args:
        ann_file (str): Annotation JSON, relative to ``data_root``.
        seg_mode (str): ``'binary'`` (0 silent / 255 sounding pixels ->
            0 / 1) or ``'semantic'`` (class index ``1..C``, 0 background,
            255 ignore). Defaults to ``'binary'``.
        allow_missing_masks (bool): Accept frames without a mask outside
            test mode (they load as all-ignore masks, e.g. AVSBench S4
            training clips). Test mode always accepts them.
        allow_missing_captions (bool): Same for captions (``None``).
        check_files (bool): Check at load time that every frame, mask and
            audio file exists. Defaults to True.
        allow_external_symlinks (bool): Accept frame, mask and audio files
            that are symlinks leading out of the dataset root (as written
            by ``avsbench_to_ssu.py --link``). The annotation's paths must
            still be relative and free of ``..``. Defaults to False.
        skip_bad_clips (bool): Skip clips that fail a check (at load time,
            or while the training pipeline loads them) with a warning and a
            count, instead of raising :class:`ClipDataError`. Test-mode
            pipelines always raise. Defaults to False.
        reduce_zero_label (bool): As in mmseg; semantic mode only.
        data_prefix (dict): ``root``: folder under ``data_root`` that the
            annotation paths are relative to. Defaults to ``dict(root='')``.
        backend_args (dict, optional): mmengine file backend arguments.
        **kwargs: :class:`mmengine.dataset.BaseDataset` arguments
            (``metainfo``, ``data_root``, ``pipeline``, ``test_mode``,
            ``lazy_init``, ``serialize_data``, ``indices``, ...).
    """
    METAINFO: dict = dict()

    def __init__(self,
                 ann_file: str,
                 seg_mode: str = 'binary',
                 allow_missing_masks: bool = False,
                 allow_missing_captions: bool = False,
                 check_files: bool = True,
                 allow_external_symlinks: bool = False,
                 skip_bad_clips: bool = False,
                 reduce_zero_label: bool = False,
                 data_prefix: dict = dict(root=''),
                 backend_args: Optional[dict] = None,
                 pipeline: List[Union[dict, Callable]] = [],
                 **kwargs) -> None:
        if seg_mode not in SEG_MODES:
            raise ValueError(f'seg_mode must be one of {SEG_MODES}, '
                             f'got {seg_mode!r}')
        self.seg_mode = seg_mode
        self.allow_missing_masks = allow_missing_masks
        self.allow_missing_captions = allow_missing_captions
        self.check_files = check_files
        self.allow_external_symlinks = allow_external_symlinks
        self.skip_bad_clips = skip_bad_clips
        self.reduce_zero_label = reduce_zero_label
        self.backend_args = copy.deepcopy(backend_args)
        self.label_map: Optional[dict] = None
        self.bad_clips: List[ClipDataError] = []
        self.num_pipeline_skips = 0
        # build the pipeline in the mmseg scope unless a scope is active,
        # so the dataset also works outside a Runner
        scope = None if DefaultScope.get_current_instance() else 'mmseg'
        with DefaultScope.overwrite_default_scope(scope):
            super().__init__(
                ann_file=ann_file,
                data_prefix=copy.copy(data_prefix),
                pipeline=pipeline,
                **kwargs)

    # ------------------------------------------------------------------
    # annotation loading
    def load_data_list(self) -> List[dict]:
        """Parse the annotation JSON into one data info dict per clip.

        Raises:
            ClipDataError: For a malformed file, or for a bad clip when
                ``skip_bad_clips`` is False.
        """
        ann = self._read_annotation()
        self._merge_file_metainfo(ann.get('metainfo', {}))
        data_list = []
        self.bad_clips = []
        for _, info, err in self.check_entries(ann['clips']):
            if err is not None:
                if not self.skip_bad_clips:
                    raise err
                self.bad_clips.append(err)
                print_log(f'skipping bad clip: {err}', 'current',
                          logging.WARNING)
                continue
            data_list.append(info)
        if self.bad_clips:
            print_log(
                f'{type(self).__name__}: skipped {len(self.bad_clips)} of '
                f'{len(ann["clips"])} clips of {self.ann_file}', 'current',
                logging.WARNING)
        return data_list

    def check_entries(
        self, clips: list
    ) -> Iterator[Tuple[int, Optional[dict], Optional[ClipDataError]]]:
        """Check the raw clip entries of an annotation file one by one.

        Yields ``(index, info, error)`` per entry of ``clips``: the data
        info of a good entry (``error`` None), or the
        :class:`ClipDataError` of a bad one (``info`` None). An entry
        repeating the id of an earlier good entry is a duplicate.
        ``tools/misc/check_dataset.py`` uses this to know which entries
        are bad.

        Args:
            clips (list): The ``clips`` of the annotation file (after
                :meth:`load_data_list` has merged its metainfo).
        """
        seen = set()
        # resolves each folder once for all the clips of this file
        checker = RootChecker(self.data_prefix.get('root', ''))
        for index, raw in enumerate(clips):
            try:
                info = self.parse_data_info(raw, index, checker)
                if info['clip_id'] in seen:
                    raise ClipDataError(info['clip_id'], self.ann_file,
                                        'duplicate clip id')
            except ClipDataError as err:
                yield index, None, err
                continue
            seen.add(info['clip_id'])
            yield index, info, None

    def _read_annotation(self) -> dict:
        try:
            text = fileio.get_text(
                self.ann_file, backend_args=self.backend_args)
        except FileNotFoundError:
            raise ClipDataError('?', self.ann_file,
                                'annotation file not found') from None
        try:
            ann = json.loads(text)
        except json.JSONDecodeError as err:
            raise ClipDataError('?', self.ann_file,
                                f'malformed JSON: {err}') from None
        if not isinstance(ann, dict) or not isinstance(
                ann.get('clips'), list) or not isinstance(
                    ann.get('metainfo', {}), dict):
            raise ClipDataError(
                '?', self.ann_file, "malformed annotation: expected an "
                "object with a 'clips' list and a 'metainfo' object")
        return ann

    def _merge_file_metainfo(self, file_meta: dict) -> None:
        """Fill metainfo from the file; build ``label_map`` and palette."""
        file_classes = list(file_meta.get('classes', []))
        for key, value in file_meta.items():
            self._metainfo.setdefault(key, copy.deepcopy(value))
        classes = list(self._metainfo.get('classes', []))
        self._metainfo['classes'] = tuple(classes)
        self.label_map = None
        if file_classes and file_classes != classes:
            self.label_map = {
                i + 1: classes.index(c) + 1 if c in classes else 255
                for i, c in enumerate(file_classes)
            }
        palette = self._metainfo.get('palette')
        if palette is None or len(palette) != len(classes):
            self._metainfo['palette'] = make_palette(len(classes))
        self._metainfo.setdefault('dataset_name', type(self).__name__)
        self._metainfo.setdefault('fps', 1)
        self._metainfo.update(
            seg_mode=self.seg_mode,
            label_map=self.label_map,
            reduce_zero_label=self.reduce_zero_label)

    def parse_data_info(self,
                        raw: dict,
                        index: int,
                        checker: Optional[RootChecker] = None) -> dict:
        """Check one raw clip entry and turn it into a data info dict.

        Args:
            raw (dict): The clip entry of the annotation file.
            index (int): Its position in ``clips`` (named when the entry
                has no usable ``clip_id``).
            checker (RootChecker, optional): Checker of the dataset root,
                shared by the clips of one file. Defaults to a new one.

        Returns:
            dict: The data info of ``docs/data_contract.md``.
        """
        ann_file = self.ann_file
        if not isinstance(raw, dict) or not isinstance(
                raw.get('clip_id'), str) or not raw['clip_id']:
            raise ClipDataError(f'#{index}', ann_file,
                                "entry has no string 'clip_id'")
        clip_id = raw['clip_id']
        check_clip_id(clip_id, ann_file)
        frames = raw.get('frames')
        if not isinstance(frames, list) or not frames or not all(
                isinstance(f, dict) and isinstance(f.get('image'), str)
                for f in frames):
            raise ClipDataError(
                clip_id, ann_file,
                "'frames' must be a non-empty list of {'image': ...}")
        if not isinstance(raw.get('audio'), str):
            raise ClipDataError(clip_id, ann_file, "missing 'audio' path")
        categories = raw.get('categories', [])
        classes = self._metainfo['classes']
        unknown = [c for c in categories if c not in classes]
        if unknown:
            raise ClipDataError(clip_id, ann_file,
                                f'unknown categories {unknown}')

        checker = checker or RootChecker(self.data_prefix.get('root', ''))
        frame_paths = [
            self._join_path(clip_id, f['image'], 'frame', checker)
            for f in frames
        ]
        audio_path = self._join_path(clip_id, raw['audio'], 'audio', checker)
        mask_paths = [
            self._join_path(clip_id, f['mask'], 'mask', checker)
            if f.get('mask') else None for f in frames
        ]
        captions = [f.get('caption') for f in frames]
        self._check_optional(clip_id, mask_paths, 'mask',
                             self.allow_missing_masks)
        self._check_optional(clip_id, captions, 'caption',
                             self.allow_missing_captions)
        if any(c is not None and not isinstance(c, str) for c in captions):
            raise ClipDataError(clip_id, ann_file, 'a caption is not a string')
        if self.check_files:
            for path in [audio_path, *frame_paths, *mask_paths]:
                if path is not None and not fileio.exists(
                        path, backend_args=self.backend_args):
                    raise ClipDataError(clip_id, path, 'file not found')
        return dict(
            clip_id=clip_id,
            categories=list(categories),
            audio_path=audio_path,
            frame_paths=frame_paths,
            mask_paths=mask_paths,
            captions=captions,
            fps=self._metainfo['fps'],
            dataset_name=self._metainfo['dataset_name'],
            seg_mode=self.seg_mode,
            label_map=self.label_map,
            reduce_zero_label=self.reduce_zero_label)

    def _join_path(self, clip_id: str, rel: str, what: str,
                   checker: RootChecker) -> str:
        """``rel`` joined to the dataset root, refusing to leave it."""
        root = self.data_prefix.get('root', '')
        if not isinstance(rel, str):
            raise ClipDataError(clip_id, self.ann_file,
                                f'{what} path {rel!r} is not a string')
        try:
            path = safe_join(root, rel, follow_symlinks=False)
        except UnsafePathError:
            path = None
        if path is None or not (self.allow_external_symlinks
                                or checker.contains(path)):
            raise ClipDataError(
                clip_id, self.ann_file,
                f'{what} path {rel!r} leaves the dataset root {root!r}')
        return path

    def _check_optional(self, clip_id: str, values: list, name: str,
                        allowed: bool) -> None:
        if self.test_mode or allowed:
            return
        missing = [k for k, v in enumerate(values) if v is None]
        if missing:
            raise ClipDataError(
                clip_id, self.ann_file,
                f'frames {missing} have no {name} (allowed only in test mode '
                f'or with allow_missing_{name}s=True)')

    # ------------------------------------------------------------------
    def prepare_data(self, idx: int) -> Optional[dict]:
        """Run the pipeline; with ``skip_bad_clips`` a training clip whose
        files turn out to be bad is replaced by another (mmengine refetch)."""
        try:
            return super().prepare_data(idx)
        except ClipDataError as err:
            if not self.skip_bad_clips or self.test_mode:
                raise
            self.num_pipeline_skips += 1
            print_log(
                f'skipping bad clip ({self.num_pipeline_skips} so far in this '
                f'process): {err}', 'current', logging.WARNING)
            return None

    def get_cat_ids(self, idx: int) -> List[int]:
        """Indices (into ``classes``) of the clip's categories."""
        classes = list(self._metainfo['classes'])
        return [
            classes.index(c) for c in self.get_data_info(idx)['categories']
        ]
