"""``NonFiniteLossHook``: training stops at the first NaN/inf loss term with
one message naming the iteration, the term and the clips, and the last
checkpoint (finite, nothing saved after the bad step) resumes.

The fast cases train the toy regressor in-process; the end-to-end case
runs ``tools/train.py`` on the tiny demo segmentation model whose dice
loss turns NaN at iteration 5, then ``--resume``. (NaN inputs would stop
it earlier, in the Hungarian matcher: see docs/training.md.)
"""
import itertools
import json
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from rassu_mm.datasets.synthetic import make_synthetic_dataset
from rassu_mm.engine import NonFiniteLossError
from rassu_mm.engine.hooks.non_finite_loss_hook import (all_finite,
                                                         non_finite_terms)
from rassu_mm.testing import (REPO_ROOT, demo_runner_cfg, repo_path,
                              tiny_model_cfg)
from rassu_mm.testing.toy_components import ToyRegressor
from rassu_mm.utils import safe_torch_load

NAN, INF = float('nan'), float('inf')
_RUNNER_IDS = itertools.count()


def tensors_of(obj):
    """Every tensor in a nested checkpoint structure."""
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, dict):
        for value in obj.values():
            yield from tensors_of(value)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            yield from tensors_of(value)


def assert_finite_checkpoint(path):
    """Weights and optimizer state of the checkpoint are all finite."""
    ckpt = safe_torch_load(path, map_location='cpu')
    floats = [
        t for t in tensors_of([ckpt['state_dict'], ckpt['optimizer']])
        if t.is_floating_point()
    ]
    assert floats and all(torch.isfinite(t).all() for t in floats), path


def test_finiteness_of_log_vars():
    """On the log variables of MMEngine's ``parse_losses``: only loss
    terms count; the total is named only on its own."""
    parse = ToyRegressor().parse_losses
    _, ok = parse(dict(loss_mask=torch.tensor(1.0), acc=torch.tensor(NAN),
                       loss_aux=[torch.tensor(0.5), torch.tensor(0.25)]))
    assert all_finite(ok)
    _, bad = parse(dict(loss_mask=torch.tensor(INF),
                        loss_dice=torch.tensor(0.5), acc=torch.tensor(NAN)))
    assert not all_finite(bad)
    assert non_finite_terms(bad) == ['loss_mask=inf']
    _, bad = parse(dict(loss_mask=torch.tensor(1.0),
                        loss_aux=[torch.tensor(2.0), torch.tensor(NAN)]))
    assert not all_finite(bad)
    assert non_finite_terms(bad) == ['loss_aux=nan']
    # finite terms whose sum overflows: only the total is non-finite
    big = torch.tensor(3e38)
    _, overflow = parse(dict(loss_a=big, loss_b=big))
    assert not all_finite(overflow)
    assert non_finite_terms(overflow) == ['loss=inf']
    # outputs without a total: every term is tested
    assert all_finite(dict(loss_a=1.0, loss_b=torch.tensor(2.0), acc=NAN))
    assert not all_finite(dict(loss_a=1.0, loss_b=torch.tensor(-INF)))


def toy_runner(tmp_path, poison):
    """The toy regressor (checkpoints every 2 of 8 iterations) with the
    default custom hooks plus ``PoisonAtIterHook(**poison)``."""
    cfg = Config.fromfile(repo_path('tests/fixtures/toy_config.py'))
    assert [h['type'] for h in cfg.custom_hooks] == [
        'RNGStateHook', 'NonFiniteLossHook'
    ]
    cfg.custom_hooks.append(dict(type='PoisonAtIterHook', **poison))
    cfg.work_dir = str(tmp_path / 'work')
    # MMEngine shares the message hub (which names the last checkpoint)
    # of runners with one name, made of the config and the second
    cfg.experiment_name = f'non_finite_{next(_RUNNER_IDS)}'
    cfg.default_hooks.logger.interval = 100
    return Runner.from_cfg(cfg)


def checkpoints(work_dir):
    return sorted(f for f in os.listdir(work_dir) if f.endswith('.pth'))


def test_nan_loss_stops_before_the_checkpoint(tmp_path):
    """A NaN input at iteration 6, a checkpoint iteration: stopped with
    the message, iter_6 not written, iter_4 finite and named."""
    runner = toy_runner(tmp_path, dict(iteration=6, value=NAN))
    with pytest.raises(NonFiniteLossError) as info:
        runner.train()
    work = str(tmp_path / 'work')
    message = str(info.value)
    assert message == (
        'non-finite loss at iteration 6: loss=nan; the batch names no clip '
        'ids; training stopped before anything of this step was saved, '
        f'--resume continues from {osp.join(work, "iter_4.pth")}')
    assert '\n' not in message
    assert checkpoints(work) == ['iter_2.pth', 'iter_4.pth']
    with open(osp.join(work, 'last_checkpoint')) as f:
        assert f.read() == osp.join(work, 'iter_4.pth')
    assert_finite_checkpoint(osp.join(work, 'iter_4.pth'))
    # the step had updated the weights in memory: they were never saved
    assert not torch.isfinite(runner.model.linear.weight).all()


def test_nan_weights_of_a_finite_loss_are_not_saved(tmp_path):
    """Weights made NaN after the (finite) step of checkpoint iteration 4:
    iter_4 is refused before CheckpointHook removes or writes anything."""
    runner = toy_runner(tmp_path,
                        dict(iteration=4, target='weights', value=INF))
    with pytest.raises(NonFiniteLossError,
                       match=r'^non-finite weights after iteration 4 '
                       r'\(linear\.weight\), though the losses') as info:
        runner.train()
    work = str(tmp_path / 'work')
    assert str(info.value).endswith(
        f'--resume continues from {osp.join(work, "iter_2.pth")}')
    assert checkpoints(work) == ['iter_2.pth']
    assert_finite_checkpoint(osp.join(work, 'iter_2.pth'))


def test_no_checkpoint_yet(tmp_path):
    runner = toy_runner(tmp_path, dict(iteration=1, value=NAN))
    with pytest.raises(NonFiniteLossError,
                       match='iteration 1: loss=nan;.*no checkpoint had '
                       'been saved yet$'):
        runner.train()
    assert checkpoints(str(tmp_path / 'work')) == []


# ---------------------------------------------------------------- end to end
MAX_ITERS, BAD_ITER = 6, 5


def write_demo_config(path, data_root, poison=None):
    """The tiny demo segmentation model on ``data_root``: 6 iterations of
    2 clips, checkpoints every 2 (all kept), no validation."""
    cfg = demo_runner_cfg(data_root)
    cfg.model = tiny_model_cfg('ssuformer_demo_seg.py')
    cfg.train_cfg.max_iters = MAX_ITERS
    cfg.train_cfg.val_interval = 100
    cfg.param_scheduler[0].end = 2
    cfg.param_scheduler[-1].begin = 2
    cfg.param_scheduler[-1].end = MAX_ITERS
    cfg.default_hooks.checkpoint.interval = 2
    cfg.default_hooks.checkpoint.max_keep_ckpts = -1
    cfg.default_hooks.checkpoint.save_best = None
    cfg.train_dataloader.batch_size = 2
    if poison is not None:
        cfg.custom_imports.imports.append('rassu_mm.testing.toy_components')
        cfg.custom_hooks.append(dict(type='PoisonAtIterHook', **poison))
    cfg.dump(str(path))
    return str(path)


def train(config, work_dir, *extra):
    return subprocess.run([
        sys.executable,
        repo_path('tools/train.py'), config, '--work-dir', work_dir, *extra
    ],
                          cwd=REPO_ROOT,
                          env=dict(os.environ, PYTHONPATH=REPO_ROOT),
                          capture_output=True,
                          text=True)


@pytest.mark.slow
def test_train_stops_at_nan_loss_and_resumes(tmp_path):
    """The dice loss made NaN at iteration 5 (its weight): tools/train.py
    exits with one message naming iteration 5, the dice loss terms and
    the batch's clips; iter_4 is the last checkpoint, finite, and
    ``--resume`` from it trains to the end with finite weights."""
    root = str(tmp_path / 'demo')
    make_synthetic_dataset(root, num_clips=(6, 1, 1), num_frames=2,
                           size=(32, 32), progress=False)
    record = str(tmp_path / 'poisoned_clips.json')
    bad_cfg = write_demo_config(
        tmp_path / 'bad.py', root,
        dict(iteration=BAD_ITER, target='attribute',
             field='decode_head.loss_dice.loss_weight', record_file=record))
    work = str(tmp_path / 'work')
    proc = train(bad_cfg, work)
    assert proc.returncode == 1, proc.stderr[-3000:]
    lines = [
        line for line in (proc.stdout + proc.stderr).splitlines()
        if 'non-finite' in line
    ]
    assert len(lines) == 1, lines
    with open(record) as f:
        clips = json.load(f)
    assert len(clips) == 2
    assert lines[0].startswith(
        f'rassu_mm.engine.hooks.non_finite_loss_hook.NonFiniteLossError: '
        f'non-finite loss at iteration {BAD_ITER}: ')
    terms = lines[0].split(': ', 2)[2].split(';')[0].split(', ')
    # the dice term of the last decoder layer and of every auxiliary one
    dice = re.compile(r'decode\.(d\d\.)?loss_dice=nan')
    assert terms and all(dice.fullmatch(t) for t in terms), terms
    assert f'clips of the batch: {", ".join(clips)};' in lines[0]
    assert lines[0].endswith(
        f'--resume continues from {osp.join(work, "iter_4.pth")}')
    assert checkpoints(work) == ['iter_2.pth', 'iter_4.pth']
    assert_finite_checkpoint(osp.join(work, 'iter_4.pth'))

    proc = train(write_demo_config(tmp_path / 'good.py', root), work,
                 '--resume')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'resumed epoch: 0, iter: 4' in proc.stdout + proc.stderr
    assert checkpoints(work) == ['iter_2.pth', 'iter_4.pth', 'iter_6.pth']
    assert_finite_checkpoint(osp.join(work, 'iter_6.pth'))
