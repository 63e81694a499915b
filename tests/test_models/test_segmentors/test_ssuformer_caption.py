"""SSUFormer (demo config) with the real MCM neck and MoHE caption head."""
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.structures import PixelData
from mmseg.registry import MODELS

from rassu_mm.models.tokenization import train_caption_tokenizer
from rassu_mm.structures import SSUDataSample

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
CAPTIONS = ['The red triangle on the left is sounding.',
            'The blue circle on the right is sounding.']
CLASSES = ['red triangle', 'blue circle']


def _clip(seed, num_frames=2, size=64):
    gen = torch.Generator().manual_seed(seed)
    sample = SSUDataSample(metainfo=dict(
        ori_shape=(size, size), img_shape=(size, size),
        num_frames=num_frames, dataset_name='demo', clip_id=str(seed)))
    sample.gt_sem_seg = PixelData(data=torch.randint(
        0, 2, (num_frames, size, size), generator=gen))
    sample.gt_captions = [CAPTIONS[seed % 2], None]
    sample.categories = [CLASSES[seed % 2]]
    frames = torch.randint(0, 256, (num_frames, 3, size, size),
                           generator=gen, dtype=torch.uint8)
    return frames, torch.randn(num_frames, 1, 96, 64, generator=gen), sample


def test_ssuformer_with_caption_branch_trains_and_predicts(tmp_path):
    train_caption_tokenizer(CAPTIONS, vocab_size=100).save_pretrained(
        tmp_path)
    cfg = Config.fromfile(osp.join(REPO, 'configs/ssuformer_demo_seg.py'))
    cfg.model.neck = dict(
        type='MaskCollaborationModule', embed_dims=64,
        clip=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                  num_attention_heads=2, image_size=32, patch_size=8,
                  projection_dim=16),
        gt_mask_schedule=dict(end_iter=10))
    cfg.model.caption_head = dict(
        type='MoHECaptionHead', tokenizer=str(tmp_path), in_channels=64,
        embed_dims=32, num_layers=1, num_heads=4, feedforward_channels=64,
        num_experts=2, top_k=1, classes=CLASSES,
        super_categories=dict(shape=CLASSES), dataset_names=['demo'],
        generation=dict(max_length=8))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    clips = [_clip(0), _clip(1)]
    data = dict(inputs=dict(frames=[c[0] for c in clips],
                            audio=[c[1] for c in clips]),
                data_samples=[c[2] for c in clips])
    model.train()
    losses = model(**model.data_preprocessor(data, True), mode='loss')
    assert {'loss_caption', 'loss_cls_category', 'loss_balance'} <= set(
        losses)
    loss, _ = model.parse_losses(losses)
    loss.backward()
    assert model.neck.proj[1].weight.grad.abs().sum() > 0
    assert model.caption_head.decoder.token_embed.weight.grad is not None
    assert all(p.grad is None for p in model.neck.clip.parameters())

    model.eval()
    with torch.no_grad():
        samples = model(**model.data_preprocessor(data, False),
                        mode='predict')
    assert [len(s.pred_captions) for s in samples] == [2, 2]
    assert all(isinstance(c, str) for s in samples for c in s.pred_captions)
