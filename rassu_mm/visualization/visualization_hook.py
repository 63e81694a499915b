"""SSUVisualizationHook: draw test/val clips with SSULocalVisualizer."""
from typing import Sequence

import mmcv
import mmengine.fileio as fileio
from mmengine.runner import Runner
from mmseg.engine.hooks import SegVisualizationHook
from mmseg.registry import HOOKS

from rassu_mm.structures import SSUDataSample


@HOOKS.register_module()
class SSUVisualizationHook(SegVisualizationHook):
    """The clip analogue of mmseg's :class:`SegVisualizationHook`.

    Every ``interval`` validation/test iterations it reads the frames of
    each predicted clip from ``metainfo['frame_paths']`` and passes them to
    the current visualizer (:class:`SSULocalVisualizer`) under the name
    ``'<mode>_<clip_id>'``. ``tools/test.py --show/--show-dir`` sets
    ``draw=True`` (and ``show``) and the visualizer's ``save_dir``.

    Args:
        draw (bool): Draw at all. Defaults to False.
        interval (int): Draw every ``interval`` iterations. Defaults to 50.
        show (bool): Show in a window instead of saving. Defaults to False.
        wait_time (float): Display time in seconds. Defaults to 0.
        backend_args (dict, optional): File backend arguments to read the
            frames. Defaults to None.
    """

    def _after_iter(self,
                    runner: Runner,
                    batch_idx: int,
                    data_batch: dict,
                    outputs: Sequence[SSUDataSample],
                    mode: str = 'val') -> None:
        """Draw the clips of every ``interval``-th batch.

        Args:
            runner (Runner): The runner.
            batch_idx (int): Index of the batch in the loop.
            data_batch (dict): The batch from the dataloader.
            outputs (Sequence[SSUDataSample]): Predicted clips.
            mode (str): ``'val'`` or ``'test'``. Defaults to ``'val'``.
        """
        if self.draw is False or mode == 'train':
            return
        if not self.every_n_inner_iters(batch_idx, self.interval):
            return
        for output in outputs:
            frames = [
                mmcv.imfrombytes(
                    fileio.get(path, backend_args=self.backend_args),
                    channel_order='rgb') for path in output.frame_paths
            ]
            self._visualizer.add_datasample(
                f'{mode}_{output.clip_id}',
                frames,
                data_sample=output,
                show=self.show,
                wait_time=self.wait_time,
                step=runner.iter)
