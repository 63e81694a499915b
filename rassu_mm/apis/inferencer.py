"""SSUInferencer: a video file in, sounding masks and captions out."""
import json
import os
import os.path as osp
import tempfile
from typing import Dict, List, Optional, Union

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from mmengine.structures import PixelData
from tqdm import tqdm

from rassu_mm.datasets.errors import ClipDataError
from rassu_mm.structures import SSUDataSample
from .video_io import (decode_audio, has_audio_stream, sample_frames,
                       write_video, write_wav)

# transforms that read annotations, which a raw video does not have
_ANNOTATION_TRANSFORMS = ('LoadClipMasks', 'LoadClipCaptions')


class SSUInferencer:
    """Run an SSU model on any PyAV-readable video, in the spirit of
    mmseg's ``MMSegInferencer``.

    The video is sampled at ``fps`` frames per second (the rate the model
    was trained at), its audio resampled to mono, and the frames are cut
    into windows of ``num_frames`` (the training clip length); the last,
    shorter window is taken as the final ``num_frames`` frames and only its
    new frames are kept. Each window goes through the config's test
    pipeline (without annotation loading) and ``model.test_step``.

    Args:
        model (str | Config): config file or object.
        weights (str, optional): checkpoint (loaded weights-only).
        device (str, optional): defaults to ``cuda`` when available.
        num_frames (int, optional): window length; defaults to the config's
            ``num_frames``.
        fps (float, optional): sampling rate; defaults to the config's
            ``fps`` (1 frame per second when absent).
        batch_size (int): windows per forward pass.
    """

    def __init__(self,
                 model: Union[str, Config],
                 weights: Optional[str] = None,
                 device: Optional[str] = None,
                 num_frames: Optional[int] = None,
                 fps: Optional[float] = None,
                 batch_size: int = 1) -> None:
        import rassu_mm  # noqa: F401  registers the components
        from mmseg.registry import MODELS, VISUALIZERS
        cfg = model if isinstance(model, Config) else Config.fromfile(model)
        init_default_scope(cfg.get('default_scope', 'mmseg'))
        self.cfg = cfg
        self.device = device or ('cuda' if torch.cuda.is_available() else
                                 'cpu')
        self.num_frames = int(num_frames or cfg.get('num_frames', 10))
        self.fps = float(fps or cfg.get('fps', 1))
        self.batch_size = batch_size
        self.model = MODELS.build(cfg.model)
        self.dataset_meta = {}
        if weights is not None:
            ckpt = load_checkpoint(self.model, weights, map_location='cpu')
            self.dataset_meta = ckpt.get('meta', {}).get('dataset_meta', {})
        self.model.to(self.device).eval()
        pipeline = cfg.test_dataloader.dataset.pipeline
        self.pipeline = Compose([
            self._for_inference(t) for t in pipeline
            if t['type'] not in _ANNOTATION_TRANSFORMS
        ])
        vis_cfg = dict(cfg.get('visualizer') or dict(type='SSULocalVisualizer'))
        vis_cfg.update(name=f'ssu_inferencer_{id(self)}', vis_backends=None,
                       save_dir=None)
        self.visualizer = VISUALIZERS.build(vis_cfg)
        self.visualizer.set_dataset_meta(
            self.dataset_meta.get('classes'), self.dataset_meta.get('palette'),
            self.dataset_meta.get('dataset_name'))
        self.audio_rate = self._audio_rate(pipeline)

    @staticmethod
    def _for_inference(transform: dict) -> dict:
        """No feature cache for one-off videos, and silence is a valid input
        at inference (the training-data check for silent audio is off)."""
        transform = dict(transform)
        if transform['type'] == 'LoadClipAudio':
            transform.update(cache_dir=None, silence_threshold=0.0)
        return transform

    @staticmethod
    def _audio_rate(pipeline: List[dict]) -> int:
        for t in pipeline:
            if t['type'] == 'LoadClipAudio':
                return int(t.get('sample_rate', 16000))
        return 16000

    def windows(self, num: int) -> List[List[int]]:
        """Frame indices of each window over ``num`` sampled frames."""
        size = min(self.num_frames, num)
        starts = list(range(0, num - size + 1, size))
        if starts[-1] + size < num:
            starts.append(num - size)
        return [list(range(s, s + size)) for s in starts]

    def _window_inputs(self, clip_id: str, frame_paths: List[str],
                       audio_path: str, idx: List[int]) -> dict:
        """Run the test pipeline on frames ``idx`` with their audio."""
        # the audio of window frames [k0, k0+T) starts at k0 / fps: cut it
        # so the loader's frame k <-> [k/fps, (k+1)/fps) mapping holds
        results = dict(
            clip_id=f'{clip_id}@{idx[0]}',
            frame_paths=[frame_paths[k] for k in idx],
            audio_path=audio_path.format(start=idx[0]),
            fps=self.fps,
            categories=[],
            dataset_name=self.dataset_meta.get('dataset_name', ''),
            seg_mode=self.cfg.get('seg_mode', 'binary'),
            mask_paths=[None] * len(idx),
            captions=[None] * len(idx))
        return self.pipeline(results)

    def __call__(self,
                 video: str,
                 out_dir: Optional[str] = None,
                 silent_if_no_audio: bool = False,
                 show_progress: bool = True) -> Dict:
        """Predict masks and captions for every sampled frame of ``video``.

        Args:
            video (str): path of the video file.
            out_dir (str, optional): where to write ``overlay.mp4`` (masks
                and captions drawn, with the original sound),
                ``masks/<k>.png`` (0 silent / 255 sounding, or class
                indices) and ``captions.json``.
            silent_if_no_audio (bool): treat a video without an audio track
                as silent instead of raising :class:`ClipDataError`.
            show_progress (bool): show a progress bar over windows.

        Returns:
            dict: ``masks`` ``[N, H, W]`` uint8, ``captions`` (N str or
            None), ``times`` (N window start times in s), ``frames`` (N BGR
            frames), ``fps``.
        """
        clip_id = osp.splitext(osp.basename(video))[0]
        frames = sample_frames(video, clip_id, self.fps)
        if has_audio_stream(video):
            samples = decode_audio(video, clip_id, self.audio_rate)
        elif silent_if_no_audio:
            samples = np.zeros(
                int(len(frames) / self.fps * self.audio_rate), np.int16)
        else:
            raise ClipDataError(
                clip_id, video, 'the video has no audio track; pass '
                '--silent-if-no-audio to treat it as silent')
        masks: List[Optional[np.ndarray]] = [None] * len(frames)
        captions: List[Optional[str]] = [None] * len(frames)
        with tempfile.TemporaryDirectory() as tmp:
            frame_paths = []
            for k, img in enumerate(frames):
                frame_paths.append(osp.join(tmp, f'{k}.png'))
                cv2.imwrite(frame_paths[-1], img)
            windows = self.windows(len(frames))
            for idx in windows:
                start = int(round(idx[0] / self.fps * self.audio_rate))
                write_wav(samples[start:], self.audio_rate,
                          osp.join(tmp, f'audio_{idx[0]}.wav'))
            batches = [
                windows[i:i + self.batch_size]
                for i in range(0, len(windows), self.batch_size)
            ]
            for batch in tqdm(
                    batches, desc=f'SSU {clip_id}',
                    disable=not show_progress):
                data = pseudo_collate([
                    self._window_inputs(clip_id, frame_paths,
                                        osp.join(tmp, 'audio_{start}.wav'),
                                        idx) for idx in batch
                ])
                with torch.no_grad():
                    outputs = self.model.test_step(data)
                for idx, sample in zip(batch, outputs):
                    pred = sample.pred_sem_seg.data.cpu().numpy()
                    texts = sample.get('pred_captions') or [None] * len(idx)
                    for t, k in enumerate(idx):
                        masks[k] = pred[t].astype(np.uint8)
                        captions[k] = texts[t]
        result = dict(
            masks=np.stack(masks),
            captions=captions,
            times=[k / self.fps for k in range(len(frames))],
            frames=frames,
            fps=self.fps)
        if out_dir is not None:
            self.save(result, samples, out_dir)
        return result

    def render(self,
               frame: np.ndarray,
               mask: np.ndarray,
               caption: Optional[str],
               min_width: int = 480) -> np.ndarray:
        """One BGR frame with its mask overlaid and its caption below; small
        frames are enlarged to ``min_width`` so the caption stays legible."""
        if frame.shape[1] < min_width:
            scale = min_width / frame.shape[1]
            size = (min_width, int(round(frame.shape[0] * scale)))
            frame = cv2.resize(frame, size, interpolation=cv2.INTER_LINEAR)
            mask = cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST)
        sample = SSUDataSample()
        sample.pred_sem_seg = PixelData(data=torch.from_numpy(mask[None]))
        if caption is not None:
            sample.pred_captions = [caption]
        rgb = self.visualizer.draw_clip([frame[..., ::-1]], sample,
                                        draw_gt=False, draw_pred=True)
        return np.ascontiguousarray(rgb[..., ::-1])

    def save(self, result: Dict, samples: np.ndarray, out_dir: str) -> None:
        """Write the overlay video, mask PNGs and captions JSON."""
        os.makedirs(osp.join(out_dir, 'masks'), exist_ok=True)
        binary = self.cfg.get('seg_mode', 'binary') == 'binary'
        rendered = []
        for k, (frame, mask, caption) in enumerate(
                zip(result['frames'], result['masks'], result['captions'])):
            cv2.imwrite(
                osp.join(out_dir, 'masks', f'{k}.png'),
                mask * 255 if binary else mask)
            rendered.append(self.render(frame, mask, caption))
        write_video(
            rendered,
            result['fps'],
            osp.join(out_dir, 'overlay.mp4'),
            audio=samples[:int(len(rendered) / result['fps'] *
                               self.audio_rate)],
            audio_rate=self.audio_rate)
        with open(osp.join(out_dir, 'captions.json'), 'w') as f:
            json.dump([
                dict(frame=k, time=t, caption=c) for k, (t, c) in enumerate(
                    zip(result['times'], result['captions']))
            ], f, indent=2)
