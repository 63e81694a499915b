"""SSUFormer: gradients, predict shapes, audio switch, tensor mode and the
caption-branch contract (docs/data_contract.md), on tiny random models."""
import copy

import pytest
import torch
import torch.nn as nn
from mmengine.dataset import pseudo_collate
from mmengine.model import BaseModule

from mmseg.registry import MODELS
from rassu_mm.structures import SSUDataSample
from rassu_mm.testing import (build_tiny_model, demo_clip, demo_mm_inputs,
                              get_config, load_tool)


def test_gradients_reach_every_trainable_parameter():
    model = build_tiny_model()
    model.train()
    data = model.data_preprocessor(
        demo_mm_inputs([(32, 48), (40, 32)], seed=1), training=True)
    losses = model(**data, mode='loss')
    assert any(k.startswith('decode.d0.') for k in losses)
    loss, _ = model.parse_losses(losses)
    loss.backward()
    trainable = [(n, p) for n, p in model.named_parameters()
                 if p.requires_grad]
    assert len(trainable) > 50
    no_grad = [
        n for n, p in trainable if p.grad is None or not p.grad.abs().sum() > 0
    ]
    assert no_grad == []


def test_frozen_audio_encoder_gets_no_gradient():
    model = build_tiny_model(
        audio_encoder=dict(type='VGGish', frozen=True))
    data = model.data_preprocessor(demo_mm_inputs(), True)
    model.parse_losses(model(**data, mode='loss'))[0].backward()
    assert all(p.grad is None for p in model.audio_encoder.parameters())
    assert all(p.grad is not None for p in model.fusion.parameters())


@pytest.mark.parametrize('num_classes', [2, 5])
def test_predict_at_original_size(num_classes):
    model = build_tiny_model(
        decode_head=dict(num_classes=num_classes)).eval()
    clips = [
        demo_clip((40, 56), num_classes=num_classes, ori_shape=(80, 112)),
        demo_clip((64, 48),
                  num_classes=num_classes,
                  seed=3,
                  ori_shape=(61, 47),
                  flip=True,
                  flip_direction='horizontal'),
    ]
    data = model.data_preprocessor(pseudo_collate(clips), training=False)
    assert data['inputs']['frames'].shape == (4, 3, 64, 64)
    with torch.no_grad():
        results = model(**data, mode='predict')
    for sample, ori_shape in zip(results, [(80, 112), (61, 47)]):
        logits = sample.seg_logits.data
        pred = sample.pred_sem_seg.data
        assert logits.shape == pred.shape == (2, ) + ori_shape
        assert logits.dtype == torch.float32 and pred.dtype == torch.long
        assert torch.isfinite(logits).all()
        assert pred.min() >= 0 and pred.max() < num_classes
        if num_classes == 2:  # binary: "sounding" iff its logit > 0
            assert ((pred > 0) == (logits > 0)).float().mean() > 0.99
        assert 'pred_captions' not in sample


def test_postprocess_undoes_padding_and_flip():
    model = build_tiny_model()
    scores = torch.zeros(1, 2, 16, 16)
    scores[:, 1] = 1.0
    scores[:, 1, :, :4] = 3.0  # left quarter of the padded frame
    sample = SSUDataSample(
        metainfo=dict(
            img_shape=(32, 32),
            pad_shape=(64, 64),
            ori_shape=(32, 32),
            flip=True,
            flip_direction='horizontal'))
    (sample, ) = model.postprocess_result(scores, [sample])
    logits = sample.seg_logits.data[0]
    assert logits.shape == (32, 32)
    # the crop keeps the top-left 32x32; the flip moves column 0 right
    assert logits[:, -1].mean() > logits[:, 0].mean() + 0.5


def test_zero_audio_switch():
    batch = demo_mm_inputs(seed=4)
    audio = batch['inputs']['audio']
    other_audio = demo_mm_inputs(seed=5)['inputs']['audio']

    def predict(model, audio):
        data = copy.deepcopy(batch)
        data['inputs']['audio'] = audio
        data = model.data_preprocessor(data, False)
        with torch.no_grad():
            return model(**data, mode='tensor')[0]

    model = build_tiny_model().eval()
    # the audio decides the queries: another clip's audio moves the mask
    # scores by far more than float32 rounding (~1e-6)
    change = predict(model, audio) - predict(model, other_audio)
    assert change.abs().max() > 1e-3
    model = build_tiny_model(zero_audio=True).eval()
    torch.testing.assert_close(
        predict(model, audio), predict(model, other_audio), rtol=0, atol=0)


def _conv_flops(model, inputs):
    """Multiply-adds of every ``nn.Conv2d`` in one tensor-mode pass, by
    name, counted by hand from the output sizes."""
    flops, hooks = {}, []
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):

            def count(mod, args, out, name=name):
                kh, kw = mod.kernel_size
                flops[name] = (out.numel() * mod.in_channels // mod.groups *
                               kh * kw)

            hooks.append(module.register_forward_hook(count))
    with torch.no_grad():
        model(inputs, mode='tensor')
    for hook in hooks:
        hook.remove()
    return flops


def test_tensor_mode_and_flops():
    from mmengine.analysis import FlopAnalyzer
    model = build_tiny_model().eval()
    data = model.data_preprocessor(demo_mm_inputs(), False)
    with torch.no_grad():
        scores, memory = model(data['inputs'], mode='tensor')
        (sample, ) = model(**copy.deepcopy(data), mode='predict')
    assert scores.shape == (2, 2, 8, 8)
    # memory: fused visual tokens (32 / 16)^2 = 4, then 4 query tokens
    assert memory.shape == (2, 4 + 4, 32)
    # the scores predict mode turns into the clip's logits (no padding,
    # flip or resizing in this clip: only the upsampling to 32x32)
    upsampled = nn.functional.interpolate(
        scores, size=(32, 32), mode='bilinear', align_corners=False)
    torch.testing.assert_close(
        sample.seg_logits.data, model.decode_head.scores_to_logits(upsampled))

    def analyzer(inputs):
        counter = FlopAnalyzer(model, (inputs, ))
        counter.unsupported_ops_warnings(False)
        return counter

    flops = analyzer(data['inputs'])
    # fvcore convention (docs/benchmarks.md): one multiply-add = one FLOP,
    # e.g. each conv's count equals out.numel() * C_in / groups * k * k
    by_module = flops.by_module()
    convs = _conv_flops(model, data['inputs'])
    assert len(convs) > 10 and set(convs) <= set(by_module)
    assert {name: by_module[name] for name in convs} == convs
    # as tools/analysis_tools/get_flops.py counts (attention included):
    # every stage costs something, and its cost is per frame (MMI without
    # `temporal` attends within a frame): a clip of 4 frames costs exactly
    # twice a clip of 2
    get_flops = load_tool('tools/analysis_tools/get_flops.py')
    two, four = (get_flops.complexity(model, t, (32, 32), 0) for t in (2, 4))
    stages = ('backbone', 'pixel_decoder', 'audio_encoder',
              'query_generator', 'fusion', 'decode_head')
    for stage in stages:
        assert 0 < 2 * two['components'][stage][1] == four['components'][
            stage][1], stage
    assert four['flops'] == 2 * two['flops']


@MODELS.register_module()
class RecordingMCM(BaseModule):
    """A stand-in mask collaboration module that records its inputs (and
    the sizes the segmentor fills in)."""

    def __init__(self, embed_dims, mean, std, ignore_index):
        super().__init__()
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.mean, self.std = mean, std
        self.ignore_index = ignore_index
        self.calls = []

    def forward(self, frames, mask_logits, memory, data_samples):
        self.calls.append((frames, mask_logits, memory, data_samples))
        return dict(
            memory=self.proj(memory),
            region_embeds=mask_logits.flatten(1).mean(1, True))


@MODELS.register_module()
class RecordingCaptionHead(BaseModule):
    """A stand-in caption head following the contract."""

    def __init__(self, in_channels, ignore_index, **hierarchy):
        super().__init__()
        self.in_channels, self.hierarchy = in_channels, hierarchy
        self.ignore_index = ignore_index
        self.scale = nn.Parameter(torch.ones(1))
        self.inputs = []

    def loss(self, caption_inputs, data_samples):
        self.inputs.append(caption_inputs)
        return dict(loss_caption=self.scale * caption_inputs['memory'].mean())

    def predict(self, caption_inputs, data_samples):
        self.inputs.append(caption_inputs)
        return [[f'clip {i} frame {t}' for t in range(s.num_frames)]
                for i, s in enumerate(data_samples)]


@pytest.mark.parametrize('with_mcm', [True, False])
def test_caption_branch_contract(with_mcm):
    model = build_tiny_model(
        mask_collaboration=dict(type='RecordingMCM') if with_mcm else None,
        caption_head=dict(type='RecordingCaptionHead'))
    data = model.data_preprocessor(
        demo_mm_inputs([(32, 32), (32, 32)]), True)
    losses = model(**data, mode='loss')
    assert 'loss_caption' in losses and 'decode.loss_cls' in losses
    caption_inputs = model.caption_head.inputs[-1]
    assert caption_inputs['memory'].shape == (4, 8, 32)
    # positions of the memory tokens for the caption decoder's keys
    assert caption_inputs['memory_pos'].shape == (4, 8, 32)
    assert caption_inputs['num_frames'] == 2  # 2 clips of 2 frames
    if with_mcm:
        frames, mask_logits, memory, samples = \
            model.mask_collaboration.calls[-1]
        assert frames is data['inputs']['frames']
        assert mask_logits.shape == (4, 8, 8)
        assert mask_logits.requires_grad  # MCM detaches its memory path
        assert memory.shape == (4, 8, 32) and memory.requires_grad
        assert samples is data['data_samples']
    else:
        assert caption_inputs['region_embeds'] is None

    model.eval()
    data = model.data_preprocessor(demo_mm_inputs(), False)
    with torch.no_grad():
        (sample, ) = model(**data, mode='predict')
    assert sample.pred_captions == ['clip 0 frame 0', 'clip 0 frame 1']
    assert sample.pred_sem_seg.shape == (32, 32)


def test_demo_config_builds_and_trains_one_step():
    """One ``train_step`` with the demo config's optimizer: the logged loss
    is the model's, every parameter with a gradient takes AdamW's step."""
    from mmengine.optim import build_optim_wrapper
    cfg = get_config('ssuformer_demo_seg.py')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    assert sum(p.numel() for p in model.parameters()) < 1_000_000
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    batch = demo_mm_inputs([(64, 64)] * 2, num_frames=5)

    def loss():
        torch.manual_seed(1)  # the same sampled points every time
        with torch.no_grad():
            data = model.data_preprocessor(copy.deepcopy(batch), True)
            return model.parse_losses(model(**data, mode='loss'))[0]

    # mmseg zero-initialises the last BN of each residual branch (a basic
    # block's norm2), so in this first step the branch before it gets no
    # gradient: it only decays (its zero BN biases stay zero)
    branches = [
        f'backbone.{name}.{layer}.'
        for name, block in model.backbone.named_modules()
        if hasattr(block, 'norm2') and not block.norm2.weight.any()
        for layer in ('conv1', block.norm1_name, 'conv2')
    ]
    assert len(branches) == 6 * 3  # every block of the 3-stage ResNet-18
    model.train()
    before = loss()
    params = {n: p.detach().clone() for n, p in model.named_parameters()}
    torch.manual_seed(1)
    log_vars = model.train_step(copy.deepcopy(batch), optim_wrapper)
    torch.testing.assert_close(log_vars['loss'], before)
    # AdamW's first step: p <- p * (1 - lr * wd) - lr * g / (|g| + eps),
    # i.e. at most lr beyond the decay, and about lr where there is a
    # gradient: the config's optimizer and learning rate were applied
    opt = cfg.optim_wrapper.optimizer
    lr, decay = opt.lr, 1 - opt.lr * opt.weight_decay
    steps = {
        n: (p.detach() - params[n] * decay).abs() / lr
        for n, p in model.named_parameters()
    }
    assert max(step.max() for step in steps.values()) <= 1 + 1e-3
    # everything outside those branches takes the step
    in_branch = {n: any(n.startswith(b) for b in branches) for n in steps}
    assert all(steps[n].max() < 1e-3 for n in steps if in_branch[n])
    # every other tensor takes the step somewhere, but the keys' biases of
    # the attention layers: they shift all of a query's logits equally, so
    # the softmax gives them no gradient
    assert [
        n for n in steps if not in_branch[n]
        and not n.endswith('k_proj.bias') and not steps[n].max() > 0.9
    ] == []
    rest = torch.cat(
        [steps[n].flatten() for n in steps if not in_branch[n]])
    assert (rest > 0.9).float().mean() > 0.95
    assert torch.isfinite(loss())


@pytest.mark.parametrize(
    'config',
    ['ssuformer_f_music.py', 'ssuformer_f_lifescene.py'])
def test_paper_config_settings(config):
    """The paper configs load pretrained encoders, train with AdamW and
    name the class hierarchy of their dataset instead of restating it
    (that they build offline is tests/test_tools/test_paper_configs.py)."""
    from mmseg.registry import DATASETS
    cfg = get_config(config)
    assert cfg.model.backbone.init_cfg.type == 'Pretrained'
    assert cfg.model.audio_encoder.init_cfg.type == 'Pretrained'
    assert cfg.optim_wrapper.optimizer.type == 'AdamW'
    assert cfg.model.mask_collaboration.pretrained
    assert cfg.model.mask_collaboration.mode == 'masked_image'
    meta = DATASETS.get(cfg.train_dataloader.dataset.type).METAINFO
    assert cfg.model.class_hierarchy == meta['dataset_name']
