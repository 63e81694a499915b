"""Audio encoders: VGGish (and the torchvggish converter), AudioCNN."""
import math
import sys

import pytest
import torch
import torch.nn as nn

from rassu_mm.models import AudioCNN, VGGish
from rassu_mm.testing import load_tool


def torchvggish_reference():
    """The torchvggish ``VGG`` module, written out as in torchvggish."""
    layers, in_channels = [], 1
    for v in [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M']:
        if v == 'M':
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [
                nn.Conv2d(in_channels, v, 3, padding=1),
                nn.ReLU(inplace=True)
            ]
            in_channels = v
    features = nn.Sequential(*layers)
    embeddings = nn.Sequential(
        nn.Linear(512 * 4 * 6, 4096), nn.ReLU(True), nn.Linear(4096, 4096),
        nn.ReLU(True), nn.Linear(4096, 128), nn.ReLU(True))

    class VGG(nn.Module):

        def __init__(self):
            super().__init__()
            self.features = features
            self.embeddings = embeddings

        def forward(self, x):
            x = self.features(x)
            x = torch.transpose(x, 1, 3)
            x = torch.transpose(x, 1, 2)
            x = x.contiguous().view(x.size(0), -1)
            return self.embeddings(x)

    return VGG()


class TestAudioEncoders:

    def test_vggish_frozen(self):
        model = VGGish(frozen=True)
        assert not any(p.requires_grad for p in model.parameters())
        model.train()
        assert not model.training
        out = model(torch.randn(3, 1, 96, 64))
        assert out.shape == (3, 128)
        assert all(p.requires_grad for p in VGGish(frozen=False).parameters())

    def test_converter_matches_torchvggish(self, tmp_path, monkeypatch):
        torch.manual_seed(0)
        reference = torchvggish_reference().eval()
        state = reference.state_dict()
        # a torchvggish model saved with its PCA post-processor
        state['pproc._pca_matrix'] = torch.randn(128, 128)
        state['pproc._pca_means'] = torch.randn(128, 1)
        src, dst = tmp_path / 'vggish-10086976.pth', tmp_path / 'conv.pth'
        torch.save(state, src)
        monkeypatch.setattr(sys, 'argv', ['vggish2mmseg.py', str(src),
                                          str(dst)])
        load_tool('tools/model_converters/vggish2mmseg.py').main()
        model = VGGish(init_cfg=dict(type='Pretrained', checkpoint=str(dst)))
        model.init_weights()
        audio = torch.randn(2, 1, 96, 64)
        with torch.no_grad():
            torch.testing.assert_close(model(audio), reference(audio))

    def test_converter_rejects_unknown_keys(self):
        convert_vggish = load_tool(
            'tools/model_converters/vggish2mmseg.py').convert_vggish
        state = torchvggish_reference().state_dict()
        with pytest.raises(KeyError, match='unexpected'):
            convert_vggish(dict(state, **{'features.1.weight': None}))
        state.pop('embeddings.4.bias')
        with pytest.raises(KeyError, match='lack'):
            convert_vggish(state)

    @pytest.mark.parametrize('num_mels', [64, 63])
    def test_audio_cnn(self, num_mels):
        """Two stride-2 convs keep ceil(ceil(F / 2) / 2) frequency bins,
        flattened into the projection; time is averaged, so any window
        length works; in eval mode each window is encoded on its own."""
        torch.manual_seed(0)
        model = AudioCNN(embed_dims=32, channels=(8, 16),
                         num_mels=num_mels).eval()
        assert model.proj.in_features == 16 * math.ceil(num_mels / 4)
        with torch.no_grad():
            for time in (96, 37):
                audio = torch.randn(4, 1, time, num_mels)
                out = model(audio)
                assert out.shape == (4, 32)
                torch.testing.assert_close(
                    out, torch.cat([model(clip[None]) for clip in audio]))
            # the spectrum's shape matters: mirrored frequencies differ
            assert (model(audio.flip(-1)) - out).abs().max() > 1e-3
