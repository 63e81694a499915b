"""Parameters and FLOPs of an SSU model config (one clip, tensor mode).

FLOPs are counted by ``mmengine.analysis`` (fvcore convention: one fused
multiply-add counts as one FLOP) on what ``SSUFormer._forward`` runs for
``--num-frames`` frames of ``--shape``: backbone, audio encoder, pixel
decoder, MMI and mask decoder and, when the model has a caption head, the
caption branch: MCM (the CLIP vision encoder once per frame) and one
teacher-forced pass of the caption decoder over ``--caption-length``
positions (what generating that many tokens per frame with the key/value
cache costs; beam search costs about ``beam_size`` times more).
``--caption-length 0`` counts the segmentation path only. Parameters are
those of the whole model; a per-component table follows.

The model is built offline and without pretrained files (CLIP from the
sizes in the config; weights only matter to ``init_weights``). When the
caption tokenizer the config names has not been built yet, a small stand-in
vocabulary is used and said so: the caption decoder's input embedding and
output layer scale with the vocabulary size.

Example::

    python tools/analysis_tools/get_flops.py configs/ssuformer_f_music.py \\
        --shape 224 224 --num-frames 10
"""
import argparse
import tempfile

import torch
from mmengine.analysis import FlopAnalyzer, parameter_count
from mmengine.analysis.jit_handles import bmm_flop_jit
from mmengine.config import Config, DictAction
from torch import nn

import rassu_mm  # noqa: F401  registers the components
from mmseg.registry import MODELS
from mmseg.utils import register_all_modules
from rassu_mm.testing import demo_mm_inputs, use_stand_in_tokenizer


def sdpa_flop_jit(inputs: list, outputs: list) -> int:
    """``aten::scaled_dot_product_attention``: ``Q K^T`` and ``A V``."""
    q_shape = inputs[0].type().sizes()
    k_shape = inputs[1].type().sizes()
    batch = 1
    for size in q_shape[:-2]:
        batch *= size
    return 2 * batch * q_shape[-2] * k_shape[-2] * q_shape[-1]


def baddbmm_flop_jit(inputs: list, outputs: list) -> int:
    """``aten::baddbmm(input, batch1, batch2)``: the batched matmul."""
    return bmm_flop_jit(inputs[1:3], outputs)


class TensorMode(nn.Module):
    """``model._forward`` with fixed data samples and caption length (the
    tracer only passes tensors)."""

    def __init__(self, model: nn.Module, data_samples: list,
                 caption_length: int) -> None:
        super().__init__()
        self.model = model
        self.data_samples = data_samples
        self.caption_length = caption_length

    def forward(self, inputs: dict) -> tuple:
        return self.model._forward(inputs, self.data_samples,
                                   self.caption_length)


def complexity(model: nn.Module,
               num_frames: int,
               shape: tuple,
               caption_length: int = 20) -> dict:
    """Count one clip's FLOPs and the parameters of an SSUFormer.

    Args:
        model (nn.Module): the model (put in eval mode here).
        num_frames (int): frames of the clip.
        shape (tuple): frame ``(H, W)``.
        caption_length (int): decoder positions of the caption pass; used
            only when the model has a caption head (0: never).

    Returns:
        dict: ``flops`` (total), ``params``, ``trainable``,
        ``caption_length`` (the one counted, 0 without caption branch),
        ``components`` (``{name: (params, flops)}`` per top-level module)
        and ``unsupported`` (op names that were not counted).
    """
    model.eval()
    if not getattr(model, 'with_caption', False):
        caption_length = 0
    data = model.data_preprocessor(
        demo_mm_inputs([shape], num_frames, with_gt=False, zeros=True), False)
    wrapper = TensorMode(model, data['data_samples'], caption_length)
    analyzer = FlopAnalyzer(wrapper, (data['inputs'], ))
    analyzer.set_op_handle('aten::scaled_dot_product_attention', sdpa_flop_jit,
                           'aten::baddbmm', baddbmm_flop_jit)
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    analyzer.tracer_warnings('none')
    with torch.no_grad():
        flops = analyzer.total()
        by_module = analyzer.by_module()
    params = parameter_count(model)
    components = {
        name: (params.get(name, 0), by_module.get(f'model.{name}', 0))
        for name, _ in model.named_children()
    }
    return dict(
        flops=flops,
        params=params[''],
        trainable=sum(p.numel() for p in model.parameters()
                      if p.requires_grad),
        caption_length=caption_length,
        components=components,
        unsupported=sorted(analyzer.unsupported_ops()))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Parameters and FLOPs of an SSU model')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--shape',
        type=int,
        nargs=2,
        default=[224, 224],
        help='frame height and width')
    parser.add_argument(
        '--num-frames', type=int, default=10, help='frames per clip')
    parser.add_argument(
        '--caption-length',
        type=int,
        default=20,
        help='caption decoder positions counted per frame when the model '
        'has a caption head (0: segmentation path only)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, xxx=yyy')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    with tempfile.TemporaryDirectory() as folder:
        missing = use_stand_in_tokenizer(
            cfg, folder, ['the man on the left is playing the violin.'])
        model = MODELS.build(cfg.model)
    if missing:
        print(f'note: tokenizer {missing} not built yet; counting with a '
              'stand-in vocabulary of '
              f'{model.caption_head.tokenizer.vocab_size} tokens')
    res = complexity(model, args.num_frames, tuple(args.shape),
                     args.caption_length)
    flops, frames = res['flops'], args.num_frames
    if res['caption_length']:
        path = (f'segmentation + caption branch, {res["caption_length"]} '
                'caption tokens per frame')
    else:
        path = 'segmentation path'
    split = '=' * 60
    lines = [
        split, f'Config: {args.config}',
        f'Input: 1 clip x {frames} frames x '
        f'{args.shape[0]}x{args.shape[1]} (+ audio 96x64 per frame)',
        f'FLOPs ({path}): {flops / 1e9:.2f} G '
        f'({flops / frames / 1e9:.2f} G per frame)',
        f'Params: {res["params"] / 1e6:.2f} M '
        f'(trainable {res["trainable"] / 1e6:.2f} M)', '',
        f'{"Component":<18}{"Params (M)":>12}{"FLOPs (G)":>12}'
    ]
    for name, (n_params, n_flops) in res['components'].items():
        if n_params or n_flops:
            lines.append(f'{name:<18}{n_params / 1e6:>12.2f}'
                         f'{n_flops / 1e9:>12.2f}')
    lines += [
        f'Ops not counted (element-wise etc.): '
        f'{", ".join(res["unsupported"])}', split
    ]
    print('\n'.join(lines))
    return res


if __name__ == '__main__':
    main()
