"""SSULocalVisualizer (clip grid of overlays and captions) and
SSUVisualizationHook (frames read from ``frame_paths``)."""
from types import SimpleNamespace

import mmcv
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.registry import HOOKS, VISUALIZERS

from rassu_mm.structures import SSUDataSample
from rassu_mm.visualization import SSULocalVisualizer

T, H, W = 3, 16, 20


def make_sample(frame_paths=()):
    gt = torch.zeros(T, H, W, dtype=torch.long)
    gt[:, 2:8, 3:9] = 1
    pred = torch.zeros(T, H, W, dtype=torch.long)
    pred[:, 8:14, 10:18] = 1
    pred[1] = 0  # a silent prediction
    sample = SSUDataSample(
        metainfo=dict(clip_id='clip0', frame_paths=list(frame_paths)))
    sample.gt_sem_seg = PixelData(data=gt)
    sample.pred_sem_seg = PixelData(data=pred)
    sample.gt_captions = ['The flute on the left is playing.', None, 'Drum.']
    sample.pred_captions = ['A flute.', 'Nothing.', 'The drum on the right.']
    return sample


def cells(img, ncols):
    """Split the grid image into ``T`` cells of ``[cell_h, 2W, 3]``."""
    rows = -(-T // ncols)
    cell_h = img.shape[0] // rows
    assert img.shape == (rows * cell_h, ncols * 2 * W, 3) and cell_h > H
    return [
        img[r * cell_h:(r + 1) * cell_h, c * 2 * W:(c + 1) * 2 * W]
        for r in range(rows) for c in range(ncols)
    ]


def test_grid_of_gt_and_prediction_overlays_with_captions(tmp_path):
    vis = SSULocalVisualizer(alpha=0.5, mask_color=(200, 100, 0), ncols=2,
                             contour_color=None)
    vis.set_dataset_meta(seg_mode='binary')
    sample = make_sample()
    frames = np.zeros((T, H, W, 3), np.uint8)
    out_file = str(tmp_path / 'clip.png')
    vis.add_datasample('clip0', frames, sample, out_file=out_file)
    img = vis.get_image()
    grid = cells(img, ncols=2)
    for t in range(T):
        gt_panel, pred_panel = grid[t][:H, :W], grid[t][:H, W:]
        for panel, mask in ((gt_panel, sample.gt_sem_seg.data[t]),
                            (pred_panel, sample.pred_sem_seg.data[t])):
            mask = mask.numpy().astype(bool)
            assert (panel[mask] == [100, 50, 0]).all()
            assert (panel[~mask] == 0).all()
        for strip in (grid[t][H:, :W], grid[t][H:, W:]):
            assert (strip == 255).mean() > 0.5  # white background
            assert (strip < 128).any()  # with text on it
    assert (grid[3] == 0).all()  # padding cell of the 2x2 grid
    np.testing.assert_array_equal(
        mmcv.imread(out_file, channel_order='rgb'), img)


def test_mask_regions_are_outlined():
    """The default white outline keeps a red mask visible on a red object."""
    vis = SSULocalVisualizer(mask_color=(255, 0, 0), alpha=0.5)
    vis.set_dataset_meta(seg_mode='binary')
    frame = np.zeros((32, 32, 3), np.uint8)
    frame[8:24, 8:24] = (255, 0, 0)  # a red object
    mask = np.zeros((32, 32), np.uint8)
    mask[8:24, 8:24] = 1
    out = vis._overlay(frame, mask)
    white = (out == 255).all(axis=-1)
    assert white[8, 8:24].all() and white[8:24, 8].all()  # the border
    assert not white[12:20, 12:20].any()  # not the inside
    assert not white[mask == 0].any()  # nothing outside the region


def test_only_prediction_and_semantic_palette():
    vis = VISUALIZERS.build(
        dict(
            type='SSULocalVisualizer',
            name='test_semantic',
            alpha=1.0,
            contour_color=None,
            ncols=3))
    # as the runner sets it from a semantic dataset
    vis.dataset_meta = dict(
        classes=('violin', 'flute'),
        palette=[[255, 0, 0], [0, 255, 0]],
        seg_mode='semantic')
    sample = make_sample()
    sample.pred_sem_seg.data[0, 0, :2] = torch.tensor([2, 255])
    frames = np.full((T, H, W, 3), 7, np.uint8)
    vis.add_datasample('sem', frames, sample, draw_gt=False)
    img = vis.get_image()
    cell_h = img.shape[0]
    assert img.shape[1] == 3 * W and cell_h > H  # one panel per frame
    pred0 = sample.pred_sem_seg.data[0].numpy()
    panel = img[:H, :W]
    assert (panel[pred0 == 1] == [255, 0, 0]).all()
    assert (panel[pred0 == 2] == [0, 255, 0]).all()
    assert (panel[(pred0 == 0) | (pred0 == 255)] == 7).all()


def test_local_backend_receives_one_image_per_clip(tmp_path):
    vis = SSULocalVisualizer.get_instance(
        'test_local_backend',
        vis_backends=[dict(type='LocalVisBackend')],
        save_dir=str(tmp_path))
    vis.set_dataset_meta(seg_mode='binary')
    frames = [np.full((H, W, 3), 50, np.uint8)] * T
    vis.add_datasample('test_clip0', frames, make_sample(), step=3)
    saved = tmp_path / 'vis_data' / 'vis_image' / 'test_clip0_3.png'
    np.testing.assert_array_equal(
        mmcv.imread(str(saved), channel_order='rgb'), vis.get_image())


def test_hook_reads_frames_from_frame_paths(tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for t in range(T):
        paths.append(str(tmp_path / f'{t}.png'))
        mmcv.imwrite(
            rng.integers(0, 256, (H, W, 3), dtype=np.uint8), paths[-1])
    vis = SSULocalVisualizer.get_instance(
        'test_hook',
        vis_backends=[dict(type='LocalVisBackend')],
        save_dir=str(tmp_path / 'show'),
        ncols=1)
    vis.set_dataset_meta(seg_mode='binary')
    hook = HOOKS.build(
        dict(type='SSUVisualizationHook', draw=True, interval=1))
    assert hook._visualizer is vis
    sample = make_sample(paths)
    hook.after_test_iter(SimpleNamespace(iter=0), 0, {}, [sample])
    saved = tmp_path / 'show' / 'vis_data' / 'vis_image' / 'test_clip0_0.png'
    img = mmcv.imread(str(saved), channel_order='rgb')
    grid = cells(img, ncols=1)
    for t in range(T):  # the prediction panel shows the frame off the mask
        frame = mmcv.imread(paths[t], channel_order='rgb')
        off = ~sample.pred_sem_seg.data[t].numpy().astype(bool)
        np.testing.assert_array_equal(grid[t][:H, W:][off], frame[off])


@pytest.mark.parametrize('draw', [False, True])
def test_hook_skips_training_and_draw_false(tmp_path, draw):
    SSULocalVisualizer.get_instance(
        f'test_skip_{draw}',
        vis_backends=[dict(type='LocalVisBackend')],
        save_dir=str(tmp_path))
    hook = HOOKS.build(dict(type='SSUVisualizationHook', draw=draw))
    hook._after_iter(
        SimpleNamespace(iter=0),
        49, {}, [make_sample(['missing.png'])],
        mode='train')
    if not draw:
        hook.after_test_iter(
            SimpleNamespace(iter=0), 49, {}, [make_sample(['missing.png'])])
    assert not (tmp_path / 'vis_data' / 'vis_image').exists()


def test_mode_comes_from_the_dataset_meta():
    """No seg_mode argument: binary and semantic drawing follow
    ``dataset_meta``, and a metainfo without the mode is refused."""
    with pytest.raises(TypeError):
        SSULocalVisualizer(name='test_no_mode_arg', seg_mode='binary')
    vis = SSULocalVisualizer(name='test_mode_meta', mask_color=(9, 9, 9),
                             alpha=1.0, contour_color=None)
    frame, mask = np.zeros((4, 4, 3), np.uint8), np.full((4, 4), 2, np.uint8)
    with pytest.raises(ValueError, match='seg_mode'):
        vis._overlay(frame, mask)
    vis.set_dataset_meta(seg_mode='binary')
    assert (vis._overlay(frame, mask) == 9).all()
    vis.dataset_meta = dict(palette=[[0, 0, 0], [5, 6, 7]],
                            seg_mode='semantic')
    assert (vis._overlay(frame, mask) == [5, 6, 7]).all()
