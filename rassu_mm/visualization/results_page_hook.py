"""SSUResultsPageHook: thumbnails of every test clip and an HTML page."""
import logging
from typing import Optional, Sequence

import cv2
import mmcv
import mmengine.fileio as fileio
from mmengine.dist import master_only
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import Runner
from mmseg.registry import HOOKS

from rassu_mm.structures import SSUDataSample
from rassu_mm.utils.paths import safe_join
from .html_report import thumbnail_name, write_results_page
from .local_visualizer import SSULocalVisualizer


def add_results_page(cfg, out_dir: str) -> None:
    """Make a test run of ``cfg`` (a :class:`mmengine.Config`, changed in
    place) write ``out_dir/index.html``: :class:`SSUMetric` writes the
    per-clip scores there and :class:`SSUResultsPageHook` the thumbnails
    and the page (``tools/test.py --show-dir``, ``make demo``)."""
    evaluators = cfg.test_evaluator if isinstance(
        cfg.test_evaluator, (list, tuple)) else [cfg.test_evaluator]
    metrics = [e for e in evaluators if e.get('type') == 'SSUMetric']
    if not metrics:  # the page shows SSUMetric's scores
        print_log(
            'no SSUMetric in test_evaluator, so no results page '
            f'({out_dir}/index.html) is written',
            logger='current',
            level=logging.WARNING)
        return
    for metric in metrics:
        metric['clip_scores_dir'] = out_dir
    cfg.custom_hooks = [
        *cfg.get('custom_hooks', []),
        dict(type='SSUResultsPageHook', out_dir=out_dir)
    ]


@HOOKS.register_module()
class SSUResultsPageHook(Hook):
    """Write ``<out_dir>/index.html``, a browser of the test clips.

    After every test iteration it writes, for each frame ``k`` of each clip,
    three JPEG thumbnails ``thumb_height`` pixels high
    (:func:`~rassu_mm.visualization.html_report.thumbnail_name`): the frame,
    the frame with the ground-truth mask and with the predicted mask, drawn
    by the runner's :class:`SSULocalVisualizer`. After the test it writes
    the page (:func:`~rassu_mm.visualization.html_report.write_results_page`)
    from ``<out_dir>/clip_scores.json``, which ``SSUMetric`` writes when
    its ``clip_scores_dir`` is ``out_dir``; ``tools/test.py --show-dir``
    sets both.

    Args:
        out_dir (str): The page's folder.
        thumb_height (int): Height of the thumbnails in pixels.
            Defaults to 128.
        backend_args (dict, optional): File backend arguments to read the
            frames. Defaults to None.
    """
    priority = 'LOW'

    def __init__(self,
                 out_dir: str,
                 thumb_height: int = 128,
                 backend_args: Optional[dict] = None) -> None:
        self.out_dir = out_dir
        self.thumb_height = thumb_height
        self.backend_args = backend_args

    def before_test(self, runner: Runner) -> None:
        """Refuse a test whose metrics would not write the page's scores
        (a ``clip_scores.json`` left by an earlier run would be shown)."""
        metrics = [
            m for m in runner.test_loop.evaluator.metrics
            if hasattr(m, 'clip_scores_dir')
        ]
        if not any(m.clip_scores_dir == self.out_dir for m in metrics):
            raise ValueError(
                f'SSUResultsPageHook(out_dir={self.out_dir!r}) needs '
                f'test_evaluator=dict(type=\'SSUMetric\', clip_scores_dir='
                f'{self.out_dir!r}) for the per-clip scores')
        if not isinstance(runner.visualizer, SSULocalVisualizer):
            raise TypeError('SSUResultsPageHook draws with the runner\'s '
                            'visualizer, which must be SSULocalVisualizer, '
                            f'not {type(runner.visualizer).__name__}')

    def after_test_iter(self,
                        runner: Runner,
                        batch_idx: int,
                        data_batch: dict = None,
                        outputs: Sequence[SSUDataSample] = None) -> None:
        """Write the thumbnails of the predicted clips of this batch (on
        every rank: each rank writes its own clips)."""
        for output in outputs:
            for k, path in enumerate(output.frame_paths):
                frame = mmcv.imfrombytes(
                    fileio.get(path, backend_args=self.backend_args),
                    channel_order='rgb')
                self._write_frame(runner.visualizer, output, k, frame)

    def _write_frame(self, visualizer: SSULocalVisualizer,
                     output: SSUDataSample, k: int, frame) -> None:
        """Write the thumbnails of frame ``k`` ``[H, W, 3]`` (RGB)."""
        height, width = frame.shape[:2]
        size = (max(1, round(width * self.thumb_height / height)),
                self.thumb_height)
        thumb = mmcv.imresize(frame, size, interpolation='area')
        panels = dict(frame=thumb)
        for kind in ('gt', 'pred'):
            if f'{kind}_sem_seg' in output:
                mask = output.get(f'{kind}_sem_seg').data[k].cpu().numpy()
                panels[kind] = visualizer._overlay(thumb, mask.astype('uint8'))
        for panel, image in panels.items():
            name = thumbnail_name(output.clip_id, k, panel)
            # a clip id such as '../x' is refused, never written outside
            mmcv.imwrite(
                mmcv.rgb2bgr(image), safe_join(self.out_dir, name),
                params=[cv2.IMWRITE_JPEG_QUALITY, 85])

    @master_only
    def after_test_epoch(self, runner: Runner, metrics=None) -> None:
        """Write the page once the metric has written the scores."""
        path = write_results_page(self.out_dir)
        runner.logger.info(f'results page written to {path}')
