"""SSUFormer's structure: each stage once and in order, sizes filled in from
the segmentor and the preprocessor, the class hierarchy by name, and old
checkpoints (``neck.``, ``decode_head.pixel_decoder.``) still loading."""
import pytest
import torch
from mmengine.runner import load_checkpoint

from rassu_mm.datasets.metainfo import get_metainfo
from rassu_mm.testing import build_tiny_model, demo_mm_inputs
# registers the stand-in MCM and caption head
from .test_ssuformer import RecordingCaptionHead, RecordingMCM  # noqa: F401

STAGES = ('backbone', 'pixel_decoder', 'audio_encoder', 'query_generator',
          'fusion', 'decode_head', 'mask_collaboration')


def captioning_model(**overrides):
    """The tiny model with the stand-in caption branch."""
    return build_tiny_model(
        **{
            'mask_collaboration': dict(type='RecordingMCM'),
            'caption_head': dict(type='RecordingCaptionHead'),
            **overrides
        })


@pytest.mark.parametrize('mode', ['loss', 'predict', 'tensor'])
def test_each_stage_runs_once_in_order(mode):
    model = captioning_model()
    calls = []
    for name in STAGES:
        getattr(model, name).register_forward_hook(
            lambda *args, name=name: calls.append(name))
    model.train(mode == 'loss')
    data = model.data_preprocessor(
        demo_mm_inputs([(32, 32), (32, 32)]), mode == 'loss')
    with torch.set_grad_enabled(mode == 'loss'):
        if mode == 'tensor':
            model._forward(data['inputs'], data['data_samples'], 0)
        else:
            model(**data, mode=mode)
    expected = STAGES if mode != 'tensor' else STAGES[:-1]
    assert calls == list(expected)
    assert len(model.caption_head.inputs) == (mode != 'tensor')


def test_sizes_and_hierarchy_are_filled_in():
    model = captioning_model(class_hierarchy='SSU-Demo')
    embed_dims = model.fusion.embed_dims
    prep = model.data_preprocessor
    mcm = model.mask_collaboration
    assert mcm.proj.in_features == embed_dims
    torch.testing.assert_close(torch.tensor(mcm.mean), prep.mean.flatten())
    torch.testing.assert_close(torch.tensor(mcm.std), prep.std.flatten())
    head = model.caption_head
    assert head.in_channels == embed_dims
    meta = get_metainfo('SSU-Demo')
    assert head.hierarchy == dict(
        classes=list(meta['classes']),
        super_categories=meta['super_categories'],
        dataset_names=['SSU-Demo'])
    # the levels of MMI and the mask decoder are the pixel decoder's
    num_outs = model.pixel_decoder.num_outs
    assert model.fusion.num_levels == num_outs
    assert model.decode_head.num_transformer_feat_level == num_outs
    # an explicit setting of the caption head wins
    model = captioning_model(
        class_hierarchy='SSU-Demo',
        caption_head=dict(type='RecordingCaptionHead', classes=None))
    assert model.caption_head.hierarchy['classes'] is None


def test_unknown_class_hierarchy():
    with pytest.raises(KeyError, match='unknown dataset name'):
        captioning_model(class_hierarchy='no-such-set')


def test_old_checkpoint_keys_load(tmp_path):
    """A checkpoint from before the renaming (MCM under ``neck.``, the pixel
    decoder under ``decode_head.pixel_decoder.``) loads strictly."""
    new = captioning_model().state_dict()
    old = {}
    for key, value in new.items():
        key = key.replace('mask_collaboration.', 'neck.', 1)
        if key.startswith('pixel_decoder.'):
            key = 'decode_head.' + key
        old[key] = value
    assert any(k.startswith('neck.') for k in old)
    assert any(k.startswith('decode_head.pixel_decoder.') for k in old)
    path = str(tmp_path / 'old.pth')
    torch.save(dict(state_dict=old), path)

    model = captioning_model(seed=1)
    load_checkpoint(model, path, strict=True)
    loaded = model.state_dict()
    assert set(loaded) == set(new)
    for key, value in new.items():
        torch.testing.assert_close(loaded[key], value, rtol=0, atol=0)
