"""Training and inference throughput and peak memory of SSU model configs.

For every config: training clips/s (``model.train_step``: preprocessing,
forward, losses, backward, optimizer step, with the config's
``optim_wrapper``), inference clips/s and frames/s (``model.val_step``:
preprocessing, masks at the original size and, with a caption head,
caption generation), and the peak memory of each phase. Warm-up iterations
are run first and not timed; throughput is given over all timed
iterations and, robust to stalls caused by other processes on a shared
machine, from the median iteration time. The batches are loaded before
timing (data loading is excluded; see ``benchmark_dataloader.py`` for it)
and reused cyclically.

Inputs come from the config's ``train_dataloader`` (training) and
``test_dataloader`` (inference), batch sizes from the config or
``--batch-size``. ``--synthetic-inputs`` builds random clips instead, with
the config's ``num_frames`` and ``img_scale`` (or ``--num-frames`` /
``--shape``): for configs whose data is absent (the paper configs).

``--flops`` also counts the FLOPs of one training step (forward,
backward and optimizer step) and of one inference step once, untimed, with
``torch.utils.flop_counter.FlopCounterMode`` (two FLOPs per multiply-add;
matrix products, convolutions and attention, not element-wise ops; the
decode step eager even with ``generation.compile``): ``{phase}_flops``,
``{phase}_tflops_per_s`` (FLOPs / median step time) and, given the device's
peak (``--peak-tflops`` or ``PEAK_TFLOPS``), the model FLOP utilisation
``{phase}_mfu``. What activation checkpointing recomputes in the backward
pass is counted apart (``train_recompute_flops``) and not in
``train_flops`` (model FLOPs, not hardware FLOPs). ``--with-cp`` turns on
the ``with_cp`` switches the config's model has (backbone, pixel decoder,
CLIP tower of MCM). A phase that runs out of GPU memory is recorded
(``{phase}_oom``) instead of ending the run.

``--phases activations`` gives the memory one training forward pass
leaves allocated for the backward pass (the activations), per frame, in
all and per part of the model (``benchmarking.retained_memory``), e.g.
with and without the ``with_cp`` switches.

Weights are random (``--checkpoint`` loads trained ones). Caption
generation is forced to its full ``max_length`` (EOS disabled) unless
``--keep-eos`` is given, so that the timing does not depend on when random
weights happen to emit EOS.

Peak memory: on CUDA ``torch.cuda.max_memory_allocated`` (tensors only);
on CPU the peak resident set size (RSS) of the whole process during the
phase (Linux ``VmHWM``, reset before each phase through
``/proc/self/clear_refs``; elsewhere ``ru_maxrss``, the peak since the
process started). Process RSS includes the Python runtime, the libraries,
the model, the loaded batches and memory the allocator kept from earlier
work, so it is an upper bound of what the model needs. With several
configs each one runs in its own process (unless ``--same-process``), so
their figures do not carry over from one to the next.

Examples::

    # segmentation-only vs full model on the demo data
    python tools/analysis_tools/benchmark.py configs/ssuformer_demo_seg.py \\
        configs/ssuformer_demo.py
    # the paper config on a GPU, random inputs, AMP, batch 1
    python tools/analysis_tools/benchmark.py configs/ssuformer_f_music.py \\
        --synthetic-inputs --device cuda --amp --batch-size 1
    # bfloat16 training with activation checkpointing: FLOPs, TFLOP/s, MFU
    python tools/analysis_tools/benchmark.py configs/ssuformer_f_music.py \\
        --synthetic-inputs --device cuda --amp --amp-dtype bfloat16 \\
        --with-cp --flops --phases train --batch-size 2
    # this checkout against a commit, one training step of each in turn
    python tools/analysis_tools/benchmark.py configs/ssuformer_demo.py \\
        --against 100158e --phases train --iters 20

``--against REF`` runs this checkout and ``REF`` (a commit or branch,
checked out in a temporary ``git worktree``, or a folder holding another
checkout) in two worker processes, each importing its own ``rassu_mm``
and reading its own copy of the config, and gives them one step each in
turn (who goes first alternates), so that both see the same machine load;
it reports the median step times, their ratio and, for training, the
largest difference of the logged losses (same seed, weights and batches).
"""
import argparse
import collections
import contextlib
import copy
import gc
import importlib.util
import inspect
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import tempfile
from typing import Callable, Dict, List, Optional
from unittest import mock

import torch
from mmengine.config import Config, DictAction
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint, set_random_seed
from torch.utils.flop_counter import FlopCounterMode

import rassu_mm  # registers the components
from mmseg.registry import DATASETS, MODELS
from rassu_mm.testing import demo_clip

#: The checkout this tool belongs to ("this" of --against).
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# this checkout's helpers, also in a worker that imports another
# checkout's rassu_mm (--against), which may predate them
_spec = importlib.util.spec_from_file_location(
    '_benchmarking', osp.join(REPO_ROOT, 'rassu_mm', 'utils',
                              'benchmarking.py'))
benchmarking = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(benchmarking)


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of the inputs and the device: ``--synthetic-inputs``,
    ``--num-frames``, ``--shape`` and ``--device``."""
    parser.add_argument(
        '--synthetic-inputs',
        action='store_true',
        help='random clips instead of the config\'s data')
    parser.add_argument(
        '--num-frames',
        type=int,
        help='frames per synthetic clip (default: the config\'s num_frames)')
    parser.add_argument(
        '--shape',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        help='synthetic frame size (default: the config\'s img_scale)')
    parser.add_argument(
        '--device',
        default='cuda' if torch.cuda.is_available() else 'cpu',
        help='cpu or cuda[:i] (default: cuda when available)')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Training/inference clips per second and peak memory')
    parser.add_argument('configs', nargs='+', help='config file(s)')
    parser.add_argument(
        '--iters', type=int, default=10, help='timed iterations per phase')
    parser.add_argument(
        '--warmup', type=int, default=3, help='untimed iterations first')
    parser.add_argument(
        '--batch-size',
        type=int,
        help='clips per batch for both phases (default: the config\'s '
        'train_dataloader / test_dataloader batch sizes)')
    parser.add_argument(
        '--phases',
        nargs='+',
        choices=['train', 'infer', 'activations'],
        default=['train', 'infer'],
        help='activations: the memory one training forward pass keeps for '
        'the backward pass, per frame, in all and per model part')
    add_input_arguments(parser)
    parser.add_argument(
        '--amp',
        action='store_true',
        help='mixed precision: --amp-dtype autocast in both phases, in '
        'training through AmpOptimWrapper (float16, loss scaling; CUDA '
        'only) or AutocastOptimWrapper (bfloat16; also on the CPU)')
    parser.add_argument(
        '--amp-dtype',
        choices=['float16', 'bfloat16'],
        default='float16',
        help='autocast type of --amp (default float16)')
    parser.add_argument(
        '--with-cp',
        action='store_true',
        help='turn on the with_cp switches (activation checkpointing) '
        'that the model has: backbone, pixel decoder, MCM\'s CLIP tower')
    parser.add_argument(
        '--flops',
        action='store_true',
        help='also count the FLOPs of one step per phase (untimed) and give '
        'TFLOP/s and the model FLOP utilisation')
    parser.add_argument(
        '--peak-tflops',
        type=float,
        help='the device\'s peak dense TFLOP/s for the MFU (default: '
        'PEAK_TFLOPS by CUDA device name; none on the CPU)')
    parser.add_argument(
        '--compile',
        action='store_true',
        help='training: also time model.train_step under torch.compile '
        '(what MMEngine\'s `compile=True` runner option does), one eager '
        'and one compiled step in turn, same model and optimizer')
    parser.add_argument(
        '--checkpoint',
        nargs='+',
        help='checkpoint per config (default: random weights)')
    parser.add_argument(
        '--keep-eos',
        action='store_true',
        help='let caption generation stop at EOS')
    parser.add_argument(
        '--threads', type=int, help='torch CPU threads (default: torch\'s)')
    parser.add_argument(
        '--same-process',
        action='store_true',
        help='run several configs in this process (faster; their RSS '
        'figures then include what earlier configs left behind)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', help='also write the results to this JSON')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of every config, xxx=yyy')
    parser.add_argument(
        '--against',
        metavar='REF',
        help='time this checkout and REF (a commit or branch, checked out '
        'in a temporary git worktree, or a folder holding another '
        'checkout) side by side: one config, one step of each in turn, '
        'median step times and their ratio')
    # internal: answer timed steps on stdin (--against)
    parser.add_argument('--serve', action='store_true', help=argparse.SUPPRESS)
    # internal: run configs[index] only and write its result to a file
    parser.add_argument('--worker', type=int, help=argparse.SUPPRESS)
    parser.add_argument('--worker-out', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if (args.amp and args.amp_dtype == 'float16'
            and not args.device.startswith('cuda')):
        parser.error('--amp (float16) needs a CUDA --device; '
                     '--amp-dtype bfloat16 also runs on the CPU')
    if args.checkpoint and len(args.checkpoint) != len(args.configs):
        parser.error('give one --checkpoint per config')
    if args.against and len(args.configs) != 1:
        parser.error('--against compares one config')
    if args.compile and (args.against or 'train' not in args.phases):
        parser.error('--compile times the train phase of one tree')
    if args.against and 'activations' in args.phases:
        parser.error('--against times train and infer only')
    if args.iters < 1 or args.warmup < 0:
        parser.error('--iters must be >= 1 and --warmup >= 0')
    return args


# ------------------------------------------------------------------ inputs
def config_clip_shape(cfg: Config, args: argparse.Namespace) -> tuple:
    """``(T, H, W)`` of synthetic clips."""
    num_frames = args.num_frames or cfg.get('num_frames', 5)
    if args.shape:
        height, width = args.shape
    else:
        width, height = cfg.get('img_scale', (224, 224))
    return num_frames, height, width


def synthetic_clip(model: torch.nn.Module, num_frames: int, height: int,
                   width: int, index: int, gen: torch.Generator) -> dict:
    """One random clip as the pipeline would pack it (categories and
    dataset name taken from the model's caption head, if any)."""
    categories, dataset_name = [], None
    prompter = getattr(getattr(model, 'caption_head', None), 'prompter',
                       None)
    if prompter is not None:
        pick = torch.randint(len(prompter.classes), (1, ), generator=gen)
        categories = [prompter.classes[int(pick)]]
        if prompter.dataset_names:
            dataset_name = prompter.dataset_names[0]
    return demo_clip((height, width),
                     num_frames,
                     model.decode_head.num_classes,
                     seed=gen,
                     categories=categories,
                     clip_id=f'synthetic_{index}',
                     dataset_name=dataset_name)


def load_batches(cfg: Config, model: torch.nn.Module, phase: str,
                 batch_size: int, num_batches: int,
                 args: argparse.Namespace) -> List[dict]:
    """Up to ``num_batches`` collated batches (fewer when the data set is
    smaller; they are reused cyclically)."""
    if args.synthetic_inputs:
        gen = torch.Generator().manual_seed(args.seed)
        shape = config_clip_shape(cfg, args)
        clips = [
            synthetic_clip(model, *shape, i, gen)
            for i in range(batch_size * min(num_batches, 2))
        ]
    else:
        key = 'train_dataloader' if phase == 'train' else 'test_dataloader'
        if key not in cfg and phase != 'train':
            key = 'val_dataloader'
        dataset = DATASETS.build(copy.deepcopy(cfg[key]['dataset']))
        if len(dataset) == 0:
            raise RuntimeError(f'{key} of the config has no clips')
        count = min(len(dataset), batch_size * num_batches)
        if count < batch_size:  # a tiny data set: repeat clips
            clips = [dataset[i % len(dataset)] for i in range(batch_size)]
        else:
            clips = [dataset[i] for i in range(count - count % batch_size)]
    return [
        pseudo_collate(clips[i:i + batch_size])
        for i in range(0, len(clips), batch_size)
    ]


# ----------------------------------------------------------------- phases
def time_steps(step: Callable[[dict], None], batches: List[dict],
               warmup: int, iters: int, device: torch.device,
               memory: benchmarking.PeakMemory) -> tuple:
    """Run ``warmup`` then ``iters`` steps; return (seconds of each timed
    step, peak memory in bytes over warm-up and timed steps)."""
    memory.reset()
    times = []
    for i in range(warmup + iters):
        batch = copy.deepcopy(batches[i % len(batches)])  # not timed
        seconds, _ = benchmarking.timed(step, batch, device=device)
        if i >= warmup:
            times.append(seconds)
    return times, memory.peak()


@contextlib.contextmanager
def full_length_captions(model: torch.nn.Module, enabled: bool):
    """Disable EOS in caption generation (every caption gets
    ``max_length`` tokens) inside the block."""
    head = getattr(model, 'caption_head', None)
    if not enabled or head is None:
        yield
        return
    eos = head.tokenizer.eos_id
    head.tokenizer.eos_id = -1
    try:
        yield
    finally:
        head.tokenizer.eos_id = eos


def build_model(index: int, args: argparse.Namespace) -> tuple:
    """``(cfg, model, device)`` of ``configs[index]``: seeded random weights
    (``--checkpoint`` loads trained ones) on ``--device``."""
    set_random_seed(args.seed)
    cfg = Config.fromfile(args.configs[index])
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    if args.with_cp:
        for part in checkpointing_switches(cfg).values():
            part['with_cp'] = True
    device = torch.device(args.device)
    model = MODELS.build(cfg.model)
    if args.checkpoint:
        load_checkpoint(model, args.checkpoint[index], map_location='cpu')
    return cfg, model.to(device), device


def checkpointing_switches(cfg: Config) -> Dict[str, dict]:
    """The config dicts of the model parts that have a ``with_cp`` switch
    (docs/benchmarks.md), by name: the backbone and the pixel decoder when
    their class (or a base class) takes ``with_cp``, MCM's CLIP tower when
    there is one."""
    parts = {}
    for name in ('backbone', 'pixel_decoder'):
        part = cfg.model.get(name)
        if part and any('with_cp' in inspect.signature(cls).parameters
                        for cls in MODELS.get(part['type']).__mro__[:-1]):
            parts[name] = part
    clip = (cfg.model.get('mask_collaboration') or {}).get('clip')
    if clip is not None:
        parts['mask_collaboration.clip'] = clip
    return parts


def phase_step(phase: str, cfg: Config, model: torch.nn.Module,
               args: argparse.Namespace, device: torch.device) -> tuple:
    """``(step, batches, batch_size)`` of a phase; the model is put in the
    phase's mode. ``step(batch)`` is ``val_step`` (no gradient, captions
    of full length unless ``--keep-eos``) or ``train_step`` with the
    config's optimizer, and returns what they return."""
    key = 'train_dataloader' if phase == 'train' else 'test_dataloader'
    batch_size = args.batch_size or cfg[key].batch_size
    batches = load_batches(cfg, model, phase, batch_size,
                           args.warmup + args.iters, args)
    if phase == 'infer':
        model.eval()
        amp = torch.autocast(device.type, dtype=getattr(
            torch, args.amp_dtype)) if args.amp else contextlib.nullcontext()

        def infer_step(batch):
            with torch.no_grad(), amp, full_length_captions(
                    model, not args.keep_eos):
                return model.val_step(batch)

        return infer_step, batches, batch_size
    optim_cfg = copy.deepcopy(cfg.optim_wrapper)
    if args.amp and args.amp_dtype == 'bfloat16':
        optim_cfg.update(type='AutocastOptimWrapper', dtype='bfloat16')
    elif args.amp:
        optim_cfg['type'] = 'AmpOptimWrapper'
    optim_wrapper = build_optim_wrapper(model, optim_cfg)
    model.train()

    def train_step(batch):
        return model.train_step(batch, optim_wrapper)

    train_step.optim_wrapper = optim_wrapper
    return train_step, batches, batch_size


# ------------------------------------------------------------------ FLOPs
#: Peak dense TFLOP/s by CUDA device name (the first key the name
#: contains): 16-bit tensor cores (float16 = bfloat16) and float32 without
#: TF32 (PyTorch's default for matrix products), from NVIDIA's datasheets
#: (H100 SXM5 and PCIe, H200 SXM, A100; the sparsity figures halved).
PEAK_TFLOPS = (
    ('H200', dict(half=989.0, float32=67.0)),
    ('H100 PCIe', dict(half=756.0, float32=51.0)),
    ('H100', dict(half=989.0, float32=67.0)),
    ('A100', dict(half=312.0, float32=19.5)),
)


def peak_tflops(args: argparse.Namespace,
                device: torch.device) -> Optional[float]:
    """``--peak-tflops``, else the device's from ``PEAK_TFLOPS`` (16-bit
    with ``--amp``, else float32); None on the CPU or an unknown GPU."""
    if args.peak_tflops:
        return args.peak_tflops
    if device.type != 'cuda':
        return None
    name = torch.cuda.get_device_name(device)
    for key, peaks in PEAK_TFLOPS:
        if key in name:
            return peaks['half' if args.amp else 'float32']
    return None


@contextlib.contextmanager
def recomputation_counted(counter: FlopCounterMode,
                          recomputed: List[int]):
    """Inside the block, ``torch.utils.checkpoint.checkpoint`` (also where
    a module imported the name) adds to ``recomputed[0]`` the FLOPs that
    ``counter`` counts while it reruns a function in the backward pass
    (every call of the function after the first)."""
    real = torch.utils.checkpoint.checkpoint

    def checkpoint(function, *args, **kwargs):
        calls = []

        def run(*inner_args, **inner_kwargs):
            calls.append(None)
            if len(calls) == 1:
                return function(*inner_args, **inner_kwargs)
            before = counter.get_total_flops()
            try:
                return function(*inner_args, **inner_kwargs)
            finally:
                recomputed[0] += counter.get_total_flops() - before

        return real(run, *args, **kwargs)

    holders = [
        module for module in list(sys.modules.values())
        if getattr(module, '__dict__', {}).get('checkpoint') is real
    ]
    with contextlib.ExitStack() as stack:
        for module in holders:
            stack.enter_context(
                mock.patch.object(module, 'checkpoint', checkpoint))
        yield


class GlobalCountOnly:
    """Stands in for ``FlopCounterMode``'s module tracker: every FLOP
    counts to ``'Global'`` only. (The tracker's hooks fail on a module
    output that requires a gradient but has no ``grad_fn``, e.g. a
    parameter returned under ``torch.no_grad``.)"""
    parents = {'Global'}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


def count_flops(step: Callable[[dict], None], batch: dict) -> tuple:
    """``(flops, recomputed)`` of one ``step(batch)`` (forward, and
    backward if it runs one) from ``FlopCounterMode``, compiled functions
    run eagerly; ``recomputed``: what activation checkpointing reran in
    the backward pass, not part of ``flops``."""
    counter, recomputed = FlopCounterMode(display=False), [0]
    counter.mod_tracker = GlobalCountOnly()
    with torch.compiler.set_stance('force_eager'), counter, \
            recomputation_counted(counter, recomputed):
        step(batch)
    return counter.get_total_flops() - recomputed[0], recomputed[0]


def flops_figures(phase: str, flops: int, recomputed: int,
                  times: List[float], peak: Optional[float]) -> dict:
    """``{phase}_flops``, ``_recompute_flops``, ``_tflops_per_s`` (FLOPs
    over the median step time) and ``_mfu`` (those over ``peak`` TFLOP/s;
    None without a peak)."""
    tflops = flops / statistics.median(times) / 1e12
    return {
        f'{phase}_flops': flops,
        f'{phase}_recompute_flops': recomputed,
        f'{phase}_tflops_per_s': tflops,
        f'{phase}_mfu': None if peak is None else tflops / peak,
    }


def activation_memory(cfg: Config, model: torch.nn.Module,
                      args: argparse.Namespace, device: torch.device) -> dict:
    """MiB per frame that one training forward pass (``mode='loss'``,
    train mode, one training batch) leaves allocated for the backward
    pass, in all and per part of the model (its direct submodules' forward
    calls; ``other``: the losses and what runs between the parts), from
    ``benchmarking.retained_memory``."""
    batch_size = args.batch_size or cfg.train_dataloader.batch_size
    batch = load_batches(cfg, model, 'train', batch_size, 1, args)[0]
    model.train()
    data = model.data_preprocessor(batch, True)
    frames = sum(len(clip) for clip in batch['inputs']['frames'])
    parts = {
        name: module
        for name, module in model.named_children()
        if name != 'data_preprocessor'
    }
    losses, total, per_part = benchmarking.retained_memory(
        lambda: model(**data, mode='loss'), parts)
    del losses
    per_part['other'] = total - sum(per_part.values())
    mib = 2**20 * frames
    return dict(
        activation_frames=frames,
        activation_mib_per_frame=total / mib,
        activation_mib_per_frame_parts={
            name: used / mib
            for name, used in per_part.items()
        })


def compiled_vs_eager(cfg: Config, model: torch.nn.Module,
                      args: argparse.Namespace, device: torch.device) -> dict:
    """``--compile``: training steps of ``model.train_step`` eager and
    under ``torch.compile`` (as MMEngine's ``Runner`` compiles it for
    ``cfg.compile``, whose dict, if any, gives the options), one of each
    in turn on the same batch (who goes first alternates). The first
    compiled step (compilation) is timed on its own; warm-up steps are
    not timed."""
    step, batches, batch_size = phase_step('train', cfg, model, args, device)
    options = cfg.get('compile')
    compiled_fn = torch.compile(
        model.train_step, **(options if isinstance(options, dict) else {}))
    optim_wrapper = step.optim_wrapper
    steps = dict(
        eager=step,
        compiled=lambda batch: compiled_fn(batch, optim_wrapper))
    first, _ = benchmarking.timed(
        steps['compiled'], copy.deepcopy(batches[0]), device=device)
    times = {name: [] for name in steps}
    for i in range(args.warmup + args.iters):
        batch = batches[i % len(batches)]
        for name in benchmarking.in_turn(steps, i):
            seconds, _ = benchmarking.timed(
                steps[name], copy.deepcopy(batch), device=device)
            if i >= args.warmup:
                times[name].append(seconds)
    medians = {name: statistics.median(t) for name, t in times.items()}
    return dict(
        train_batch_size=batch_size,
        compile_first_step_s=first,
        train_iter_s=times['eager'],
        train_compiled_iter_s=times['compiled'],
        train_clips_per_s_median=batch_size / medians['eager'],
        train_compiled_clips_per_s_median=batch_size / medians['compiled'],
        compile_speedup=medians['eager'] / medians['compiled'])


#: What a phase that runs out of GPU memory raises.
OUT_OF_MEMORY = getattr(torch, 'OutOfMemoryError',
                        torch.cuda.OutOfMemoryError)


def out_of_memory(phase: str, measure: Callable[[], dict],
                  **record) -> dict:
    """``measure()``, or ``record`` and ``{phase}_oom`` (the error's first
    line) when it runs out of GPU memory (the memory is then given
    back)."""
    try:
        return measure()
    except OUT_OF_MEMORY as err:
        message = str(err).splitlines()[0] if str(err) else repr(err)
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return dict(record, **{f'{phase}_oom': message})


def measure_phase(phase: str, cfg: Config, model: torch.nn.Module,
                  args: argparse.Namespace, device: torch.device,
                  memory: benchmarking.PeakMemory,
                  peak: Optional[float]) -> dict:
    """The figures of the ``train`` or ``infer`` phase (with ``--flops``
    also those of one more, counted step)."""
    step, batches, batch_size = phase_step(phase, cfg, model, args, device)
    frames = batches[0]['inputs']['frames'][0]
    times, peak_mem = time_steps(step, batches, args.warmup, args.iters,
                                 device, memory)
    clips_s = args.iters * batch_size / sum(times)
    median_clips_s = batch_size / statistics.median(times)
    result = {
        f'{phase}_batch_size': batch_size,
        'num_frames': len(frames),
        'frame_shape': list(frames.shape[-2:]),
        f'{phase}_clips_per_s': clips_s,
        f'{phase}_clips_per_s_median': median_clips_s,
        f'{phase}_peak_mem_mib': peak_mem / 2**20,
        f'{phase}_iter_s': times,
    }
    if phase == 'infer':
        result.update(
            infer_frames_per_s=clips_s * len(frames),
            infer_frames_per_s_median=median_clips_s * len(frames))
    if args.flops:
        result.update(
            flops_figures(phase, *count_flops(
                step, copy.deepcopy(batches[0])), times, peak))
    return result


def benchmark_config(index: int, args: argparse.Namespace) -> dict:
    """Measure one config; returns a result dict."""
    cfg, model, device = build_model(index, args)
    memory = benchmarking.PeakMemory(device)
    peak = peak_tflops(args, device)
    result = dict(
        config=args.configs[index],
        device=str(device),
        amp=args.amp,
        amp_dtype=args.amp_dtype if args.amp else None,
        with_cp=sorted(name for name, part in checkpointing_switches(
            cfg).items() if part.get('with_cp')),
        peak_tflops=peak,
        threads=torch.get_num_threads(),
        with_caption=bool(getattr(model, 'with_caption', False)),
        params=sum(p.numel() for p in model.parameters()),
        generation=getattr(getattr(model, 'caption_head', None),
                           'generation', None),
        inputs='synthetic' if args.synthetic_inputs else 'dataset',
        warmup=args.warmup,
        iters=args.iters,
        memory_kind=memory.kind,
        load_avg_start=os.getloadavg()[0])

    def measured(phase: str, loader: str) -> dict:
        batch_size = args.batch_size or cfg[loader].batch_size
        return out_of_memory(
            phase, lambda: measure_phase(phase, cfg, model, args, device,
                                         memory, peak),
            **{f'{phase}_batch_size': batch_size})

    if 'infer' in args.phases:  # first: RSS not yet inflated by training
        result.update(measured('infer', 'test_dataloader'))

    if 'activations' in args.phases:
        result.update(activation_memory(cfg, model, args, device))

    if 'train' in args.phases and args.compile:
        result.update(compiled_vs_eager(cfg, model, args, device))
    elif 'train' in args.phases:
        result.update(measured('train', 'train_dataloader'))
    result['memory_exact'] = memory.exact
    result['load_avg_end'] = os.getloadavg()[0]
    return result


# ------------------------------------------------------------------ output
COLUMNS = [
    ('Config', lambda r: osp.basename(r['config'])),
    ('Params (M)', lambda r: f"{r['params'] / 1e6:.2f}"),
    ('T', lambda r: str(r.get('num_frames', '-'))),
    ('Train B', lambda r: str(r.get('train_batch_size', '-'))),
    ('Train clips/s', lambda r: _fmt(r.get('train_clips_per_s'))),
    ('(median)', lambda r: _fmt(r.get('train_clips_per_s_median'))),
    ('Train peak MiB', lambda r: _fmt(r.get('train_peak_mem_mib'), 0)),
    ('Infer B', lambda r: str(r.get('infer_batch_size', '-'))),
    ('Infer clips/s', lambda r: _fmt(r.get('infer_clips_per_s'))),
    ('Infer frames/s', lambda r: _fmt(r.get('infer_frames_per_s'))),
    ('(median)', lambda r: _fmt(r.get('infer_frames_per_s_median'))),
    ('Infer peak MiB', lambda r: _fmt(r.get('infer_peak_mem_mib'), 0)),
]


def _fmt(value: Optional[float], digits: int = 2) -> str:
    return '-' if value is None else f'{value:.{digits}f}'


def format_table(results: List[dict]) -> str:
    """A Markdown table, one row per config."""
    rows = [[name for name, _ in COLUMNS]]
    rows += [[get(r) for _, get in COLUMNS] for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]

    def line(row):
        return '| ' + ' | '.join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths))) + ' |'

    sep = '|' + '|'.join('-' * (w + 2) for w in widths) + '|'
    return '\n'.join([line(rows[0]), sep] + [line(r) for r in rows[1:]])


def format_compiled(results: List[dict]) -> str:
    """A Markdown table of ``--compile``: median training step eager and
    compiled, their ratio and the first compiled step."""
    lines = [
        '| Config | eager median s | compiled median s | eager / compiled '
        '| first compiled step s |', '|---|---|---|---|---|'
    ]
    for r in results:
        lines.append(
            f"| {osp.basename(r['config'])} | "
            f"{statistics.median(r['train_iter_s']):.4f} | "
            f"{statistics.median(r['train_compiled_iter_s']):.4f} | "
            f"{r['compile_speedup']:.2f}x | "
            f"{r['compile_first_step_s']:.1f} |")
    return '\n'.join(lines)


def format_activations(results: List[dict]) -> str:
    """A Markdown table of the activation memory per frame, one row per
    config, one column per part."""
    parts = list(results[0]['activation_mib_per_frame_parts'])
    lines = [
        '| Config | Activations MiB/frame | ' + ' | '.join(parts) + ' |',
        '|---' * (len(parts) + 2) + '|'
    ]
    for r in results:
        per_part = r['activation_mib_per_frame_parts']
        lines.append(
            f"| {osp.basename(r['config'])} | "
            f"{r['activation_mib_per_frame']:.1f} | " +
            ' | '.join(f'{per_part.get(p, 0):.1f}' for p in parts) + ' |')
    return '\n'.join(lines)


def describe(results: List[dict], args: argparse.Namespace) -> str:
    first = results[0]
    mem = ('CUDA max_memory_allocated' if first['memory_kind']
           == 'cuda_max_allocated' else 'peak process RSS')
    if not all(r['memory_exact'] for r in results):
        mem += ' (ru_maxrss: since process start)'
    loads = ', '.join(f"{r['load_avg_start']:.2f}->{r['load_avg_end']:.2f}"
                      for r in results)
    amp = f" (AMP {first.get('amp_dtype')})" if first['amp'] else ''
    return (f"Device: {first['device']}{amp}, "
            f"{first['threads']} torch threads, {os.cpu_count()} CPUs, "
            f'1-min load average {loads}\n'
            f"Inputs: {first['inputs']}, {args.warmup} warm-up + "
            f'{args.iters} timed iterations per phase (clips/s: all timed '
            'iterations; (median): from the median iteration time, robust '
            f'to stalls caused by other processes); memory: {mem}')


def run_worker(index: int, args: argparse.Namespace,
               argv: Optional[list]) -> dict:
    """Run ``configs[index]`` in a fresh Python process."""
    argv = list(sys.argv[1:] if argv is None else argv)
    with tempfile.TemporaryDirectory() as tmp:
        out = osp.join(tmp, 'result.json')
        cmd = [
            sys.executable,
            osp.abspath(__file__), *argv, '--worker',
            str(index), '--worker-out', out
        ]
        subprocess.run(cmd, check=True)
        with open(out) as f:
            return json.load(f)


# ------------------------------------------------------------ side by side
def serve(args: argparse.Namespace) -> None:
    """``--serve``: build ``configs[0]``, then run one timed step per line
    read from stdin (``train`` or ``infer``; each phase cycles through its
    batches) and answer with a JSON line ``{"seconds", "loss"}`` (the
    logged training loss) on stdout. The first line says which
    ``rassu_mm`` was imported; everything else goes to stderr."""
    reply = benchmarking.worker_reply()
    cfg, model, device = build_model(0, args)
    steps, done = {}, collections.Counter()
    reply.write(json.dumps(dict(rassu_mm=rassu_mm.__file__)) + '\n')
    for line in sys.stdin:
        phase = line.strip()
        if phase not in steps:
            steps[phase] = phase_step(phase, cfg, model, args, device)
        step, batches, _ = steps[phase]
        batch = copy.deepcopy(batches[done[phase] % len(batches)])
        done[phase] += 1
        model.train(phase == 'train')
        seconds, out = benchmarking.timed(step, batch, device=device)
        loss = float(torch.as_tensor(out['loss']).detach()) \
            if phase == 'train' else None
        reply.write(json.dumps(dict(seconds=seconds, loss=loss)) + '\n')


def worker_cmd(root: str, args: argparse.Namespace, argv: list) -> list:
    """The command of a ``--serve`` process of this tool reading the
    config from ``root``."""
    cmd, skip = [sys.executable, osp.abspath(__file__)], False
    for arg in argv:
        if skip or arg in ('--against', '--out'):
            skip = not skip
            continue
        if arg.startswith(('--against=', '--out=')):
            continue
        if arg in args.configs and osp.abspath(arg).startswith(REPO_ROOT):
            arg = osp.join(root, osp.relpath(osp.abspath(arg), REPO_ROOT))
        cmd.append(arg)
    return cmd + ['--serve']


def compare(args: argparse.Namespace, argv: list) -> dict:
    """``--against``: this checkout and ``REF``, each in its own process,
    one step each in turn (who goes first alternates), so both see the
    same machine load."""
    with benchmarking.compared_trees(args.against, REPO_ROOT) as trees, \
            benchmarking.workers() as procs:
        result = dict(
            config=args.configs[0],
            trees={name: benchmarking.describe_tree(root)
                   for name, root in trees.items()},
            threads=torch.get_num_threads(),
            load_avg_start=os.getloadavg()[0])
        for name, root in trees.items():
            procs[name], _ = benchmarking.spawn_worker(
                worker_cmd(root, args, argv), root)
        for phase in args.phases:
            runs = {name: [] for name in trees}
            for i in range(args.warmup + args.iters):
                for name in benchmarking.in_turn(trees, i):
                    answer = benchmarking.ask(procs[name], phase)
                    if i >= args.warmup:
                        runs[name].append(answer)
            result[phase] = _side_by_side(runs)
    result['load_avg_end'] = os.getloadavg()[0]
    return result


def _side_by_side(runs: dict) -> dict:
    """Per tree the step seconds and their median; the median ratio
    ``ref / this`` (> 1: this is faster); whether the logged training
    losses of the two agree (max absolute difference)."""
    out = {
        name: dict(
            iter_s=[r['seconds'] for r in answers],
            median_s=statistics.median(r['seconds'] for r in answers))
        for name, answers in runs.items()
    }
    out['ratio'] = out['ref']['median_s'] / out['this']['median_s']
    losses = [[r['loss'] for r in runs[name]] for name in ('this', 'ref')]
    if None not in losses[0] + losses[1]:
        out['loss_max_abs_diff'] = max(
            abs(a - b) for a, b in zip(*losses))
    return out


def format_comparison(result: dict, args: argparse.Namespace) -> str:
    this, ref = result['trees']['this'], result['trees']['ref']
    lines = [
        f"{osp.basename(result['config'])}: this checkout ({this}) and "
        f'{args.against} ({ref}), one step each in turn, '
        f'{args.warmup} warm-up + {args.iters} timed steps each; '
        f"device {args.device}, {result['threads']} torch threads, "
        f'{os.cpu_count()} CPUs, 1-min load average '
        f"{result['load_avg_start']:.2f}->{result['load_avg_end']:.2f}", '',
        f'| Phase | this median s | {ref} median s | {ref} / this |',
        '|---|---|---|---|'
    ]
    for phase in args.phases:
        res = result[phase]
        lines.append(f"| {phase} | {res['this']['median_s']:.4f} | "
                     f"{res['ref']['median_s']:.4f} | {res['ratio']:.2f}x |")
    if 'loss_max_abs_diff' in result.get('train', {}):
        lines.append('\nLogged training losses, max |this - ref|: '
                     f"{result['train']['loss_max_abs_diff']:.3g}")
    return '\n'.join(lines)


def main(argv=None) -> List[dict]:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.serve:
        serve(args)
        return []
    if args.against:
        result = compare(args, argv)
        print(format_comparison(result, args))
        if args.out:
            with open(args.out, 'w') as f:
                json.dump(result, f, indent=2)
        return [result]
    if args.worker is not None:
        result = benchmark_config(args.worker, args)
        with open(args.worker_out, 'w') as f:
            json.dump(result, f)
        return [result]
    results = []
    for i, config in enumerate(args.configs):
        print(f'Benchmarking {config} ...', flush=True)
        if len(args.configs) > 1 and not args.same_process:
            results.append(run_worker(i, args, argv))
        else:
            results.append(benchmark_config(i, args))
        gc.collect()
    print(describe(results, args))
    if {'train', 'infer'} & set(args.phases):
        print(format_table(results))
    if 'activations' in args.phases:
        print(format_activations(results))
    if args.compile:
        print(format_compiled(results))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == '__main__':
    main()
