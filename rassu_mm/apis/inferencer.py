"""SSUInferencer: videos in, sounding masks, captions and overlays out."""
import itertools
import json
import math
import os
import os.path as osp
import queue
import threading
import time
from collections import defaultdict, deque
from contextlib import contextmanager
from typing import (Callable, Dict, Iterator, List, Optional, Sequence,
                    Union)

import cv2
import numpy as np
import torch.nn as nn
from mmengine.dataset import Compose, pseudo_collate
from mmengine.infer.infer import BaseInferencer, ModelType
from mmengine.logging import print_log
from mmengine.registry import init_default_scope
from tqdm import tqdm

from mmseg.registry import DATASETS, VISUALIZERS
from mmseg.utils import ConfigType, SampleList
from rassu_mm.datasets.audio import LogMelParams
from rassu_mm.datasets.errors import ClipDataError
from rassu_mm.datasets.transforms import PackSSUInputs
from rassu_mm.utils.checkpoint import load_model_weights
from rassu_mm.utils.paths import UnsafePathError, safe_join
from rassu_mm.visualization import SSULocalVisualizer
from .overlay import FramePainter, OverlayWriter, Paint, SubtitleWriter
from .video_io import (VideoInfo, iter_audio, iter_frames,
                       iter_sampled_frames, probe_video)

InputsType = Union[str, Sequence[str]]
VIDEO_EXTENSIONS = ('.mp4', '.m4v', '.mov', '.mkv', '.webm', '.avi', '.mpg',
                    '.mpeg', '.ts', '.flv', '.wmv', '.3gp')
# transforms that read annotations, which a raw video does not have
_ANNOTATION_TRANSFORMS = ('LoadClipMasks', 'LoadClipCaptions')
# metainfo the inferencer adds to every window so predictions can be placed
_WINDOW_KEYS = ('video_path', 'frame_indices', 'num_new')
ErrorHandler = Callable[[str, Exception], None]
_INSTANCES = itertools.count()


class _AudioWindow:
    """The decoded audio from the current window's start on: filled from an
    incremental decoder as windows ask for it, trimmed as they advance.

    Args:
        chunks (Iterator[np.ndarray], optional): mono float32 chunks at
            ``rate``; None for a silent video.
        rate (int): Sample rate.
    """

    def __init__(self, chunks: Optional[Iterator[np.ndarray]],
                 rate: int) -> None:
        self.chunks, self.rate = chunks, rate
        self.start = 0  # sample index of self.samples[0]
        self.samples = np.zeros(0, np.float32)

    def take(self, start: int, stop: int) -> np.ndarray:
        """Samples ``[start, stop)`` (fewer past the end of the audio,
        zeros for a silent video); earlier samples are then dropped."""
        pieces = [self.samples[start - self.start:]]
        end = self.start + len(self.samples)
        while self.chunks is not None and end < stop:
            chunk = next(self.chunks, None)
            if chunk is None:
                self.chunks = None
                break
            pieces.append(chunk)
            end += len(chunk)
        self.samples = np.concatenate(pieces)
        self.start = start
        if self.chunks is None and end < stop and not len(self.samples):
            return np.zeros(stop - start, np.float32)
        return self.samples[:stop - start]


class _VideoJob:
    """The outputs of one video, written as its predictions arrive.

    Source frames are decoded a second time and painted with the
    prediction of the sampled frame they fall in (a source frame at ``t``
    seconds shows sampled frame ``floor(t * sample_fps)``: each prediction
    is held until the next one), so only the masks of the windows in
    flight are kept. Without ``show`` this decoding, painting and encoding
    runs on a thread of its own, overlapping the next windows' prediction
    (PyAV and OpenCV release the GIL); at most two windows' paints wait in
    its queue, so memory stays bounded.
    """

    def __init__(self, inferencer: 'SSUInferencer', info: VideoInfo,
                 clip_id: str, out_dir: Optional[str],
                 paint: bool, show: bool = False,
                 wait_time: float = 0) -> None:
        self.info, self.clip_id, self.out_dir = info, clip_id, out_dir
        self.fps = inferencer.sample_fps
        self.painter = inferencer.painter
        self.show, self.wait_time = show, wait_time
        self.records: List[dict] = []
        self.data_samples: SampleList = []
        self.paints: Dict[int, Paint] = {}
        self.writer = self.subtitles = None
        self._timed = inferencer._timed
        self.frames = inferencer._timed_iter(
            iter_frames(info.path, clip_id), 'decode') if paint else None
        self.next_frame = None
        if out_dir is not None:
            os.makedirs(safe_join(out_dir, 'masks'), exist_ok=True)
            self.writer = OverlayWriter(
                safe_join(out_dir, 'overlay.mp4'),
                info,
                preset=inferencer.overlay_preset)
            if inferencer.with_captions:
                self.subtitles = SubtitleWriter(
                    safe_join(out_dir, 'captions.srt'),
                    safe_join(out_dir, 'captions.vtt'))
        self._queue: Optional[queue.Queue] = None
        self._error: Optional[BaseException] = None
        if paint and not show:
            self._queue = queue.Queue(maxsize=2)
            self._thread = threading.Thread(
                target=self._render_worker, name=f'render {clip_id}',
                daemon=True)
            self._thread.start()

    def add_paints(self, paints: Dict[int, Paint]) -> None:
        """Paint and write the source frames up to the last of the sampled
        frames ``paints`` (``{k: Paint}``) covers, in the background when
        there is a render thread."""
        if self._queue is None:
            self.paints.update(paints)
            with self._timed('render'):
                self.render(max(self.paints))
            return
        self._raise_render_error()
        self._queue.put(paints)

    def finish(self) -> None:
        """Write the source frames after the last whole window and wait
        for the render thread."""
        if self._queue is None:
            with self._timed('render'):
                self.render(None)
            return
        self._queue.put('finish')
        self._thread.join()
        self._queue = None
        self._raise_render_error()

    def _raise_render_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _render_worker(self) -> None:
        """Render the queued paints until ``'finish'`` (the rest of the
        video too) or ``'stop'``; after an error only drain the queue."""
        while True:
            item = self._queue.get()
            if item == 'stop':
                return
            if self._error is not None:
                continue
            try:
                with self._timed('render'):
                    if item == 'finish':
                        self.render(None)
                        return
                    self.paints.update(item)
                    self.render(max(self.paints))
            except BaseException as err:  # raised in the caller's thread
                self._error = err
                if item == 'finish':
                    return

    def render(self, until: Optional[int]) -> None:
        """Paint and write (and show) the source frames whose sampled
        frame is at most ``until`` (None: all the remaining frames)."""
        if self.frames is None or not self.paints:
            return
        last = max(self.paints)
        while True:
            if self.next_frame is None:
                self.next_frame = next(self.frames, None)
                if self.next_frame is None:
                    return
            frame = self.next_frame
            k = max(0, math.floor(frame.time * self.fps + 1e-6))
            if until is not None and k > until:
                return
            k = min(k, last)  # frames after the last whole window
            # times going backwards (broken files) reuse the oldest paint
            paint = self.paints.get(k) or self.paints[min(self.paints)]
            image = self.painter.paint(frame.to_ndarray(format='bgr24'), paint)
            if self.writer is not None:
                self.writer.write(image, frame.pts, frame.time_base)
            if self.show:
                cv2.imshow(f'SSU {self.clip_id}', image)
                cv2.waitKey(max(1, int(self.wait_time * 1000)))
            for old in [j for j in self.paints if j < k]:
                del self.paints[old]
            self.next_frame = None

    def close(self) -> None:
        """Stop the render thread, write the JSON and close the files
        (after an error too: what was written so far stays readable)."""
        if self._queue is not None:  # an error before finish()
            self._queue.put('stop')
            self._thread.join()
        if self.writer is not None:
            self.writer.close()
        if self.subtitles is not None:
            self.subtitles.close()
        if self.out_dir is not None:
            with open(safe_join(self.out_dir, 'predictions.json'), 'w') as f:
                json.dump(
                    dict(
                        video=self.info.path,
                        video_fps=self.info.fps,
                        sample_fps=self.fps,
                        frames=self.records),
                    f,
                    indent=1)


class SSUInferencer(BaseInferencer):
    """Run an SSU model on videos, streaming: decode, predict and write
    window by window, so memory does not grow with the video's length.

    Frames are sampled at ``sample_fps`` (by default the config's ``fps``,
    the rate the model was trained at) and cut into windows of
    ``num_frames`` (the training clip length); a last, shorter remainder is
    predicted as the final ``num_frames`` frames, of which only the new ones
    are kept. The audio is decoded incrementally, mixed to mono and
    resampled to the audio loader's rate. Each window's frames and waveform
    go through the config's test pipeline in memory
    (:class:`LoadClipFramesFromNDArray`, :class:`LoadClipAudioFromNDArray`
    replace the file loaders; annotation loaders are dropped) and
    ``model.test_step``.

    With ``out_dir`` every video gets a folder
    ``<out_dir>/<video name>/`` with ``overlay.mp4`` (every source frame,
    painted with the mask and caption of the sampled frame it falls in,
    with the source's audio), ``captions.srt`` and ``captions.vtt``,
    ``masks/<k>.png`` (0 silent / 255 sounding, or class indices) and
    ``predictions.json`` (per sampled frame: time, caption, sounding-area
    share and, for semantic models, labels and classes).

    Args:
        model (str | dict | Config): Config file or object.
        weights (str, optional): Checkpoint. None keeps random weights.
        device (str, optional): Defaults to the available accelerator.
        num_frames (int, optional): Window length; defaults to the config's
            ``num_frames``.
        sample_fps (float, optional): Sampled (predicted) frames per second;
            defaults to the config's ``fps`` (1 when absent). Higher values
            give denser predictions.
        overlay_preset (str): x264 speed preset of ``overlay.mp4``.
            Defaults to ``'ultrafast'``: encoding every source frame costs
            more than the model on CPU; a slower preset (``'veryfast'``,
            ``'medium'``) gives a smaller file of the same quality.
        scope (str): Registry scope. Defaults to ``'mmseg'``.

    Attributes:
        timings (dict): Seconds spent since construction in ``decode``
            (both decoding passes, audio included), ``preprocess`` (the test
            pipeline), ``model`` (``test_step``), ``render`` (painting and
            H.264-encoding the source frames, on the render thread, so it
            overlaps the other stages unless ``show``) and ``encode``
            (preparing the drawings, mask PNGs, subtitles, waiting for the
            render thread and closing the files).
    """

    preprocess_kwargs: set = set()
    forward_kwargs: set = set()
    visualize_kwargs: set = {'show', 'wait_time'}
    postprocess_kwargs: set = set()

    def __init__(self,
                 model: ModelType,
                 weights: Optional[str] = None,
                 device: Optional[str] = None,
                 num_frames: Optional[int] = None,
                 sample_fps: Optional[float] = None,
                 overlay_preset: str = 'ultrafast',
                 scope: str = 'mmseg') -> None:
        import rassu_mm  # noqa: F401  registers components, safe loading
        init_default_scope(scope)
        self.dataset_meta: dict = {}
        self.audio_params = LogMelParams()
        self.weights = weights
        self.overlay_preset = overlay_preset
        super().__init__(
            model=model, weights=weights, device=device, scope=scope)
        cfg = self.cfg
        self.num_frames = int(num_frames or cfg.get('num_frames', 10))
        self.sample_fps = float(sample_fps or cfg.get('fps', 1))
        self.seg_mode = cfg.test_dataloader.dataset.get(
            'seg_mode', cfg.get('seg_mode', 'binary'))
        self.with_captions = cfg.model.get('caption_head') is not None
        dataset_cls = DATASETS.get(cfg.test_dataloader.dataset.type)
        if not self.dataset_meta and dataset_cls is not None:
            self.dataset_meta = dict(dataset_cls.METAINFO)
        self.visualizer.seg_mode = self.seg_mode
        self.visualizer.set_dataset_meta(
            self.dataset_meta.get('classes'),
            self.dataset_meta.get('palette'),
            self.dataset_meta.get('dataset_name'))
        self.painter = FramePainter(self.visualizer)
        self.timings: Dict[str, float] = defaultdict(float)
        self._timings_lock = threading.Lock()
        self._open_blocks = threading.local()  # per thread: [stage, start]

    def _load_weights_to_model(self, model: nn.Module,
                               checkpoint: Optional[dict],
                               cfg: Optional[ConfigType]) -> None:
        """Load the weights (a published file that leaves the frozen
        pretrained ones to ``init_weights`` too) and keep the checkpoint's
        ``dataset_meta``."""
        if checkpoint is None:
            print_log(
                'no checkpoint given: the model keeps its initial weights',
                logger='current')
            return
        load_model_weights(model, checkpoint, str(self.weights))
        self.dataset_meta = dict(
            checkpoint.get('meta', {}).get('dataset_meta') or {})

    def _init_pipeline(self, cfg: ConfigType) -> Compose:
        """The test pipeline on decoded arrays: file loaders become their
        in-memory counterparts, annotation loaders are dropped and the
        window's placement is packed into the metainfo."""
        pipeline = []
        for transform in cfg.test_dataloader.dataset.pipeline:
            transform = dict(transform)
            kind = transform['type']
            if kind in _ANNOTATION_TRANSFORMS:
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
                self.audio_params = LogMelParams(**params)
                transform = dict(type='LoadClipAudioFromNDArray', **params)
            elif kind == 'PackSSUInputs':
                keys = transform.get('meta_keys', PackSSUInputs().meta_keys)
                transform['meta_keys'] = tuple(keys) + _WINDOW_KEYS
            pipeline.append(transform)
        return Compose(pipeline)

    def _init_collate(self, cfg: ConfigType) -> Callable:
        """The test loader's ``collate_fn``, by default ``pseudo_collate``
        (as the test loader)."""
        if cfg.test_dataloader.get('collate_fn') is None:
            return pseudo_collate
        return super()._init_collate(cfg)

    def _init_visualizer(self, cfg: ConfigType) -> SSULocalVisualizer:
        """The config's visualizer without backends (frames go to the
        overlay video, not to image files)."""
        vis_cfg = dict(cfg.get('visualizer') or {})
        vis_cfg.setdefault('type', 'SSULocalVisualizer')
        # a new name each time: visualizers are global instances by name
        vis_cfg.update(
            name=f'ssu_inferencer_{next(_INSTANCES)}', vis_backends=None,
            save_dir=None)
        return VISUALIZERS.build(vis_cfg)

    @contextmanager
    def _timed(self, stage: str):
        """Add the time spent in the block to ``timings[stage]``; a nested
        block's time counts for the inner stage only. Each thread has its
        own blocks (the render thread's overlap the caller's)."""
        running = self._open_blocks.__dict__.setdefault('stack', [])
        now = time.perf_counter()
        if running:
            self._add_time(running[-1][0], now - running[-1][1])
        running.append([stage, now])
        try:
            yield
        finally:
            now = time.perf_counter()
            stage, since = running.pop()
            self._add_time(stage, now - since)
            if running:
                running[-1][1] = now

    def _add_time(self, stage: str, seconds: float) -> None:
        with self._timings_lock:
            self.timings[stage] += seconds

    def _timed_iter(self, iterator: Iterator, stage: str) -> Iterator:
        while True:
            with self._timed(stage):
                item = next(iterator, None)
            if item is None:
                return
            yield item

    @staticmethod
    def list_videos(inputs: InputsType) -> List[str]:
        """A path, a list of paths or a folder (its files with a video
        extension, sorted) as a list of paths."""
        if isinstance(inputs, str):
            if osp.isdir(inputs):
                return [
                    osp.join(inputs, name)
                    for name in sorted(os.listdir(inputs))
                    if osp.splitext(name)[1].lower() in VIDEO_EXTENSIONS
                ]
            inputs = [inputs]
        return list(inputs)

    def _windows(self, info: VideoInfo, clip_id: str) -> Iterator[dict]:
        """Pipeline inputs of the successive windows of a video (silent
        audio for a video without an audio track)."""
        size, fps = self.num_frames, self.sample_fps
        rate = self.audio_params.sample_rate
        chunks = iter_audio(info.path, clip_id, rate) \
            if info.has_audio else None
        audio = _AudioWindow(chunks, rate)
        recent: deque = deque(maxlen=size)
        num = new = 0
        for frame in self._timed_iter(
                iter_sampled_frames(info.path, clip_id, fps), 'decode'):
            recent.append(frame)
            num, new = num + 1, new + 1
            if new == size:
                yield self._window(info, clip_id, list(recent), num, new,
                                   audio)
                new = 0
        if new:
            yield self._window(info, clip_id, list(recent), num, new, audio)

    def _window(self, info: VideoInfo, clip_id: str,
                frames: List[np.ndarray], num: int, new: int,
                audio: _AudioWindow) -> dict:
        """The window of ``frames`` ending at sampled frame ``num - 1``, of
        which the last ``new`` are not in an earlier window."""
        first = num - len(frames)
        params, fps = self.audio_params, self.sample_fps
        span = (len(frames) - 1) / fps + params.patch_sec + params.window_sec
        start = int(round(first / fps * audio.rate))
        with self._timed('decode'):
            waveform = audio.take(start,
                                  start + int(math.ceil(span * audio.rate)))
        return dict(
            clip_id=f'{clip_id}@{first}',
            video_path=info.path,
            frames=frames,
            waveform=waveform,
            fps=fps,
            frame_indices=list(range(first, num)),
            num_new=new,
            categories=[],
            dataset_name=self.dataset_meta.get('dataset_name', ''),
            seg_mode=self.seg_mode)

    def preprocess(self,
                   inputs: VideoInfo,
                   batch_size: int = 1,
                   clip_id: str = 'video') -> Iterator[dict]:
        """Collated batches of ``batch_size`` windows of one video, decoded
        and run through the pipeline as they are needed."""
        windows = self._windows(inputs, clip_id)
        for chunk in self._get_chunk_data(windows, batch_size):
            with self._timed('preprocess'):
                data = self.collate_fn([self.pipeline(w) for w in chunk])
            yield data

    def forward(self, inputs: dict, **kwargs) -> SampleList:
        """``model.test_step`` on a batch of windows."""
        with self._timed('model'):
            return super().forward(inputs, **kwargs)

    @staticmethod
    def _new_frames(sample) -> Iterator[tuple]:
        """``(k, mask [H, W] uint8, caption)`` of the frames of a window
        prediction that no earlier window predicted."""
        masks = sample.pred_sem_seg.data.cpu().numpy().astype(np.uint8)
        captions = sample.get('pred_captions') or [None] * len(masks)
        indices = sample.frame_indices
        for t in range(len(indices) - sample.num_new, len(indices)):
            yield indices[t], masks[t], captions[t]

    def visualize(self,
                  inputs: _VideoJob,
                  preds: SampleList,
                  show: bool = False,
                  wait_time: float = 0) -> None:
        """Prepare the drawing of the predictions ``preds`` and hand it to
        the video's renderer, which paints and writes (and, with ``show``
        given to the video, shows) the source frames they cover."""
        if inputs.frames is None:
            return
        with self._timed('encode'):
            paints = {
                k: self.painter.prepare(mask, caption)
                for sample in preds
                for k, mask, caption in self._new_frames(sample)
            }
            inputs.add_paints(paints)

    def postprocess(self,
                    preds: SampleList,
                    visualization: _VideoJob,
                    return_datasamples: bool = False) -> List[dict]:
        """Record (and with an output folder write) the masks and captions
        of ``preds``.

        Returns:
            list[dict]: per new sampled frame ``frame`` (index), ``time``
            (s), ``caption``, ``sounding_area`` (share of sounding pixels)
            and, for semantic models, ``labels`` and ``classes``.
        """
        job = visualization
        classes = self.dataset_meta.get('classes') or ()
        records = []
        with self._timed('encode'):
            for sample in preds:
                for k, mask, caption in self._new_frames(sample):
                    start = k / self.sample_fps
                    record = dict(
                        frame=k,
                        time=start,
                        caption=caption,
                        sounding_area=float(((mask != 0) &
                                             (mask != 255)).mean()))
                    if self.seg_mode == 'semantic':
                        labels = [
                            int(v) for v in np.unique(mask)
                            if v not in (0, 255)
                        ]
                        record.update(
                            labels=labels,
                            classes=[
                                classes[v - 1] for v in labels
                                if v <= len(classes)
                            ])
                    records.append(record)
                    if job.out_dir is None:
                        continue
                    cv2.imwrite(
                        safe_join(job.out_dir, 'masks', f'{k}.png'),
                        mask * 255 if self.seg_mode == 'binary' else mask)
                    if job.subtitles is not None:
                        job.subtitles.add(caption, start,
                                          (k + 1) / self.sample_fps)
            if return_datasamples:
                job.data_samples.extend(preds)
        job.records.extend(records)
        return records

    def _video_name(self, video: str, videos: List[str]) -> str:
        """The output folder name: the file name without its extension,
        with it when two inputs share a stem."""
        stem = osp.splitext(osp.basename(video))[0]
        stems = [osp.splitext(osp.basename(v))[0] for v in videos]
        return osp.basename(video) if stems.count(stem) > 1 else stem

    def infer_video(self,
                    video: str,
                    out_dir: Optional[str] = None,
                    batch_size: int = 1,
                    return_datasamples: bool = False,
                    silent_if_no_audio: bool = False,
                    show: bool = False,
                    wait_time: float = 0,
                    progress: bool = False) -> dict:
        """Predict one video, streaming (see the class docstring).

        Args:
            video (str): The video file.
            out_dir (str, optional): This video's output folder; None writes
                nothing.

        Returns:
            dict: ``video``, ``out_dir``, ``frames`` (the records of
            :meth:`postprocess`) and, with ``return_datasamples``,
            ``data_samples`` (every window's :class:`SSUDataSample`: these
            hold full-size masks, so memory grows with the video).

        Raises:
            ClipDataError: Unreadable file, no video stream, no audio track
                (without ``silent_if_no_audio``), a video shorter than one
                ``1 / sample_fps`` window, or a decoding error.
        """
        clip_id = osp.splitext(osp.basename(video))[0]
        info = probe_video(video, clip_id)
        if info.duration is not None and \
                info.duration * self.sample_fps < 1 - 1e-3:
            raise ClipDataError(
                clip_id, video, f'video too short: {info.duration:.2f} s, '
                f'less than one sampled frame at {self.sample_fps:g} fps')
        if not info.has_audio and not silent_if_no_audio:
            raise ClipDataError(
                clip_id, video, 'no audio track (pass --silent-if-no-audio '
                'to treat the video as silent)')
        job = _VideoJob(self, info, clip_id, out_dir,
                        out_dir is not None or show, show, wait_time)
        total = None if info.duration is None else math.ceil(
            info.duration * self.sample_fps / self.num_frames / batch_size)
        try:
            for data in tqdm(
                    self.preprocess(info, batch_size, clip_id),
                    desc=clip_id,
                    total=total,
                    disable=not progress):
                preds = self.forward(data)
                self.visualize(job, preds, show=show, wait_time=wait_time)
                self.postprocess(preds, job, return_datasamples)
            with self._timed('encode'):
                # source frames after the last whole window
                job.finish()
        finally:
            with self._timed('encode'):
                job.close()
        result = dict(video=video, out_dir=out_dir, frames=job.records)
        if return_datasamples:
            result['data_samples'] = job.data_samples
        return result

    def __call__(self,
                 inputs: InputsType,
                 return_datasamples: bool = False,
                 batch_size: int = 1,
                 out_dir: str = '',
                 show: bool = False,
                 wait_time: float = 0,
                 silent_if_no_audio: bool = False,
                 on_error: Optional[ErrorHandler] = None,
                 progress: bool = False) -> dict:
        """Predict every video of ``inputs``.

        Args:
            inputs (str | list[str]): A video, a list of videos or a folder
                (its files with a video extension).
            return_datasamples (bool): Also return every window's
                :class:`SSUDataSample` (memory grows with the video).
                Defaults to False.
            batch_size (int): Windows per forward pass. Defaults to 1.
            out_dir (str): Write each video's outputs to
                ``<out_dir>/<video name>/``; ``''`` writes nothing.
            show (bool): Show the painted frames in a window. Defaults to
                False.
            wait_time (float): Seconds each shown frame waits. Defaults to 0
                (as fast as possible).
            silent_if_no_audio (bool): Treat a video without an audio track
                as silent instead of refusing it. Defaults to False.
            on_error (callable, optional): Called as ``on_error(video,
                error)`` for an unusable video (:class:`ClipDataError`,
                :class:`UnsafePathError`), which is then skipped; None
                raises the error.
            progress (bool): Show a progress bar per video.

        Returns:
            dict: ``predictions``, one dict per video (see
            :meth:`infer_video`; a skipped video has only ``video`` and
            ``error``), and ``visualization``, the overlay path of each
            video (None without ``out_dir`` or for a skipped video).
        """
        videos = self.list_videos(inputs)
        predictions, overlays = [], []
        for video in videos:
            try:
                video_dir = safe_join(out_dir, self._video_name(
                    video, videos)) if out_dir else None
                result = self.infer_video(video, video_dir, batch_size,
                                          return_datasamples,
                                          silent_if_no_audio, show,
                                          wait_time, progress)
            except (ClipDataError, UnsafePathError) as err:
                if on_error is None:
                    raise
                on_error(video, err)
                predictions.append(dict(video=video, error=str(err)))
                overlays.append(None)
                continue
            predictions.append(result)
            overlays.append(
                safe_join(video_dir, 'overlay.mp4') if video_dir else None)
        return dict(predictions=predictions, visualization=overlays)
