"""Convert torchvggish weights (``vggish-10086976.pth``) to ``VGGish``.

torchvggish names its layers ``features.<i>`` (an ``nn.Sequential`` of
convs, ReLUs and pools) and ``embeddings.<i>`` (fc layers); a model saved
with its post-processor also holds ``pproc._pca_matrix`` and
``pproc._pca_means``. ``rassu_mm.models.VGGish`` names the same weights
``conv1.conv`` ... ``conv4_2.conv`` and ``fcs.fc1`` ... ``fcs.fc3``; the PCA
post-processor (which quantises embeddings to 8 bits) is not used, so its
parameters are dropped.

Example::

    python tools/model_converters/vggish2mmseg.py \\
        pretrain/vggish-10086976.pth pretrain/vggish_mmseg.pth
"""
import argparse
import os.path as osp
from collections import OrderedDict

import torch
from mmengine.utils import mkdir_or_exist

from rassu_mm.models import VGGish
from rassu_mm.utils import safe_torch_load

# torchvggish module index -> rassu_mm module name
KEY_MAP = {
    'features.0': 'conv1.conv',
    'features.3': 'conv2.conv',
    'features.6': 'conv3_1.conv',
    'features.8': 'conv3_2.conv',
    'features.11': 'conv4_1.conv',
    'features.13': 'conv4_2.conv',
    'embeddings.0': 'fcs.fc1',
    'embeddings.2': 'fcs.fc2',
    'embeddings.4': 'fcs.fc3',
}
DROPPED_PREFIXES = ('pproc.', 'pca_')


def convert_vggish(state_dict: dict) -> OrderedDict:
    """Rename torchvggish keys; raise on any key that is not understood.

    Args:
        state_dict (dict): torchvggish state dict (``features.*``,
            ``embeddings.*``, optionally ``pproc.*``).

    Returns:
        OrderedDict: The state dict of ``rassu_mm.models.VGGish``.
    """
    converted = OrderedDict()
    for key, value in state_dict.items():
        if key.startswith(DROPPED_PREFIXES):
            continue
        module, _, param = key.rpartition('.')
        if module not in KEY_MAP or param not in ('weight', 'bias'):
            raise KeyError(f'unexpected torchvggish key: {key}')
        converted[f'{KEY_MAP[module]}.{param}'] = value
    missing = {
        f'{m}.{p}'
        for m in KEY_MAP.values()
        for p in ('weight', 'bias')
    } - set(converted)
    if missing:
        raise KeyError(f'torchvggish weights lack {sorted(missing)}')
    return converted


def main() -> None:
    parser = argparse.ArgumentParser(
        description='Convert torchvggish weights to rassu_mm VGGish.')
    parser.add_argument('src', help='torchvggish .pth file')
    parser.add_argument('dst', help='output .pth file')
    args = parser.parse_args()

    checkpoint = safe_torch_load(args.src, map_location='cpu')
    state_dict = checkpoint.get('state_dict', checkpoint)
    converted = convert_vggish(state_dict)
    # every tensor must fit: names and shapes of rassu_mm's VGGish
    VGGish().load_state_dict(converted, strict=True)
    mkdir_or_exist(osp.dirname(osp.abspath(args.dst)))
    torch.save(converted, args.dst)
    print(f'converted {len(converted)} tensors to {args.dst}')


if __name__ == '__main__':
    main()
