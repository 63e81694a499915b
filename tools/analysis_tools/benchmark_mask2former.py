"""Training step of SSUFormer (segmentation only) against mmseg's
Mask2Former with the same backbone, decoders, losses and batch.

Both models are built in one process from one SSUFormer config (default
``configs/ssuformer_demo_seg.py``):

(a) SSUFormer as the config builds it;
(b) its peer, mmseg's Mask2Former: an ``EncoderDecoder`` segmentor (mmseg
    has no ``Mask2Former`` segmentor class; its Mask2Former configs are
    this) with mmseg's ``Mask2FormerHead``, which wraps mmdet's. Its
    backbone and data preprocessor (``SegDataPreProcessor``) are the
    config's; everything of the head is read from the built SSUFormer:
    token size, number of queries, levels, the transformer decoder
    (layers, heads, FFN width: the config SSUMaskHead was given with the
    built head's token size), the point sampling (``num_points``,
    oversample and importance ratios), the losses (class, mask and dice
    terms rebuilt from the built loss modules, the no-object weight from
    the head's class weights) and the match costs (rebuilt from the built
    assigner; mmdet's per-image ``HungarianAssigner`` instead of
    SSUFormer's batched one). The weights the two share (backbone, pixel
    decoder, transformer decoder, class and mask embeddings) are copied
    from SSUFormer.

Pixel decoder (``--pixel-decoder``): ``config`` (default) gives both
models the config's pixel decoder; mmdet's ``Mask2FormerHead`` asserts a
deformable encoder in its pixel decoder config, so with the demo's
``FPNPixelDecoder`` the peer is built with a deformable one that is then
replaced by an ``FPNPixelDecoder`` of the config. ``deformable`` gives
both models mmdet's ``MSDeformAttnPixelDecoder`` of
``configs/_base_/models/ssuformer_r50.py`` (the r50 and PVT configs'),
with the config's input channels, token size and levels.

What differs by design: SSUFormer also runs its audio encoder, the audio
query generator and the audio-visual fusion (MMI) on every frame, and
its decoder queries are the fused audio queries instead of learned
embeddings; Mask2Former sees every frame as an image, so its batch is the
``clips x frames`` images of SSUFormer's batch at the same size, with the
same label maps.

Inputs: the batches of the config's ``train_dataloader`` (batch size
from the config or ``--batch-size``); when its ``data_root`` is absent, a
demo set of 16 training clips is generated into a temporary folder with
``rassu_mm.datasets.synthetic.make_synthetic_dataset``;
``--synthetic-inputs`` uses random clips (``--num-frames``, ``--shape``).
Batches are loaded before timing and reused cyclically.

A training step is ``model.train_step`` (preprocessing, forward, losses,
backward, optimizer step with the config's ``optim_wrapper``, e.g. AdamW
with gradient clipping; one optimizer per model). ``--warmup`` untimed
rounds first, then ``--iters`` timed rounds of one step of each model in
turn (who goes first alternates), so that both see the same machine load.
Reported: the median step time of each, the ratio SSUFormer-seg /
Mask2Former, the medians of the steps that followed the model's own step
(it went first in its round) and of those that followed the other
model's (on CPU the allocator's state left by the other model can cost a
step much: docs/benchmarks.md), parameter counts, the 1-minute load
average at start and end and, with ``--profile N``, ``N`` further rounds
with the exclusive wall time of every part of each step (preprocessing,
backbone, pixel decoder, audio encoder + query generator, MMI, mask
decoder, mask losses, backward, optimizer step; medians per step).

Example::

    OMP_NUM_THREADS=1 python tools/analysis_tools/benchmark_mask2former.py \\
        configs/ssuformer_demo_seg.py --threads 1 --warmup 3 --iters 30 \\
        --profile 10 --out work_dirs/ssuformer_vs_mask2former.json
"""
import argparse
import collections
import copy
import inspect
import json
import os
import os.path as osp
import statistics
import tempfile
import time
from typing import Callable, Dict, List, Optional, Tuple

import torch
from mmengine.config import Config, ConfigDict, DictAction
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import set_random_seed
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from tqdm import tqdm

from rassu_mm.datasets.synthetic import make_synthetic_dataset
from rassu_mm.testing import REPO_ROOT, load_tool

benchmark = load_tool('tools/analysis_tools/benchmark.py')
benchmarking = benchmark.benchmarking

DEFAULT_CONFIG = osp.join(REPO_ROOT, 'configs', 'ssuformer_demo_seg.py')
#: The model config whose deformable pixel decoder ``--pixel-decoder
#: deformable`` gives both models.
DEFORMABLE_BASE = osp.join(REPO_ROOT, 'configs', '_base_', 'models',
                           'ssuformer_r50.py')
#: Clips (train, val, test) of the demo set generated when the config's
#: data is absent.
GENERATED_CLIPS = (16, 4, 4)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Training step of SSUFormer-seg against mmseg\'s '
        'Mask2Former with the same backbone, decoders, losses and batch')
    parser.add_argument(
        'config',
        nargs='?',
        default=DEFAULT_CONFIG,
        help='SSUFormer config without caption head (default: '
        'configs/ssuformer_demo_seg.py)')
    parser.add_argument(
        '--pixel-decoder',
        choices=['config', 'deformable'],
        default='config',
        help='config: the config\'s pixel decoder in both models; '
        'deformable: mmdet\'s MSDeformAttnPixelDecoder of '
        '_base_/models/ssuformer_r50.py in both')
    parser.add_argument(
        '--iters', type=int, default=30, help='timed steps of each model')
    parser.add_argument(
        '--warmup', type=int, default=3, help='untimed steps of each first')
    parser.add_argument(
        '--profile',
        type=int,
        default=0,
        metavar='N',
        help='N more rounds timing each part of the steps')
    parser.add_argument(
        '--batch-size',
        type=int,
        help='clips per batch (default: the config\'s train_dataloader)')
    benchmark.add_input_arguments(parser)
    parser.add_argument(
        '--threads', type=int, help='torch CPU threads (default: torch\'s)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', help='also write the results to this JSON')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, xxx=yyy')
    args = parser.parse_args(argv)
    if args.iters < 1 or args.warmup < 0 or args.profile < 0:
        parser.error('--iters must be >= 1, --warmup and --profile >= 0')
    return args


# ----------------------------------------------------------------- models
def load_config(args: argparse.Namespace) -> Config:
    """The SSUFormer config with ``--cfg-options`` and, for
    ``--pixel-decoder deformable``, the deformable pixel decoder."""
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if cfg.model.get('caption_head') is not None:
        raise ValueError(f'{args.config} has a caption head: give a '
                         'segmentation-only SSUFormer config')
    if args.pixel_decoder == 'deformable':
        cfg.model.pixel_decoder = deformable_pixel_decoder(cfg)
    return cfg


def deformable_pixel_decoder(cfg: Config) -> ConfigDict:
    """``MSDeformAttnPixelDecoder`` of :data:`DEFORMABLE_BASE` with the
    input channels, normalisation, number of levels and token size of
    ``cfg``'s model."""
    decoder = copy.deepcopy(Config.fromfile(DEFORMABLE_BASE).model.
                            pixel_decoder)
    own = cfg.model.pixel_decoder
    embed_dims = cfg.model.embed_dims
    num_outs = own.get('num_outs', decoder.num_outs)
    decoder.update(
        in_channels=list(own.in_channels),
        num_outs=num_outs,
        norm_cfg=own.get('norm_cfg', decoder.norm_cfg))
    layer = decoder.encoder.layer_cfg
    layer.self_attn_cfg.update(embed_dims=embed_dims, num_levels=num_outs)
    layer.ffn_cfg.embed_dims = embed_dims
    decoder.positional_encoding.num_feats = embed_dims // 2
    return decoder


def rebuilt_cfg(obj) -> dict:
    """The config of a built mmdet loss or match cost: its registered type
    and every constructor argument it keeps as an attribute of the same
    name (``loss_weight``, ``gamma``, ``weight``, ...)."""
    cls = type(obj)
    scope = 'mmdet.' if cls.__module__.startswith('mmdet') else ''
    cfg = dict(type=scope + cls.__name__)
    for name in inspect.signature(cls.__init__).parameters:
        if name != 'self' and name in vars(obj):
            value = vars(obj)[name]
            cfg[name] = value.tolist() if torch.is_tensor(value) else value
    return cfg


def mask2former_cfg(cfg: Config, ssu: torch.nn.Module) -> ConfigDict:
    """mmseg's Mask2Former (``EncoderDecoder`` + ``Mask2FormerHead``) with
    ``cfg``'s backbone and data preprocessor and the head of the built
    SSUFormer ``ssu`` (see the module docstring).

    Returns:
        ConfigDict: The model config. With a pixel decoder that is not
        deformable its ``decode_head.pixel_decoder`` is a deformable stand-in
        (for mmdet's assertion) that :func:`build_mask2former` replaces.
    """
    head = ssu.decode_head
    embed_dims = head.transformer_decoder.embed_dims
    num_levels = ssu.pixel_decoder.num_outs
    transformer_decoder = copy.deepcopy(
        cfg.model.decode_head.get(
            'transformer_decoder',
            inspect.signature(type(head)).parameters['transformer_decoder'].
            default))
    layer = transformer_decoder['layer_cfg']
    for key in ('self_attn_cfg', 'cross_attn_cfg', 'ffn_cfg'):
        layer[key]['embed_dims'] = embed_dims
    pixel_decoder = copy.deepcopy(cfg.model.pixel_decoder)
    if 'encoder' not in pixel_decoder:
        pixel_decoder = deformable_pixel_decoder(cfg)
    position = head.decoder_positional_encoding
    loss_cls = dict(
        rebuilt_cfg(head.loss_cls), class_weight=head.class_weight.tolist())
    data_preprocessor = dict(
        cfg.model.data_preprocessor, type='SegDataPreProcessor')
    return ConfigDict(
        type='EncoderDecoder',
        data_preprocessor=data_preprocessor,
        backbone=copy.deepcopy(cfg.model.backbone),
        decode_head=dict(
            type='Mask2FormerHead',
            in_channels=list(cfg.model.pixel_decoder.in_channels),
            feat_channels=embed_dims,
            out_channels=embed_dims,
            num_classes=head.num_classes,
            num_queries=head.num_queries,
            num_transformer_feat_level=num_levels,
            align_corners=False,
            ignore_index=head.ignore_index,
            pixel_decoder=pixel_decoder,
            enforce_decoder_input_project=False,
            positional_encoding=dict(
                num_feats=position.num_feats, normalize=position.normalize),
            transformer_decoder=transformer_decoder,
            loss_cls=loss_cls,
            loss_mask=rebuilt_cfg(head.loss_mask),
            loss_dice=rebuilt_cfg(head.loss_dice),
            train_cfg=dict(
                num_points=head.num_points,
                oversample_ratio=head.oversample_ratio,
                importance_sample_ratio=head.importance_sample_ratio,
                assigner=dict(
                    type='mmdet.HungarianAssigner',
                    match_costs=[
                        rebuilt_cfg(cost)
                        for cost in head.assigner.match_costs
                    ]),
                sampler=dict(type='mmdet.MaskPseudoSampler'))),
        train_cfg=dict(),
        test_cfg=dict(mode='whole'))


def build_mask2former(cfg: Config, ssu: torch.nn.Module) -> torch.nn.Module:
    """Build :func:`mask2former_cfg`, give it ``cfg``'s pixel decoder if
    that is not deformable, and copy the weights it shares with ``ssu``."""
    model = MODELS.build(mask2former_cfg(cfg, ssu))
    head, own = model.decode_head, ssu.decode_head
    if type(head.pixel_decoder) is not type(ssu.pixel_decoder):
        head.pixel_decoder = MODELS.build(
            dict(
                cfg.model.pixel_decoder,
                feat_channels=head.decoder_embed_dims,
                out_channels=head.decoder_embed_dims))
    model.backbone.load_state_dict(ssu.backbone.state_dict())
    head.pixel_decoder.load_state_dict(ssu.pixel_decoder.state_dict())
    for name in ('transformer_decoder', 'level_embed', 'cls_embed',
                 'mask_embed'):
        getattr(head, name).load_state_dict(getattr(own, name).state_dict())
    return model


def build_models(cfg: Config, device: torch.device) -> dict:
    """``{'ssuformer': SSUFormer, 'mask2former': its peer}`` on
    ``device``, in train mode."""
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    ssu = MODELS.build(cfg.model)
    peer = build_mask2former(cfg, ssu)
    return dict(ssuformer=ssu.to(device).train(),
                mask2former=peer.to(device).train())


def params(model: torch.nn.Module) -> dict:
    """Parameter counts, in all and trainable."""
    return dict(
        params=sum(p.numel() for p in model.parameters()),
        trainable_params=sum(p.numel() for p in model.parameters()
                             if p.requires_grad))


# ----------------------------------------------------------------- inputs
def load_clip_batches(cfg: Config, model: torch.nn.Module,
                      args: argparse.Namespace) -> List[dict]:
    """SSUFormer's training batches (``benchmark.load_batches``); a demo
    set is generated into a temporary folder when the config's data root
    is absent."""
    batch_size = args.batch_size or cfg.train_dataloader.batch_size
    num_batches = args.warmup + args.iters
    dataset = cfg.train_dataloader.dataset
    if args.synthetic_inputs or osp.isdir(dataset.data_root):
        return benchmark.load_batches(cfg, model, 'train', batch_size,
                                      num_batches, args)
    cfg = copy.deepcopy(cfg)
    dataset = cfg.train_dataloader.dataset
    with tempfile.TemporaryDirectory() as root:
        print(f'{dataset.data_root} is absent: generating '
              f'{GENERATED_CLIPS[0]} training clips in {root}')
        make_synthetic_dataset(
            root, num_clips=GENERATED_CLIPS, seed=args.seed, progress=False)
        dataset.data_root = root
        for step in dataset.pipeline:
            if step['type'] == 'LoadClipAudio':
                step['cache_dir'] = osp.join(root, 'audio_cache')
        return benchmark.load_batches(cfg, model, 'train', batch_size,
                                      num_batches, args)


def frame_batch(clip_batch: dict) -> dict:
    """A batch of clips as a batch of images for mmseg: the ``B * T``
    frames (uint8 ``[3, H, W]``, clip by clip) and one ``SegDataSample``
    per frame with its label map ``gt_sem_seg`` ``[1, H, W]`` and its
    clip's shapes and flip."""
    inputs, samples = [], []
    for frames, clip in zip(clip_batch['inputs']['frames'],
                            clip_batch['data_samples']):
        meta = {
            key: clip.metainfo[key]
            for key in ('ori_shape', 'img_shape', 'flip', 'flip_direction')
            if key in clip.metainfo
        }
        for frame, labels in zip(frames, clip.gt_sem_seg.data):
            inputs.append(frame)
            sample = SegDataSample(metainfo=meta)
            sample.gt_sem_seg = PixelData(data=labels[None])
            samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


# ------------------------------------------------------------------ steps
class PartTimer:
    """Exclusive wall time of named calls: a wrapped call's time less that
    of the wrapped calls it makes (e.g. a head's loss less its forward).

    Args:
        device (torch.device): CUDA work is waited for at every wrapped
            call's start and end.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.seconds: Dict[str, float] = collections.defaultdict(float)
        self._children: List[float] = []
        self._patched: List[Tuple[object, str]] = []

    def _now(self) -> float:
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
        return time.perf_counter()

    def wrap(self, owner, attr: str, name: str) -> None:
        """Time ``owner.<attr>(...)`` as part ``name`` (an attribute of the
        instance shadows the method until :meth:`remove`)."""
        fn = getattr(owner, attr)

        def timed_call(*args, **kwargs):
            self._children.append(0.0)
            start = self._now()
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = self._now() - start
                self.seconds[name] += elapsed - self._children.pop()
                if self._children:
                    self._children[-1] += elapsed

        setattr(owner, attr, timed_call)
        self._patched.append((owner, attr))

    def take(self) -> Dict[str, float]:
        """The seconds per part since the last call, and start anew."""
        seconds, self.seconds = dict(self.seconds), collections.defaultdict(
            float)
        return seconds

    def remove(self) -> None:
        for owner, attr in reversed(self._patched):
            delattr(owner, attr)
        self._patched.clear()


def timed_parts(timer: PartTimer, name: str, model: torch.nn.Module,
                optim_wrapper) -> None:
    """Wrap the parts of ``model``'s training step in ``timer``."""
    head = model.decode_head
    parts = [('preprocess', model.data_preprocessor, 'forward'),
             ('backbone', model.backbone, 'forward')]
    if name == 'ssuformer':
        parts += [('pixel decoder', model.pixel_decoder, 'forward'),
                  ('audio encoder + query generator', model.audio_encoder,
                   'forward'),
                  ('audio encoder + query generator', model.query_generator,
                   'forward'), ('MMI', model.fusion, 'forward')]
    else:
        parts.append(('pixel decoder', head.pixel_decoder, 'forward'))
    parts += [('mask decoder', head, 'forward'),
              ('mask losses', head, 'loss'),
              ('backward', optim_wrapper, 'backward'),
              ('optimizer step', optim_wrapper, 'step')]
    for part, owner, attr in parts:
        timer.wrap(owner, attr, part)


def run_rounds(steps: Dict[str, Callable], batches: Dict[str, List[dict]],
               first: int, rounds: int, device: torch.device,
               desc: Optional[str] = None,
               timer: Optional[PartTimer] = None) -> dict:
    """Rounds ``first .. first + rounds - 1``: one step of each model in
    turn (who goes first alternates, so a model that goes first follows
    its own step of the round before, the other follows it). Returns per
    model the seconds of each step, whether it followed its own step
    (went first) and, with ``timer``, the seconds of each part in each
    step."""
    times = {name: [] for name in steps}
    after_own = {name: [] for name in steps}
    parts = {name: [] for name in steps}
    for i in tqdm(range(first, first + rounds), desc=desc, disable=not desc):
        for position, name in enumerate(benchmarking.in_turn(steps, i)):
            batch = copy.deepcopy(batches[name][i % len(batches[name])])
            seconds, _ = benchmarking.timed(steps[name], batch, device=device)
            times[name].append(seconds)
            after_own[name].append(position == 0)
            if timer is not None:
                parts[name].append(timer.take())
    return dict(times=times, after_own=after_own, parts=parts)


def step_summary(times: List[float], after_own: List[bool]) -> dict:
    """The seconds of each step and their medians: over all steps, over
    those that followed the model's own step and over those that followed
    the other model's (None without such steps)."""

    def median(values: List[float]) -> Optional[float]:
        return statistics.median(values) if values else None

    return dict(
        iter_s=times,
        median_s=statistics.median(times),
        median_after_own_s=median(
            [t for t, own in zip(times, after_own) if own]),
        median_after_other_s=median(
            [t for t, own in zip(times, after_own) if not own]))


def profile_summary(times: List[float], parts: List[dict]) -> dict:
    """Median seconds per step of every part and of the rest
    (``other``: what runs outside the parts, e.g. ``parse_losses``,
    ``zero_grad``), with their shares of the median step."""
    names = list(dict.fromkeys(name for step in parts for name in step))
    medians = {
        name: statistics.median(step.get(name, 0.0) for step in parts)
        for name in names
    }
    medians['other'] = statistics.median(
        total - sum(step.values()) for total, step in zip(times, parts))
    step = statistics.median(times)
    return dict(
        step_s=step,
        parts_s=medians,
        parts_share={name: s / step
                     for name, s in medians.items()})


def compare(args: argparse.Namespace) -> dict:
    """Build both models, time their training steps in turn; the result
    dict (see the module docstring)."""
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    set_random_seed(args.seed)
    cfg = load_config(args)
    models = build_models(cfg, device)
    clip_batches = load_clip_batches(cfg, models['ssuformer'], args)
    batches = dict(
        ssuformer=clip_batches,
        mask2former=[frame_batch(b) for b in clip_batches])
    optim_wrappers = {
        name: build_optim_wrapper(model, copy.deepcopy(cfg.optim_wrapper))
        for name, model in models.items()
    }
    steps = {
        name: (lambda batch, m=model, o=optim_wrappers[name]: m.train_step(
            batch, o))
        for name, model in models.items()
    }
    first = clip_batches[0]
    result = dict(
        config=args.config,
        commit=benchmarking.describe_tree(REPO_ROOT),
        pixel_decoder=args.pixel_decoder,
        pixel_decoder_type=type(models['ssuformer'].pixel_decoder).__name__,
        inputs='synthetic' if args.synthetic_inputs else 'dataset',
        device=str(device),
        threads=torch.get_num_threads(),
        cpus=os.cpu_count(),
        warmup=args.warmup,
        iters=args.iters,
        clips_per_batch=len(first['data_samples']),
        frames_per_clip=len(first['inputs']['frames'][0]),
        frame_shape=list(first['inputs']['frames'][0].shape[-2:]),
        optim_wrapper=cfg.optim_wrapper.to_dict(),
        load_avg_start=os.getloadavg()[0])
    run_rounds(steps, batches, 0, args.warmup, device)
    timed = run_rounds(steps, batches, args.warmup, args.iters, device,
                       'timed rounds')
    result['load_avg_end'] = os.getloadavg()[0]
    for name, model in models.items():
        result[name] = dict(
            params(model),
            **step_summary(timed['times'][name], timed['after_own'][name]))
    ssu_res, peer_res = result['ssuformer'], result['mask2former']
    result['ratio'] = ssu_res['median_s'] / peer_res['median_s']
    result['ratio_after_own'] = (
        ssu_res['median_after_own_s'] / peer_res['median_after_own_s']
        if peer_res['median_after_own_s'] and ssu_res['median_after_own_s']
        else None)
    ssu = models['ssuformer']
    result['ssuformer']['audio_and_mmi_params'] = sum(
        params(part)['params']
        for part in (ssu.audio_encoder, ssu.query_generator, ssu.fusion))
    if args.profile:
        timer = PartTimer(device)
        for name, model in models.items():
            timed_parts(timer, name, model, optim_wrappers[name])
        try:
            runs = run_rounds(steps, batches, args.warmup + args.iters,
                              args.profile, device, 'profiled rounds', timer)
        finally:
            timer.remove()
        for name in models:
            result[name]['profile'] = profile_summary(
                runs['times'][name], runs['parts'][name])
    return result


# ----------------------------------------------------------------- output
def _fmt(value: Optional[float], digits: int = 4, unit: str = '') -> str:
    return '-' if value is None else f'{value:.{digits}f}{unit}'


def format_result(result: dict) -> str:
    """Medians, ratio, parameters and, if profiled, the parts, as
    Markdown."""
    ssu, peer = result['ssuformer'], result['mask2former']
    lines = [
        f"{osp.basename(result['config'])} at {result['commit']}, pixel "
        f"decoder {result['pixel_decoder_type']}; batch "
        f"{result['clips_per_batch']} clips x {result['frames_per_clip']} "
        f"frames of {result['frame_shape'][0]}x{result['frame_shape'][1]} "
        f"({result['inputs']}); {result['device']}, {result['threads']} "
        f"torch threads, {result['cpus']} CPUs, 1-min load average "
        f"{result['load_avg_start']:.2f}->{result['load_avg_end']:.2f}; "
        f"{result['warmup']} warm-up + {result['iters']} timed steps each, "
        'in turn', '',
        '| Model | Params | median step s | after its own step | after '
        'the other\'s |', '|---|---|---|---|---|',
        f"| SSUFormer-seg | {ssu['params'] / 1e6:.3f} M (audio + MMI "
        f"{ssu['audio_and_mmi_params'] / 1e6:.3f} M) | "
        f"{ssu['median_s']:.4f} | {_fmt(ssu['median_after_own_s'])} | "
        f"{_fmt(ssu['median_after_other_s'])} |",
        f"| mmseg Mask2Former | {peer['params'] / 1e6:.3f} M | "
        f"{peer['median_s']:.4f} | {_fmt(peer['median_after_own_s'])} | "
        f"{_fmt(peer['median_after_other_s'])} |", '',
        f"SSUFormer-seg / Mask2Former: {result['ratio']:.2f}x (steps after "
        f"their own step: {_fmt(result['ratio_after_own'], 2, 'x')})"
    ]
    if 'profile' in ssu:
        names = list(
            dict.fromkeys(
                list(ssu['profile']['parts_s']) +
                list(peer['profile']['parts_s'])))
        lines += [
            '', 'Profiled steps, median s per step (share of the median '
            'step):', '', '| Part | SSUFormer-seg | Mask2Former |',
            '|---|---|---|'
        ]
        for name in names:
            cells = []
            for res in (ssu, peer):
                prof = res['profile']
                cells.append(f"{prof['parts_s'][name]:.4f} "
                             f"({prof['parts_share'][name]:.0%})"
                             if name in prof['parts_s'] else '-')
            lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
        lines.append(f"| step | {ssu['profile']['step_s']:.4f} | "
                     f"{peer['profile']['step_s']:.4f} |")
    return '\n'.join(lines)


def main(argv=None) -> dict:
    args = parse_args(argv)
    result = compare(args)
    print(format_result(result))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == '__main__':
    main()
