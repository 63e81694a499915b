"""PVTv2 loads the official PVT-v2 release layout strictly."""
import pytest
import torch

from rassu_mm.models.backbones import PVTv2
from rassu_mm.models.utils.pretrained import PretrainedKeysError

#: the stage layout of b5 at 1/8 of its width, one block per stage
TINY = dict(embed_dims=8, num_layers=[1, 1, 1, 1], num_heads=[1, 2, 5, 8],
            mlp_ratios=[4, 4, 4, 4], qkv_bias=True)


def release_state_dict(depths, dims=(8, 16, 40, 64), srs=(8, 4, 2, 1),
                       mlp_ratio=4):
    """Random tensors named and shaped as the official PVT-v2 release
    (``patch_embed{i}``, ``block{i}.{j}`` with ``attn.q``/``attn.kv``,
    ``mlp.dwconv.dwconv``, ``norm{i}`` and the classifier ``head``)."""
    sd, cin = {}, 3

    def add(name, *shape):
        sd[f'{name}.weight'] = torch.randn(*shape)
        sd[f'{name}.bias'] = torch.randn(shape[0])

    for s, (d, depth, sr) in enumerate(zip(dims, depths, srs), 1):
        k = 7 if s == 1 else 3
        add(f'patch_embed{s}.proj', d, cin, k, k)
        add(f'patch_embed{s}.norm', d)
        for j in range(depth):
            b = f'block{s}.{j}'
            add(f'{b}.norm1', d)
            add(f'{b}.attn.q', d, d)
            add(f'{b}.attn.kv', 2 * d, d)
            add(f'{b}.attn.proj', d, d)
            if sr > 1:
                add(f'{b}.attn.sr', d, d, sr, sr)
                add(f'{b}.attn.norm', d)
            add(f'{b}.norm2', d)
            add(f'{b}.mlp.fc1', d * mlp_ratio, d)
            add(f'{b}.mlp.dwconv.dwconv', d * mlp_ratio, 1, 3, 3)
            add(f'{b}.mlp.fc2', d, d * mlp_ratio)
        add(f'norm{s}', d)
        cin = d
    add('head', 1000, dims[-1])
    return sd


def _pvt(path, **kwargs):
    return PVTv2(**TINY, **kwargs,
                 init_cfg=dict(type='Pretrained', checkpoint=str(path)))


def test_release_file_loads_every_weight(tmp_path):
    torch.manual_seed(0)
    release = release_state_dict([1, 1, 1, 1])
    torch.save(release, tmp_path / 'pvt.pth')
    model = _pvt(tmp_path / 'pvt.pth')
    model.init_weights()
    state = model.state_dict()
    # q and kv are concatenated into the attention's in_proj
    torch.testing.assert_close(
        state['layers.2.1.0.attn.attn.in_proj_weight'],
        torch.cat([release['block3.0.attn.q.weight'],
                   release['block3.0.attn.kv.weight']]), rtol=0, atol=0)
    torch.testing.assert_close(state['layers.3.2.weight'],
                               release['norm4.weight'], rtol=0, atol=0)


def test_converted_file_with_convert_weights_false(tmp_path):
    torch.manual_seed(0)
    source = PVTv2(**TINY).state_dict()
    torch.save({'state_dict': source}, tmp_path / 'pvt.pth')
    model = _pvt(tmp_path / 'pvt.pth', convert_weights=False)
    model.init_weights()
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, source[key], rtol=0, atol=0)


def test_other_variant_raises_naming_keys(tmp_path):
    """A deeper PVT's file (2 blocks in stage 1) must not load silently."""
    torch.save(release_state_dict([2, 1, 1, 1]), tmp_path / 'pvt.pth')
    with pytest.raises(PretrainedKeysError,
                       match=r'unexpected keys \(\d+\): layers\.0\.1\.1\.'):
        _pvt(tmp_path / 'pvt.pth').init_weights()


def test_missing_file_says_how_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        _pvt(tmp_path / 'pvt_v2_b5.pth').init_weights()
    msg = str(err.value)
    assert 'PVTv2 init_cfg.checkpoint' in msg
    assert 'python tools/misc/download_pretrained.py pvt_v2_b5' in msg
