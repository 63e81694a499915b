"""Parameters and FLOPs of an SSU model config (one clip, tensor mode).

FLOPs are counted by ``mmengine.analysis`` (fvcore convention: one fused
multiply-add counts as one FLOP) on the segmentation path that
``SSUFormer._forward`` runs: backbone, audio encoder, pixel decoder, MMI
and mask decoder for ``--num-frames`` frames of ``--shape``. Parameters are
those of the whole model, caption branch included.

Example::

    python tools/analysis_tools/get_flops.py configs/ssuformer_f_music.py \\
        --shape 224 224 --num-frames 10
"""
import argparse

import torch
from mmengine.analysis import FlopAnalyzer, parameter_count
from mmengine.analysis.jit_handles import bmm_flop_jit
from mmengine.config import Config, DictAction

import rassu_mm  # noqa: F401  registers the components
from mmseg.registry import MODELS
from mmseg.utils import register_all_modules
from rassu_mm.structures import SSUDataSample


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


def dummy_batch(num_frames: int, height: int, width: int) -> dict:
    """One clip of zeros as ``pseudo_collate`` would hand it over."""
    sample = SSUDataSample(
        metainfo=dict(
            ori_shape=(height, width),
            img_shape=(height, width),
            num_frames=num_frames))
    return dict(
        inputs=dict(
            frames=[
                torch.zeros(num_frames, 3, height, width, dtype=torch.uint8)
            ],
            audio=[torch.zeros(num_frames, 1, 96, 64)]),
        data_samples=[sample])


def parse_args() -> argparse.Namespace:
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
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, xxx=yyy')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    model = MODELS.build(cfg.model)
    model.eval()

    data = model.data_preprocessor(
        dummy_batch(args.num_frames, *args.shape), False)
    analyzer = FlopAnalyzer(model, (data['inputs'], ))
    analyzer.set_op_handle('aten::scaled_dot_product_attention', sdpa_flop_jit,
                           'aten::baddbmm', baddbmm_flop_jit)
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    with torch.no_grad():
        flops = analyzer.total()
    params = parameter_count(model)['']
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)

    split = '=' * 60
    print(f'{split}\nConfig: {args.config}\n'
          f'Input: 1 clip x {args.num_frames} frames x '
          f'{args.shape[0]}x{args.shape[1]} (+ audio 96x64 per frame)\n'
          f'FLOPs (segmentation path): {flops / 1e9:.2f} G '
          f'({flops / args.num_frames / 1e9:.2f} G per frame)\n'
          f'Params: {params / 1e6:.2f} M '
          f'(trainable {trainable / 1e6:.2f} M)\n'
          f'Ops not counted (element-wise etc.): '
          f'{", ".join(sorted(analyzer.unsupported_ops()))}\n{split}')


if __name__ == '__main__':
    main()
