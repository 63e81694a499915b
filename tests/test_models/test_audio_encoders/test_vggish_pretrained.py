"""VGGish loads its pretrained file strictly in ``init_weights``."""
import pytest
import torch

from rassu_mm.models import VGGish
from rassu_mm.models.utils.pretrained import PretrainedKeysError


def _pretrained(path, **kwargs):
    return VGGish(
        init_cfg=dict(type='Pretrained', checkpoint=str(path), **kwargs))


@pytest.fixture(scope='module')
def vggish_file(tmp_path_factory):
    """A converted VGGish checkpoint (random weights) and its state."""
    torch.manual_seed(0)
    state = VGGish().state_dict()
    path = tmp_path_factory.mktemp('vggish') / 'vggish_mmseg.pth'
    torch.save(state, path)
    return path, state


def test_matching_file_loads_every_tensor(vggish_file):
    path, state = vggish_file
    torch.manual_seed(1)
    model = _pretrained(path)
    model.init_weights()
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key
    assert not any(p.requires_grad for p in model.parameters())


def test_prefix_selects_and_strips(vggish_file, tmp_path):
    _, state = vggish_file
    path = tmp_path / 'segmentor.pth'
    torch.save({'state_dict': {f'audio_encoder.{k}': v
                               for k, v in state.items()}}, path)
    model = _pretrained(path, prefix='audio_encoder')
    model.init_weights()
    torch.testing.assert_close(model.fcs.fc3.weight, state['fcs.fc3.weight'],
                               rtol=0, atol=0)


def test_unconverted_torchvggish_keys_raise_naming_them(tmp_path):
    """The torchvggish release names its layers features.* / embeddings.*:
    loading it unconverted must fail, not leave a random encoder."""
    path = tmp_path / 'vggish-10086976.pth'
    torch.save({'features.0.weight': torch.zeros(64, 1, 3, 3),
                'features.0.bias': torch.zeros(64),
                'embeddings.4.weight': torch.zeros(128, 4096)}, path)
    model = _pretrained(path)
    with pytest.raises(PretrainedKeysError) as err:
        model.init_weights()
    msg = str(err.value)
    assert str(path) in msg
    assert 'unexpected keys (3): embeddings.4.weight, features.0.bias' in msg
    assert 'missing keys (18): conv1.conv.bias, conv1.conv.weight' in msg
    assert 'vggish2mmseg.py' in msg


def test_wrong_shapes_raise_naming_them(tmp_path):
    torch.manual_seed(0)
    state = {k: torch.zeros(1) for k in VGGish().state_dict()}
    path = tmp_path / 'small.pth'
    torch.save(state, path)
    with pytest.raises(PretrainedKeysError,
                       match=r'shape mismatch \(18\): conv1\.conv\.bias '
                       r'\(1,\) vs \(64,\)'):
        _pretrained(path).init_weights()


def test_missing_file_says_which_and_how_to_get_it(tmp_path):
    path = tmp_path / 'pretrain' / 'vggish_mmseg.pth'
    with pytest.raises(FileNotFoundError) as err:
        _pretrained(path).init_weights()
    msg = str(err.value)
    assert str(path) in msg
    assert 'VGGish init_cfg.checkpoint' in msg
    assert 'python tools/misc/download_pretrained.py vggish' in msg


def test_without_pretrained_init_cfg_builds_random(vggish_file):
    """No ``Pretrained`` init_cfg: nothing is loaded, another init_cfg is
    applied as MMEngine does, and no init_cfg leaves seeded random
    weights."""
    _, state = vggish_file
    model = VGGish(init_cfg=dict(type='Constant', layer='Linear', val=0.5,
                                 bias=0.))
    model.init_weights()
    for fc in model.fcs.values():
        assert (fc.weight == 0.5).all() and (fc.bias == 0).all()
    assert not (model.conv1.conv.weight == 0.5).all()  # only Linear layers

    def random_state(seed):
        torch.manual_seed(seed)
        model = VGGish()
        model.init_weights()
        return model.state_dict()

    first, again, other = random_state(2), random_state(2), random_state(3)
    for key, value in first.items():
        assert torch.equal(value, again[key]), key
        if key.endswith('weight'):  # (ConvModule zeroes the conv biases)
            assert not torch.equal(value, other[key]), key
            assert not torch.equal(value, state[key]), key  # not the file's
