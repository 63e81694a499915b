"""SSUDataPreprocessor: normalise, pad and stack clips of any size."""
import pytest
import torch

from rassu_mm.models import SSUDataPreprocessor
from rassu_mm.testing import demo_mm_inputs


class TestDataPreprocessor:

    def test_normalise_pad_stack(self):
        prep = SSUDataPreprocessor(
            mean=[10., 20., 30.], std=[2., 4., 8.], size_divisor=16)
        batch = demo_mm_inputs([(20, 30), (33, 16)])
        raw = batch['inputs']['frames'][1].clone()
        out = prep(batch, training=True)
        frames, audio = out['inputs']['frames'], out['inputs']['audio']
        assert frames.shape == (4, 3, 48, 32)
        assert audio.shape == (4, 1, 96, 64)
        # frame b * T + t is frame t of clip b; BGR -> RGB, then normalised
        expected = (raw[1, [2, 1, 0]].float() -
                    torch.tensor([10., 20., 30.]).view(3, 1, 1)) / \
            torch.tensor([2., 4., 8.]).view(3, 1, 1)
        torch.testing.assert_close(frames[3, :, :33, :16], expected)
        assert (frames[3, :, :, 16:] == 0).all()
        sample = out['data_samples'][0]
        assert sample.img_shape == (20, 30)
        assert sample.pad_shape == (48, 32)
        assert sample.padding_size == (0, 2, 0, 28)
        gt = sample.gt_sem_seg.data
        assert gt.shape == (2, 48, 32)
        assert (gt[:, 20:] == 255).all() and (gt[:, :, 30:] == 255).all()

    def test_test_mode_keeps_ground_truth_size(self):
        prep = SSUDataPreprocessor(size=(64, 64))
        out = prep(demo_mm_inputs([(40, 50)]), training=False)
        assert out['inputs']['frames'].shape == (2, 3, 64, 64)
        sample = out['data_samples'][0]
        assert sample.gt_sem_seg.shape == (40, 50)
        assert sample.pad_shape == (64, 64)

    def test_rejects_clips_of_different_lengths(self):
        batch = demo_mm_inputs([(16, 16)], num_frames=2)
        batch['inputs']['frames'].append(
            torch.zeros(3, 3, 16, 16, dtype=torch.uint8))
        with pytest.raises(AssertionError, match='number of frames'):
            SSUDataPreprocessor()(batch)

    def test_rgb_mean_std_undo_the_normalisation(self):
        """``frames * std + mean`` gives back the RGB pixels (what MCM
        does with the values the segmentor hands it)."""
        prep = SSUDataPreprocessor(mean=[10., 20., 30.], std=[2., 4., 8.])
        batch = demo_mm_inputs([(8, 8)])
        raw = batch['inputs']['frames'][0].float()[:, [2, 1, 0]]
        frames = prep(batch)['inputs']['frames']
        mean, std = prep.rgb_mean_std
        assert mean == [10., 20., 30.] and std == [2., 4., 8.]
        restored = frames * torch.tensor(std).view(1, 3, 1, 1) + \
            torch.tensor(mean).view(1, 3, 1, 1)
        torch.testing.assert_close(restored, raw)
        assert SSUDataPreprocessor().rgb_mean_std == ([0.] * 3, [1.] * 3)
