"""SSUMetric, SSULocalVisualizer and SSUVisualizationHook inside an mmengine
Runner test loop, configured as ``tools/test.py --out --show-dir`` does."""
import json

import mmcv
import numpy as np
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmengine.structures import PixelData
from torch.utils.data import DataLoader, Dataset

from rassu_mm.structures import SSUDataSample  # registers rassu_mm

T, H, W = 2, 12, 16


class PredictedClips(Dataset):
    """Clips whose data samples already carry a prediction."""
    metainfo = dict(
        seg_mode='binary',  # as SSUDataset writes it
        classes=('violin', 'flute'),
        palette=[[255, 0, 0], [0, 255, 0]],
        super_categories=dict(String=['violin'], Wind=['flute']))

    def __init__(self, root):
        self.samples = []
        for i in range(3):
            paths = []
            for t in range(T):
                paths.append(f'{root}/frames/c{i}/{t}.png')
                mmcv.imwrite(np.full((H, W, 3), 40 * t, np.uint8), paths[-1])
            gt = torch.zeros(T, H, W, dtype=torch.long)
            gt[:, 2:6, 2 + i:8] = 1
            sample = SSUDataSample(
                metainfo=dict(clip_id=f'c{i}', frame_paths=paths))
            sample.gt_sem_seg = PixelData(data=gt)
            sample.seg_logits = PixelData(data=gt * 8. - 4. + i)
            sample.pred_sem_seg = PixelData(
                data=(sample.seg_logits.data > 0).long())
            sample.gt_captions = ['The violin is playing.', None]
            sample.pred_captions = ['A violin plays.', 'Silence.']
            sample.categories = [self.metainfo['classes'][i % 2]]
            self.samples.append(sample)

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, idx):
        return dict(inputs=torch.zeros(1), data_samples=self.samples[idx])


class ReturnsPrediction(BaseModel):

    def __init__(self):
        super().__init__()
        self.param = torch.nn.Parameter(torch.zeros(1))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return data_samples


def test_runner_test_loop_writes_metrics_outputs_and_images(tmp_path):
    dataset = PredictedClips(str(tmp_path))
    runner = Runner(
        model=ReturnsPrediction(),
        work_dir=str(tmp_path / 'work'),
        test_dataloader=DataLoader(
            dataset,
            batch_size=2,
            collate_fn=lambda batch: dict(
                inputs=[b['inputs'] for b in batch],
                data_samples=[b['data_samples'] for b in batch])),
        test_cfg=dict(type='TestLoop'),
        test_evaluator=dict(
            type='SSUMetric', output_dir=str(tmp_path / 'out')),
        default_hooks=dict(
            visualization=dict(
                type='SSUVisualizationHook', draw=True, interval=1)),
        visualizer=dict(
            type='SSULocalVisualizer',
            name='runner_visualizer',
            vis_backends=[dict(type='LocalVisBackend')],
            save_dir=str(tmp_path / 'show')),
        default_scope='mmseg')
    metrics = runner.test()
    assert set(metrics) == {
        'mIoU', 'F-score', 'BLEU-1', 'BLEU-2', 'BLEU-3', 'BLEU-4', 'METEOR',
        'ROUGE-L', 'CIDEr', 'ssu_score'
    }
    out = tmp_path / 'out'
    assert sorted(p.name for p in out.iterdir()) == [
        'c0', 'c1', 'c2', 'captions.json', 'ssu_breakdown.json'
    ]
    assert len(json.loads((out / 'captions.json').read_text())) == 3 * T
    report = json.loads((out / 'ssu_breakdown.json').read_text())
    assert report['categories']['violin']['clips'] == 2
    vis_dir = tmp_path / 'show' / 'vis_data' / 'vis_image'
    assert sorted(p.name for p in vis_dir.iterdir()) == [
        'test_c0_0.png', 'test_c1_0.png', 'test_c2_0.png'
    ]
