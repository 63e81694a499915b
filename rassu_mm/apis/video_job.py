"""VideoJob: the output files of one video, written as its predictions
arrive."""
import json
import math
import os
import os.path as osp
import queue
import threading
from typing import Dict, List, Optional

import cv2

from rassu_mm.utils.paths import safe_join
from .overlay import FramePainter, OverlayWriter, Paint, SubtitleWriter
from .stage_timer import StageTimer
from .video_io import VideoInfo, iter_frames

OVERLAY = 'overlay.mp4'  # the overlay video's name in an output folder


class VideoJob:
    """The outputs of one video, written as its predictions arrive.

    With ``out_dir``: ``overlay.mp4``, ``masks/<k>.png``, ``captions.srt``
    and ``captions.vtt`` (with ``captions``) and, on :meth:`close`,
    ``predictions.json``.

    Source frames are decoded a second time and painted with the
    prediction of the sampled frame they fall in (a source frame at ``t``
    seconds shows sampled frame ``floor(t * sample_fps)``: each prediction
    is held until the next one), so only the masks of the windows in
    flight are kept. Without ``show`` this decoding, painting and encoding
    runs on a thread of its own, overlapping the next windows' prediction
    (PyAV and OpenCV release the GIL); at most two windows' paints wait in
    its queue, so memory stays bounded. Leaving a ``with VideoJob(...)``
    block calls :meth:`close`.

    Args:
        info (VideoInfo): The source video.
        clip_id (str): Its name (errors, the render thread, the window).
        sample_fps (float): Sampled (predicted) frames per second.
        painter (FramePainter): Paints a drawing on a source frame.
        timer (StageTimer): Counts the second decoding for ``decode``, the
            painting and encoding for ``render`` and the rest of the
            writing (and the wait for the render thread) for ``encode``.
        out_dir (str, optional): The video's output folder; None writes
            nothing.
        paint (bool): Paint the source frames (for ``out_dir`` or
            ``show``). Defaults to False.
        show (bool): Show the painted frames in a window (painting then
            runs in the caller's thread). Defaults to False.
        wait_time (float): Seconds each shown frame waits. Defaults to 0.
        overlay_preset (str): x264 preset of ``overlay.mp4``.
        captions (bool): Write the subtitle files. Defaults to False.
        seg_mode (str): ``'binary'`` masks are written as 0 / 255, others
            as class indices. Defaults to ``'binary'``.

    Attributes:
        records (list[dict]): The records of the sampled frames so far.
        data_samples (list[SSUDataSample]): The window predictions of the
            outputs that had ``data_samples``.
    """

    def __init__(self,
                 info: VideoInfo,
                 clip_id: str,
                 sample_fps: float,
                 painter: FramePainter,
                 timer: StageTimer,
                 out_dir: Optional[str] = None,
                 paint: bool = False,
                 show: bool = False,
                 wait_time: float = 0,
                 overlay_preset: str = 'ultrafast',
                 captions: bool = False,
                 seg_mode: str = 'binary') -> None:
        self.info, self.clip_id, self.out_dir = info, clip_id, out_dir
        self.fps, self.painter, self.timer = sample_fps, painter, timer
        self.show, self.wait_time = show, wait_time
        self.binary = seg_mode == 'binary'
        self.records: List[dict] = []
        self.data_samples: list = []
        self.paints: Dict[int, Paint] = {}
        self.writer = self.subtitles = None
        self.frames = timer.iter(iter_frames(info.path, clip_id),
                                 'decode') if paint else None
        self.next_frame = None
        if out_dir is not None:
            os.makedirs(safe_join(out_dir, 'masks'), exist_ok=True)
            self.writer = OverlayWriter(
                safe_join(out_dir, OVERLAY), info, preset=overlay_preset)
            if captions:
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

    @staticmethod
    def overlay_path(out_dir: Optional[str]) -> Optional[str]:
        """The overlay video in the output folder ``out_dir``; None without
        one."""
        return osp.join(out_dir, OVERLAY) if out_dir else None

    def __enter__(self) -> 'VideoJob':
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def write(self, outputs: dict) -> None:
        """Write one batch's outputs (of ``SSUInferencer.postprocess``):
        paint the source frames its drawings (``visualization``, None
        without painting) cover, write the masks and the subtitle cues of
        its records (``predictions``), which are kept for the JSON and
        :meth:`result` (as its ``data_samples``, if any)."""
        with self.timer('encode'):
            if outputs['visualization'] is not None:
                self.add_paints(outputs['visualization'])
            if self.out_dir is not None:
                for record, mask in zip(outputs['predictions'],
                                        outputs['masks']):
                    k = record['frame']
                    cv2.imwrite(
                        safe_join(self.out_dir, 'masks', f'{k}.png'),
                        mask * 255 if self.binary else mask)
                    if self.subtitles is not None:
                        self.subtitles.add(record['caption'], k / self.fps,
                                           (k + 1) / self.fps)
            self.records.extend(outputs['predictions'])
            self.data_samples.extend(outputs.get('data_samples', []))

    def add_paints(self, paints: Dict[int, Paint]) -> None:
        """Paint and write the source frames up to the last of the sampled
        frames ``paints`` (``{k: Paint}``) covers, in the background when
        there is a render thread."""
        if self._queue is None:
            self.paints.update(paints)
            with self.timer('render'):
                self.render(max(self.paints))
            return
        self._raise_render_error()
        self._queue.put(paints)

    def finish(self) -> None:
        """Write the source frames after the last whole window and wait
        for the render thread."""
        if self._queue is None:
            with self.timer('render'):
                self.render(None)
            return
        with self.timer('encode'):
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
            # after an error 'finish' too ends the thread: an error on the
            # last queued paints is only seen by finish(), which joins it
            if item == 'stop' or (item == 'finish'
                                  and self._error is not None):
                return
            if self._error is not None:
                continue
            try:
                with self.timer('render'):
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
        with self.timer('encode'):
            if self._queue is not None:  # an error before finish()
                self._queue.put('stop')
                self._thread.join()
            if self.writer is not None:
                self.writer.close()
            if self.subtitles is not None:
                self.subtitles.close()
            if self.out_dir is not None:
                self._write_json()

    def result(self, with_datasamples: bool = False) -> dict:
        """What ``SSUInferencer.infer_video`` returns: ``video`` (the
        source's path), ``out_dir``, ``frames`` (:attr:`records`) and,
        ``with_datasamples``, ``data_samples``."""
        result = dict(video=self.info.path, out_dir=self.out_dir,
                      frames=self.records)
        if with_datasamples:
            result['data_samples'] = self.data_samples
        return result

    def _write_json(self) -> None:
        with open(safe_join(self.out_dir, 'predictions.json'), 'w') as f:
            json.dump(
                dict(
                    video=self.info.path,
                    video_fps=self.info.fps,
                    sample_fps=self.fps,
                    frames=self.records),
                f,
                indent=1)
