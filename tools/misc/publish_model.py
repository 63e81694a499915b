# Copyright (c) OpenMMLab. All rights reserved. Adapted for rassu-mm.
"""Prepare a training checkpoint for release (MMSegmentation's
``tools/misc/publish_model.py``).

Keeps ``meta`` and ``state_dict`` and drops what only resuming needs (the
optimizer state, the parameter schedulers, the message hub and the RNG
states of ``RNGStateHook``), then appends the first 8 hex digits of the
file's SHA-256 to its name, as OpenMMLab's released files::

    python tools/misc/publish_model.py work_dirs/s4/best_mIoU_iter_26000.pth \
        ssuformer_s4.pth                      # -> ssuformer_s4-1a2b3c4d.pth

``--strip-frozen CONFIG`` also drops the frozen weights that the config
reloads in ``init_weights`` (a frozen module whose own or an enclosing
module's ``init_cfg`` is ``Pretrained``, or that has a ``pretrained``
source, e.g. the frozen VGGish and CLIP towers). Such a file is smaller but
is complete only together with those pretrained files: ``tools/test.py``,
``tools/demo.py`` and :func:`rassu_mm.utils.load_model_weights` see the keys
it records, run ``init_weights()`` to read the pretrained files and then
load the file, checking that exactly the recorded keys are missing.
"""
import argparse
import hashlib
import os
import os.path as osp
from typing import List, Optional

import torch
from mmengine.config import Config
from torch import nn

from rassu_mm.utils import KEYS_FROM_INIT_WEIGHTS, safe_torch_load

#: top-level checkpoint entries kept in a published file
KEEP = ('meta', 'state_dict')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Strip a checkpoint for release')
    parser.add_argument('in_file', help='input checkpoint')
    parser.add_argument('out_file', help='output checkpoint')
    parser.add_argument(
        '--strip-frozen',
        metavar='CONFIG',
        help='also drop the frozen weights that CONFIG reloads from '
        'pretrained files in init_weights')
    return parser.parse_args(argv)


def _has_pretrained_source(module: nn.Module) -> bool:
    init_cfg = getattr(module, 'init_cfg', None)
    init_cfgs = init_cfg if isinstance(init_cfg, list) else [init_cfg]
    return any(
        isinstance(c, dict) and c.get('type') == 'Pretrained'
        for c in init_cfgs) or getattr(module, 'pretrained', None) is not None


def reloadable_frozen_prefixes(model: nn.Module) -> List[str]:
    """Name prefixes of the frozen modules whose weights ``init_weights``
    reloads.

    A module is frozen when it has parameters and none of them requires a
    gradient; only the outermost frozen modules are listed.

    Raises:
        ValueError: A frozen module has no pretrained source (its weights
            exist only in the checkpoint), naming it.
    """
    modules = dict(model.named_modules())
    frozen = {
        name
        for name, m in modules.items() if name and any(
            True for _ in m.parameters()) and not any(
                p.requires_grad for p in m.parameters())
    }
    roots = sorted(n for n in frozen if n.rpartition('.')[0] not in frozen)

    def reloadable(root):
        parts = root.split('.')
        return any(
            _has_pretrained_source(modules['.'.join(parts[:i])])
            for i in range(len(parts), -1, -1))

    orphans = [root for root in roots if not reloadable(root)]
    if orphans:
        raise ValueError(
            f'frozen modules {orphans} have no pretrained source in the '
            'config (no Pretrained init_cfg or `pretrained`): their weights '
            'exist only in the checkpoint, so they cannot be stripped')
    return roots


def publish(in_file: str,
            out_file: str,
            model: Optional[nn.Module] = None) -> str:
    """Write the stripped checkpoint; return its final (hashed) path.

    Args:
        in_file (str): A checkpoint written by the runner.
        out_file (str): Output path; ``-<sha256[:8]>`` is inserted before
            the extension.
        model (nn.Module, optional): The model built from the config; its
            reloadable frozen weights are dropped and their keys recorded in
            ``meta['keys_from_init_weights']``.
    """
    checkpoint = safe_torch_load(in_file, map_location='cpu')
    if not isinstance(checkpoint, dict) or 'state_dict' not in checkpoint:
        raise ValueError(f'{in_file} is not a training checkpoint (no '
                         "'state_dict')")
    checkpoint = {k: v for k, v in checkpoint.items() if k in KEEP}
    checkpoint.setdefault('meta', {})
    if model is not None:
        prefixes = tuple(p + '.' for p in reloadable_frozen_prefixes(model))
        state = checkpoint['state_dict']
        checkpoint['state_dict'] = {
            k: v
            for k, v in state.items() if not k.startswith(prefixes)
        }
        checkpoint['meta'][KEYS_FROM_INIT_WEIGHTS] = sorted(
            set(state) - set(checkpoint['state_dict']))
    out_dir = osp.dirname(osp.abspath(out_file))
    os.makedirs(out_dir, exist_ok=True)
    torch.save(checkpoint, out_file)
    with open(out_file, 'rb') as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    stem, ext = osp.splitext(out_file)
    final = f'{stem}-{sha[:8]}{ext or ".pth"}'
    os.replace(out_file, final)
    return final


def main(argv=None):
    args = parse_args(argv)
    model = None
    if args.strip_frozen:
        from mmseg.registry import MODELS
        from mmseg.utils import register_all_modules
        register_all_modules(init_default_scope=True)
        model = MODELS.build(Config.fromfile(args.strip_frozen).model)
    print(publish(args.in_file, args.out_file, model))


if __name__ == '__main__':
    main()
