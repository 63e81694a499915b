"""SSUFormer's structure: each stage once and in order, sizes filled in from
the segmentor and the preprocessor, the class hierarchy by name, and
mmseg's image-wise ``encode_decode`` refused."""
import pytest
import torch

from mmseg.registry import MODELS
from rassu_mm.utils.class_names import get_metainfo
from rassu_mm.models.decode_heads import FPNPixelDecoder
from rassu_mm.testing import build_tiny_model, demo_mm_inputs, tiny_model_cfg
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
    # one ignore label: the mask head's
    model = captioning_model(decode_head=dict(ignore_index=7))
    assert model.mask_collaboration.ignore_index == 7
    assert model.caption_head.ignore_index == 7
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


@MODELS.register_module()
class TwoLevelFPNPixelDecoder(FPNPixelDecoder):
    """An FPN pixel decoder whose own default is two levels."""

    def __init__(self, *args, num_outs: int = 2, **kwargs):
        super().__init__(*args, num_outs=num_outs, **kwargs)


def test_levels_are_read_from_the_built_pixel_decoder():
    """A pixel decoder config without ``num_outs``: MMI and the mask
    decoder take the number of levels of the module that was built (its
    own default), not a default restated by the segmentor."""
    pixel_decoder = dict(
        tiny_model_cfg().pixel_decoder, type='TwoLevelFPNPixelDecoder')
    del pixel_decoder['num_outs']
    model = captioning_model(pixel_decoder=pixel_decoder)
    assert model.pixel_decoder.num_outs == 2
    assert model.fusion.num_levels == 2
    assert model.decode_head.num_transformer_feat_level == 2


def test_encode_decode_is_refused():
    """mmseg's image-wise ``encode_decode`` would take the batch as one
    clip: it raises instead, pointing to the supported modes."""
    model = captioning_model().eval()
    data = model.data_preprocessor(
        demo_mm_inputs([(32, 32), (32, 32)]), False)
    with pytest.raises(NotImplementedError,
                       match="mode='predict' or mode='tensor'"):
        model.encode_decode(data['inputs'], data['data_samples'])
