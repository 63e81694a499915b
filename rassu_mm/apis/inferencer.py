"""SSUInferencer: videos in, sounding masks, captions and overlays out."""
from typing import Callable, Dict, Iterator, Optional

import torch.nn as nn
from mmengine.dataset import Compose, pseudo_collate
from mmengine.infer.infer import BaseInferencer, ModelType
from mmengine.logging import print_log
from mmengine.registry import init_default_scope
from tqdm import tqdm

from mmseg.utils import ConfigType, SampleList
from rassu_mm.datasets.errors import ClipDataError
from rassu_mm.utils.checkpoint import load_model_weights
from rassu_mm.utils.paths import UnsafePathError
from rassu_mm.visualization import SSULocalVisualizer
from .inputs import (InputsType, clip_name, dataset_meta, list_videos,
                     output_dir, window_pipeline)
from .overlay import FramePainter, Paint, build_visualizer
from .records import new_frame_records, new_frames
from .stage_timer import StageTimer
from .video_io import probe_video
from .video_job import VideoJob
from .windows import VideoWindows

ErrorHandler = Callable[[str, Exception], None]


class SSUInferencer(BaseInferencer):
    """Run an SSU model on videos, streaming: decode, predict and write
    window by window, so memory does not grow with the video's length.

    Frames are sampled at ``sample_fps`` and cut into windows of
    ``num_frames`` with their audio (:class:`VideoWindows`), which go
    through the config's test pipeline in memory (:func:`window_pipeline`)
    and ``model.test_step``. With ``out_dir`` every video gets a folder
    ``<out_dir>/<video name>/`` with the overlay video, the masks, the
    subtitles and the records of :meth:`postprocess` (:class:`VideoJob`).

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
            Defaults to ``'ultrafast'`` (encoding every source frame costs
            more than the model on CPU); slower ones give smaller files.
        scope (str): Registry scope. Defaults to ``'mmseg'``.

    Attributes:
        timer (StageTimer): Seconds since construction in ``decode`` (both
            decoding passes), ``preprocess`` (the test pipeline), ``model``
            (``test_step``), ``render`` (painting and encoding the source
            frames, on the render thread unless ``show``) and ``encode``
            (the rest of the writing and waiting for the render thread).
    """

    def __init__(self,
                 model: ModelType,
                 weights: Optional[str] = None,
                 device: Optional[str] = None,
                 num_frames: Optional[int] = None,
                 sample_fps: Optional[float] = None,
                 overlay_preset: str = 'ultrafast',
                 scope: str = 'mmseg') -> None:
        init_default_scope(scope)
        self.weights = weights
        self.overlay_preset = overlay_preset
        super().__init__(
            model=model, weights=weights, device=device, scope=scope)
        cfg = self.cfg
        self.num_frames = int(num_frames or cfg.get('num_frames', 10))
        self.sample_fps = float(sample_fps or cfg.get('fps', 1))
        self.seg_mode = self.dataset_meta['seg_mode']
        self.with_captions = cfg.model.get('caption_head') is not None
        self.painter = FramePainter(self.visualizer)
        self.timer = StageTimer()

    def _load_weights_to_model(self, model: nn.Module,
                               checkpoint: Optional[dict],
                               cfg: Optional[ConfigType]) -> None:
        """Load the weights (a published file that leaves the frozen
        pretrained ones to ``init_weights`` too) and keep the model's
        ``dataset_meta`` (:func:`dataset_meta`: the checkpoint's, else the
        config's test set's)."""
        if checkpoint is None:
            print_log(
                'no checkpoint given: the model keeps its initial weights',
                logger='current')
        else:
            load_model_weights(model, checkpoint, str(self.weights))
        self.dataset_meta = dataset_meta(checkpoint,
                                         cfg.test_dataloader.dataset)

    def _init_pipeline(self, cfg: ConfigType) -> Compose:
        """The test pipeline on decoded windows (:func:`window_pipeline`);
        keeps the audio loader's parameters for cutting the audio."""
        pipeline, self.audio_params = window_pipeline(
            cfg.test_dataloader.dataset.pipeline)
        return Compose(pipeline)

    def _init_collate(self, cfg: ConfigType) -> Callable:
        """``pseudo_collate`` (as the test loader) unless the test loader
        names a ``collate_fn`` (MMEngine's look-up of the default warns
        that mmseg has no function registry)."""
        if cfg.test_dataloader.get('collate_fn') is None:
            return pseudo_collate
        return super()._init_collate(cfg)

    def _init_visualizer(self, cfg: ConfigType) -> SSULocalVisualizer:
        """The config's visualizer without backends, with the model's
        ``dataset_meta`` (:func:`build_visualizer`)."""
        return build_visualizer(cfg.get('visualizer'), self.dataset_meta)

    def preprocess(self,
                   inputs: VideoWindows,
                   batch_size: int = 1) -> Iterator[dict]:
        """Collated batches of ``batch_size`` windows of one video, decoded
        and run through the pipeline as they are needed."""
        for chunk in self._get_chunk_data(inputs, batch_size):
            with self.timer('preprocess'):
                data = self.collate_fn([self.pipeline(w) for w in chunk])
            yield data

    def forward(self, inputs: dict, **kwargs) -> SampleList:
        """``model.test_step`` on a batch of windows."""
        with self.timer('model'):
            return super().forward(inputs, **kwargs)

    def visualize(self, inputs: list, preds: SampleList) -> Dict[int, Paint]:
        """The drawings (mask colours, caption) of the sampled frames new
        in ``preds``, as ``{k: Paint}``: :class:`VideoJob` paints them on
        the source frames they cover (not on the sampled ``inputs``),
        writes and shows them."""
        with self.timer('encode'):
            return {
                k: self.painter.prepare(mask, caption)
                for sample in preds
                for k, mask, caption in new_frames(sample)
            }

    def postprocess(self,
                    preds: SampleList,
                    visualization: Optional[Dict[int, Paint]],
                    return_datasamples: bool = False) -> dict:
        """Pack the outputs of a batch of windows.

        Returns:
            dict: ``predictions``, the record of each new sampled frame
            (:func:`frame_record`; with ``labels`` and ``classes`` for a
            semantic model), ``masks``, their masks ([H, W] uint8),
            ``visualization`` as given and, with ``return_datasamples``,
            ``data_samples`` (``preds``).
        """
        classes = None  # class names only for a semantic model
        if self.seg_mode == 'semantic':
            classes = self.dataset_meta.get('classes') or ()
        with self.timer('encode'):
            records, masks = new_frame_records(preds, self.sample_fps,
                                               classes)
        outputs = dict(
            predictions=records, masks=masks, visualization=visualization)
        if return_datasamples:
            outputs['data_samples'] = preds
        return outputs

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
            batch_size (int): Windows per forward pass. Defaults to 1.
            return_datasamples (bool): Also return every window's
                :class:`SSUDataSample` (these hold full-size masks, so
                memory grows with the video). Defaults to False.
            silent_if_no_audio (bool): Treat a video without an audio track
                as silent instead of refusing it. Defaults to False.
            show (bool): Show the painted frames in a window. Defaults to
                False.
            wait_time (float): Seconds each shown frame waits. Defaults to 0
                (as fast as possible).
            progress (bool): Show a progress bar. Defaults to False.

        Returns:
            dict: ``video``, ``out_dir``, ``frames`` (the records of
            :meth:`postprocess`) and, with ``return_datasamples``,
            ``data_samples``.

        Raises:
            ClipDataError: Unreadable file, no video stream, no audio track
                (without ``silent_if_no_audio``), a video shorter than one
                ``1 / sample_fps`` window, or a decoding error.
        """
        clip_id = clip_name(video)
        info = probe_video(video, clip_id)
        windows = VideoWindows.from_video(
            info, clip_id, self.num_frames, self.sample_fps,
            self.audio_params, self.timer, silent_if_no_audio,
            dataset_name=self.dataset_meta.get('dataset_name', ''),
            seg_mode=self.seg_mode)
        paint = out_dir is not None or show
        with VideoJob(info, clip_id, self.sample_fps, self.painter,
                      self.timer, out_dir, paint, show, wait_time,
                      self.overlay_preset, self.with_captions,
                      self.seg_mode) as job:
            for data in tqdm(self.preprocess(windows, batch_size),
                             desc=clip_id, disable=not progress,
                             total=windows.num_batches(batch_size)):
                preds = self.forward(data)
                visualization = self.visualize(data, preds) if paint else None
                job.write(
                    self.postprocess(preds, visualization, return_datasamples))
            job.finish()  # source frames after the last whole window
        return job.result(return_datasamples)

    def __call__(self,
                 inputs: InputsType,
                 return_datasamples: bool = False,
                 batch_size: int = 1,
                 out_dir: str = '',
                 *,
                 on_error: Optional[ErrorHandler] = None,
                 **kwargs) -> dict:
        """Predict every video of ``inputs``.

        Args:
            inputs (str | list[str]): A video, a list of videos or a folder
                (its files with a video extension).
            out_dir (str): Write each video's outputs to
                ``<out_dir>/<video name>/``; ``''`` writes nothing.
            on_error (callable, optional): Called as ``on_error(video,
                error)`` for an unusable video (:class:`ClipDataError`,
                :class:`UnsafePathError`), which is then skipped; None
                raises the error.
            return_datasamples, batch_size, **kwargs: The options of
                :meth:`infer_video` (also ``silent_if_no_audio``, ``show``,
                ``wait_time``, ``progress``).

        Returns:
            dict: ``predictions``, one dict per video (see
            :meth:`infer_video`; a skipped video has only ``video`` and
            ``error``), and ``visualization``, the overlay path of each
            video (None without ``out_dir`` or for a skipped video).
        """
        videos = list_videos(inputs)
        results = []
        for video in videos:
            try:
                video_dir = output_dir(out_dir, video, videos)
                results.append(
                    self.infer_video(video, video_dir, batch_size,
                                     return_datasamples, **kwargs))
            except (ClipDataError, UnsafePathError) as err:
                if on_error is None:
                    raise
                on_error(video, err)
                results.append(dict(video=video, error=str(err)))
        overlays = [VideoJob.overlay_path(r.get('out_dir')) for r in results]
        return dict(predictions=results, visualization=overlays)
