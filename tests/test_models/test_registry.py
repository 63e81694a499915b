"""Every SSUFormer component is registered under its class name."""
from mmseg.registry import MODELS


def test_models_are_registered():
    for name in ('SSUDataPreprocessor', 'VGGish', 'AudioCNN',
                 'AudioQueryGenerator', 'MultiModalityIntegration',
                 'FPNPixelDecoder', 'SSUMaskHead', 'SSUFormer'):
        assert MODELS.get(name) is not None, name
