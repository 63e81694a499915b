"""Writing a prediction video: painted frames, the source's sound, subtitles.

:class:`FramePainter` prepares what one prediction draws (mask colours,
outlines, caption band) once, then paints it on each of the source frames
it covers with a few array operations. :class:`OverlayWriter` encodes the
painted frames at the source's timestamps into an H.264 MP4 and muxes the
source's audio track as the frames go. :class:`SubtitleWriter` writes the
captions as SRT and WebVTT cues.
"""
import itertools
from fractions import Fraction
from typing import NamedTuple, Optional, TextIO, Tuple

import av
import cv2
import numpy as np

from mmseg.registry import VISUALIZERS
from rassu_mm.visualization import SSULocalVisualizer
from .video_io import VideoInfo, open_video

_FONT = cv2.FONT_HERSHEY_SIMPLEX
# audio codecs an MP4 holds as they are; others are re-encoded as AAC
_MP4_AUDIO_CODECS = ('aac', 'mp3', 'ac3', 'eac3', 'alac', 'opus', 'flac')
Pixels = Tuple[np.ndarray, np.ndarray]  # row and column indices
_VISUALIZERS = itertools.count()


def build_visualizer(vis_cfg: Optional[dict],
                     dataset_meta: dict) -> SSULocalVisualizer:
    """The visualizer of ``vis_cfg`` (a config's ``visualizer``; type
    ``SSULocalVisualizer`` unless it names one) without backends, as
    :class:`FramePainter` uses it (frames go to the overlay video, not to
    image files), with the ``classes``, ``palette``, ``dataset_name`` and
    ``seg_mode`` of ``dataset_meta``."""
    vis_cfg = dict(vis_cfg or {})
    vis_cfg.setdefault('type', 'SSULocalVisualizer')
    # a new name each time: visualizers are global instances by name
    vis_cfg.update(
        name=f'ssu_inferencer_{next(_VISUALIZERS)}', vis_backends=None,
        save_dir=None)
    visualizer = VISUALIZERS.build(vis_cfg)
    visualizer.set_dataset_meta(
        dataset_meta.get('classes'), dataset_meta.get('palette'),
        dataset_meta.get('dataset_name'), dataset_meta.get('seg_mode'))
    return visualizer


class Paint(NamedTuple):
    """What one prediction draws on a ``[H, W]`` frame (BGR)."""
    box: Optional[Tuple[int, int, int, int]]  # y0, y1, x0, x1 of the mask
    colors: np.ndarray  # [y1 - y0, x1 - x0, 3] uint8 mask colours
    blend: np.ndarray  # [y1 - y0, x1 - x0] uint8, 1 on pixels to blend
    outline: Pixels  # outline pixels
    outline_color: Tuple[int, int, int]
    band_top: int  # first row of the caption band (H: no caption)
    text: Pixels  # caption text pixels


class FramePainter:
    """Draws a prediction (mask and caption) on source frames.

    The mask is blended with the visualizer's colours and ``alpha`` and
    outlined as in :meth:`SSULocalVisualizer.draw_clip`; the caption is
    burned in as white text on a darkened band at the bottom of the frame,
    so the painted frame keeps the source's size.

    Args:
        visualizer (SSULocalVisualizer): Colours, opacity and outline.
        max_lines (int): Caption lines shown at most. Defaults to 3.
    """

    def __init__(self,
                 visualizer: SSULocalVisualizer,
                 max_lines: int = 3) -> None:
        self.visualizer = visualizer
        self.max_lines = max_lines

    def prepare(self, mask: np.ndarray, caption: Optional[str]) -> Paint:
        """Prepare the drawing of ``mask`` ``[H, W]`` (frame size) and
        ``caption``."""
        colors, blend, outline = self.visualizer.mask_layers(mask)
        box = None
        if blend.any():
            rows, cols = np.nonzero(blend.any(1))[0], np.nonzero(
                blend.any(0))[0]
            box = (rows[0], rows[-1] + 1, cols[0], cols[-1] + 1)
            colors = colors[box[0]:box[1], box[2]:box[3], ::-1].copy()
            blend = blend[box[0]:box[1], box[2]:box[3]].astype(np.uint8)
        color = self.visualizer.contour_color or (0, 0, 0)
        band_top, text = self._caption_pixels(caption, *mask.shape)
        return Paint(box, colors, blend, np.nonzero(outline),
                     tuple(color[::-1]), band_top, text)

    def _caption_pixels(self, caption: Optional[str], height: int,
                        width: int) -> Tuple[int, Pixels]:
        """The first row of the caption band and its text pixels."""
        if not caption:
            return height, (np.zeros(0, int), np.zeros(0, int))
        scale = max(0.4, width / 1400)
        thickness = max(1, int(round(scale * 1.5)))
        lines = self.visualizer.wrap_text(caption, width - 16,
                                          scale)[:self.max_lines]
        (_, line_h), baseline = cv2.getTextSize('Ag', _FONT, scale,
                                                thickness)
        step = line_h + baseline + 6
        band_h = min(height, step * len(lines) + 8)
        canvas = np.zeros((band_h, width), np.uint8)
        for i, line in enumerate(lines):
            cv2.putText(canvas, line, (8, 4 + line_h + i * step), _FONT,
                        scale, 255, thickness, cv2.LINE_AA)
        rows, cols = np.nonzero(canvas > 127)
        return height - band_h, (rows + height - band_h, cols)

    def paint(self, frame: np.ndarray, paint: Paint) -> np.ndarray:
        """Paint ``frame`` (BGR ``[H, W, 3]`` uint8) in place and return
        it."""
        alpha = self.visualizer.alpha
        if paint.box is not None:
            y0, y1, x0, x1 = paint.box
            region = frame[y0:y1, x0:x1]
            mixed = cv2.addWeighted(region, 1 - alpha, paint.colors, alpha,
                                    0)
            cv2.copyTo(mixed, paint.blend, region)  # in place, masked
        frame[paint.outline] = paint.outline_color
        if paint.band_top < frame.shape[0]:
            band = frame[paint.band_top:]
            band[:] = cv2.convertScaleAbs(band, alpha=0.35)
            frame[paint.text] = 255
        return frame


class OverlayWriter:
    """H.264 MP4 of painted frames, at the source's frame timestamps, with
    the source's audio track.

    The audio packets are copied unchanged when an MP4 can hold their codec
    (AAC, MP3, AC-3, E-AC-3, ALAC, Opus, FLAC) and re-encoded as AAC with
    the same rate and channel layout otherwise (PCM, Vorbis, ...); only a
    layout the AAC encoder refuses is downmixed to stereo. Audio is read
    from the source as the video advances, so nothing accumulates.

    Args:
        out_path (str): The ``.mp4`` to write.
        info (VideoInfo): The source video.
        crf (int): x264 quality (lower is better). Defaults to 23.
        preset (str): x264 speed preset. Defaults to ``'ultrafast'``
            (the fastest; slower presets give smaller files of the same
            quality).
    """

    def __init__(self,
                 out_path: str,
                 info: VideoInfo,
                 crf: int = 23,
                 preset: str = 'ultrafast') -> None:
        self._out = av.open(out_path, mode='w')
        self._video = self._out.add_stream(
            'libx264', rate=Fraction(info.fps).limit_denominator(100000))
        self._video.width = info.width + info.width % 2
        self._video.height = info.height + info.height % 2
        self._video.pix_fmt = 'yuv420p'
        self._video.codec_context.time_base = info.time_base
        self._video.options = {'crf': str(crf), 'preset': preset}
        self._source = self._audio = self._packets = self._resampler = None
        if info.has_audio:
            self._open_audio(info)

    def _open_audio(self, info: VideoInfo) -> None:
        self._source = open_video(info.path, info.path)
        stream = self._source.streams.audio[0]
        if info.audio_codec in _MP4_AUDIO_CODECS:
            self._audio = self._out.add_stream_from_template(stream)
        else:
            layout = info.audio_layout
            try:
                self._audio = self._out.add_stream(
                    'aac', rate=info.audio_rate, layout=layout)
            except (av.error.FFmpegError, ValueError):
                layout = 'stereo'
                self._audio = self._out.add_stream(
                    'aac', rate=info.audio_rate, layout=layout)
            self._resampler = av.AudioResampler(
                format='fltp', layout=layout, rate=info.audio_rate)
        self._packets = self._source.demux(stream)

    def _mux_audio(self, until: Optional[float]) -> None:
        """Mux the source's audio up to ``until`` seconds (None: all)."""
        if self._packets is None:
            return
        for packet in self._packets:
            if packet.dts is None:  # the demuxer's final empty packet
                continue
            time = None if packet.pts is None else float(packet.pts *
                                                         packet.time_base)
            if self._resampler is None:
                packet.stream = self._audio
                self._out.mux(packet)
            else:
                for frame in packet.decode():
                    for out in self._resampler.resample(frame):
                        self._out.mux(self._audio.encode(out))
            if until is not None and time is not None and time > until:
                return
        self._packets = None
        if self._resampler is not None:
            for out in self._resampler.resample(None):
                self._out.mux(self._audio.encode(out))
            self._out.mux(self._audio.encode())

    def write(self, image: np.ndarray, pts: int,
              time_base: Fraction) -> None:
        """Encode ``image`` (BGR ``[H, W, 3]``) shown at ``pts`` in
        ``time_base`` (the source frame's timestamp)."""
        height, width = self._video.height, self._video.width
        if image.shape[:2] != (height, width):  # odd sizes: pad to even
            image = cv2.copyMakeBorder(image, 0, height - image.shape[0], 0,
                                       width - image.shape[1],
                                       cv2.BORDER_REPLICATE)
        frame = av.VideoFrame.from_ndarray(image, format='bgr24')
        frame.pts, frame.time_base = pts, time_base
        self._out.mux(self._video.encode(frame))
        self._mux_audio(float(pts * time_base))

    def close(self) -> None:
        """Flush the encoder, mux the rest of the audio, close the files."""
        self._out.mux(self._video.encode())
        self._mux_audio(None)
        self._out.close()
        if self._source is not None:
            self._source.close()


def _timestamp(seconds: float, sep: str) -> str:
    millis = int(round(seconds * 1000))
    hours, millis = divmod(millis, 3600000)
    minutes, millis = divmod(millis, 60000)
    secs, millis = divmod(millis, 1000)
    return f'{hours:02d}:{minutes:02d}:{secs:02d}{sep}{millis:03d}'


class SubtitleWriter:
    """Captions as SubRip (``.srt``) and WebVTT (``.vtt``) cues.

    Consecutive frames with the same caption make one cue; a cue is written
    as soon as the caption changes, so nothing accumulates.

    Args:
        srt_path (str): The ``.srt`` file.
        vtt_path (str): The ``.vtt`` file.
    """

    def __init__(self, srt_path: str, vtt_path: str) -> None:
        self._srt: TextIO = open(srt_path, 'w', encoding='utf-8')
        self._vtt: TextIO = open(vtt_path, 'w', encoding='utf-8')
        self._vtt.write('WEBVTT\n\n')
        self._cue: Optional[list] = None  # [text, start, end]
        self._count = 0

    def add(self, text: Optional[str], start: float, end: float) -> None:
        """Show ``text`` from ``start`` to ``end`` seconds (None or empty:
        nothing)."""
        if self._cue is not None and self._cue[0] == text and \
                abs(self._cue[2] - start) < 1e-6:
            self._cue[2] = end
            return
        self._flush()
        self._cue = [text, start, end] if text else None

    def _flush(self) -> None:
        if self._cue is None:
            return
        text, start, end = self._cue
        self._count += 1
        self._srt.write(f'{self._count}\n{_timestamp(start, ",")} --> '
                        f'{_timestamp(end, ",")}\n{text}\n\n')
        self._vtt.write(f'{_timestamp(start, ".")} --> '
                        f'{_timestamp(end, ".")}\n{text}\n\n')
        self._cue = None

    def close(self) -> None:
        """Write the last cue and close the files."""
        self._flush()
        self._srt.close()
        self._vtt.close()
