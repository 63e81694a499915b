"""SSULocalVisualizer: masks and captions of every frame of a clip."""
import math
from typing import List, Optional, Sequence, Tuple, Union

import cv2
import mmcv
import numpy as np
from mmengine.dist import master_only
from mmseg.registry import VISUALIZERS
from mmseg.visualization import SegLocalVisualizer

from rassu_mm.structures import SSUDataSample
from rassu_mm.utils.class_names import make_palette
from rassu_mm.utils.paths import UnsafePathError, is_safe_component
from rassu_mm.utils.seg_modes import seg_mode_of

_FONT = cv2.FONT_HERSHEY_SIMPLEX


@VISUALIZERS.register_module()
class SSULocalVisualizer(SegLocalVisualizer):
    """Draws one image per clip: for every frame the ground truth (left) and
    the prediction (right), each with its mask overlaid and its caption
    written below, frames in a grid of ``ncols`` such pairs per row.

    Binary masks (0 silent, 1 sounding) are drawn in ``mask_color``,
    semantic masks (label ``k`` is ``classes[k - 1]``) in the palette; the
    mode is ``dataset_meta['seg_mode']``, which the runner sets from the
    dataset (:class:`~rassu_mm.datasets.SSUDataset` writes it) and
    :meth:`set_dataset_meta` takes.

    The image goes to every visualisation backend (``LocalVisBackend``,
    ``TensorboardVisBackend``, ...), to a window (``show=True``) or to
    ``out_file``.

    Args:
        name (str): Instance name. Defaults to ``'visualizer'``.
        image (np.ndarray, optional): Initial image. Defaults to None.
        vis_backends (list[dict], optional): Backend configs.
            Defaults to None.
        save_dir (str, optional): Directory of the backends' files.
            Defaults to None.
        classes (list[str], optional): Semantic class names, label ``k`` is
            ``classes[k - 1]``. Defaults to ``dataset_meta['classes']``.
        palette (list, optional): RGB colour of each class. Defaults to
            ``dataset_meta['palette']``.
        dataset_name (str, optional): Stored in ``dataset_meta``.
        alpha (float): Opacity of the mask overlay. Defaults to 0.5.
        mask_color (tuple): RGB colour of sounding pixels in binary mode.
            Defaults to ``(255, 48, 48)``.
        contour_color (tuple, optional): RGB colour of the outline drawn
            around every mask region; None draws none. Defaults to white.
        ncols (int, optional): GT/prediction pairs per grid row. Defaults
            to about ``sqrt(T / 2)``, which gives a roughly square image.
    """

    def __init__(self,
                 name: str = 'visualizer',
                 image: Optional[np.ndarray] = None,
                 vis_backends: Optional[List[dict]] = None,
                 save_dir: Optional[str] = None,
                 classes: Optional[List[str]] = None,
                 palette: Optional[List] = None,
                 dataset_name: Optional[str] = None,
                 alpha: float = 0.5,
                 mask_color: Tuple[int, int, int] = (255, 48, 48),
                 contour_color: Optional[Tuple[int, int, int]] = (255, 255,
                                                                  255),
                 ncols: Optional[int] = None,
                 **kwargs) -> None:
        super().__init__(
            name, image, vis_backends, save_dir, alpha=alpha, **kwargs)
        self.set_dataset_meta(classes, palette, dataset_name)
        self.mask_color = np.array(mask_color, dtype=np.float64)
        self.contour_color = None if contour_color is None else tuple(
            int(c) for c in contour_color)
        self.ncols = ncols

    def set_dataset_meta(self,
                         classes: Optional[List[str]] = None,
                         palette: Optional[List] = None,
                         dataset_name: Optional[str] = None,
                         seg_mode: Optional[str] = None) -> None:
        """Store class names, palette and ``seg_mode`` as given (no
        Cityscapes default: the runner sets the dataset's metainfo before
        testing)."""
        self.dataset_meta = dict(
            classes=classes,
            palette=palette,
            dataset_name=dataset_name,
            seg_mode=seg_mode)

    @property
    def seg_mode(self) -> str:
        """``'binary'`` or ``'semantic'``: ``dataset_meta['seg_mode']``."""
        return seg_mode_of(self.dataset_meta, type(self).__name__)

    def mask_layers(
            self,
            mask: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What :meth:`_overlay` draws for ``mask`` ``[H, W]``, independent
        of the frame, so a video renderer can prepare it once and paint it
        on many frames.

        Returns:
            tuple[np.ndarray]: the RGB colour of every pixel ``[H, W, 3]``
            uint8 (0 where nothing is drawn), the pixels to blend ``[H, W]``
            bool (labels other than ``0`` and ``255``) and the outline
            pixels ``[H, W]`` bool (none without ``contour_color``).
        """
        colors = np.zeros(mask.shape + (3, ), np.uint8)
        outline = np.zeros(mask.shape, np.uint8)
        labels = [k for k in np.unique(mask) if k not in (0, 255)]
        for k in labels:
            if self.seg_mode == 'binary':
                color = self.mask_color
            else:
                palette = self.dataset_meta.get('palette') or \
                    make_palette(256)
                color = np.array(palette[k - 1], dtype=np.float64)
            sel = mask == k
            colors[sel] = color
            if self.contour_color is not None:
                contours, _ = cv2.findContours(
                    sel.astype(np.uint8), cv2.RETR_EXTERNAL,
                    cv2.CHAIN_APPROX_SIMPLE)
                cv2.drawContours(outline, contours, -1, 1,
                                 max(1, min(mask.shape) // 160))
        return colors, (mask != 0) & (mask != 255), outline.astype(bool)

    def _overlay(self, frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Blend the sounding pixels of ``mask`` ``[H, W]`` into ``frame``
        ``[H, W, 3]`` (RGB) and outline each region with ``contour_color``,
        so a mask stays visible on an object of its own colour; ``0`` and
        ``255`` pixels stay untouched."""
        if mask.shape != frame.shape[:2]:
            mask = mmcv.imresize(
                mask, frame.shape[1::-1], interpolation='nearest')
        colors, sel, outline = self.mask_layers(mask)
        out = frame.astype(np.float64)
        out[sel] = out[sel] * (1 - self.alpha) + colors[sel] * self.alpha
        out = out.round().astype(np.uint8)
        if self.contour_color is not None:
            out[outline] = self.contour_color
        return out

    @staticmethod
    def wrap_text(text: str, width: int, scale: float) -> List[str]:
        """Split ``text`` into lines no wider than ``width`` pixels."""
        lines = ['']
        for word in text.split():
            line = f'{lines[-1]} {word}'.strip()
            line_width = cv2.getTextSize(line, _FONT, scale, 1)[0][0]
            if lines[-1] and line_width > width:
                lines.append(word)
            else:
                lines[-1] = line
        return lines

    @staticmethod
    def _text_strip(lines: List[str], width: int, scale: float,
                    num_lines: int) -> np.ndarray:
        """A white ``[h, width, 3]`` strip with ``num_lines`` text rows."""
        (_, line_h), baseline = cv2.getTextSize('Ag', _FONT, scale, 1)
        step = line_h + baseline + 4
        strip = np.full((step * num_lines + 4, width, 3), 255, np.uint8)
        for i, line in enumerate(lines):
            cv2.putText(strip, line, (4, 4 + line_h + i * step), _FONT, scale,
                        (0, 0, 0), 1, cv2.LINE_AA)
        return strip

    def draw_clip(self, frames: Sequence[np.ndarray],
                  data_sample: SSUDataSample, draw_gt: bool,
                  draw_pred: bool) -> np.ndarray:
        """Compose the grid image of one clip.

        Args:
            frames (Sequence[np.ndarray]): ``T`` RGB frames ``[H, W, 3]``.
            data_sample (SSUDataSample): ``gt_sem_seg``/``pred_sem_seg``
                ``[T, H, W]`` and ``gt_captions``/``pred_captions``, each
                optional.
            draw_gt (bool): Draw the ground-truth panel.
            draw_pred (bool): Draw the prediction panel.

        Returns:
            np.ndarray: The RGB image.
        """
        panels = []
        for kind, on in (('gt', draw_gt), ('pred', draw_pred)):
            if not on:
                continue
            masks = data_sample.get(f'{kind}_sem_seg')
            masks = None if masks is None else \
                masks.data.cpu().numpy().astype(np.uint8)
            captions = data_sample.get(f'{kind}_captions')
            title = 'GT' if kind == 'gt' else 'Pred'
            panels.append([
                (frame if masks is None else self._overlay(frame, masks[t]),
                 f'{title}: {captions[t] or "-"}' if captions else title)
                for t, frame in enumerate(frames)
            ])
        height = max(f.shape[0] for f in frames)
        width = max(f.shape[1] for f in frames)
        scale = max(0.35, width / 900)
        texts = [[self.wrap_text(c, width - 8, scale) for _, c in p]
                 for p in panels]
        num_lines = max(len(lines) for p in texts for lines in p)
        cells = []
        for t in range(len(frames)):
            pair = []
            for panel, panel_texts in zip(panels, texts):
                img = np.zeros((height, width, 3), np.uint8)
                frame = panel[t][0]
                img[:frame.shape[0], :frame.shape[1]] = frame
                strip = self._text_strip(panel_texts[t], width, scale,
                                         num_lines)
                pair.append(np.concatenate([img, strip], axis=0))
            cells.append(np.concatenate(pair, axis=1))
        ncols = self.ncols or max(1, round(math.sqrt(len(frames) / 2)))
        blank = np.zeros_like(cells[0])
        cells += [blank] * (-len(cells) % ncols)
        rows = [
            np.concatenate(cells[i:i + ncols], axis=1)
            for i in range(0, len(cells), ncols)
        ]
        return np.concatenate(rows, axis=0)

    @master_only
    def add_datasample(self,
                       name: str,
                       image: Union[np.ndarray, Sequence[np.ndarray]],
                       data_sample: Optional[SSUDataSample] = None,
                       draw_gt: bool = True,
                       draw_pred: bool = True,
                       show: bool = False,
                       wait_time: float = 0,
                       out_file: Optional[str] = None,
                       step: int = 0) -> None:
        """Draw a clip and send the image to the backends (or a window, or
        ``out_file``).

        Args:
            name (str): Image identifier (e.g. ``'test_<clip_id>'``); the
                backends use it as a file name, so it must be one plain
                path component unless ``out_file`` is given.
            image (np.ndarray | Sequence[np.ndarray]): The ``T`` RGB frames,
                ``[T, H, W, 3]`` or a list of ``[H, W, 3]``.
            data_sample (SSUDataSample, optional): Ground truth and
                prediction of the clip. Without it the bare frames are
                drawn.
            draw_gt (bool): Draw the ground truth. Defaults to True.
            draw_pred (bool): Draw the prediction. Defaults to True.
            show (bool): Display the image in a window. Defaults to False.
            wait_time (float): Display time in seconds. Defaults to 0.
            out_file (str, optional): Write the image here instead of the
                backends. Defaults to None.
            step (int): Global step of the backends. Defaults to 0.

        Raises:
            UnsafePathError: ``name`` (e.g. from a clip id ``'../x'``) is
                not a plain file name and no ``out_file`` is given.
        """
        assert draw_gt or draw_pred, 'nothing to draw'
        if out_file is None and not is_safe_component(name):
            raise UnsafePathError(
                f'refusing to save image {name!r}: not a plain file name')
        data_sample = data_sample if data_sample is not None \
            else SSUDataSample()
        drawn = self.draw_clip(list(image), data_sample, draw_gt, draw_pred)
        self.set_image(drawn)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            mmcv.imwrite(mmcv.rgb2bgr(drawn), out_file)
        else:
            self.add_image(name, drawn, step)
