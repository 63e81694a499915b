"""CPU fall-back for multi-process runs started with ``--launcher pytorch``.

MMEngine's ``init_dist`` always calls ``torch.cuda.set_device`` and the
runner always passes ``device_ids`` to DDP, so a ``torchrun`` job on a
machine without CUDA fails before training starts. :func:`setup_cpu_distributed`
initialises the process group with the gloo backend itself (the runner then
skips ``init_dist``) and selects :class:`~rassu_mm.engine.CPUDistributedDataParallel`
as the model wrapper. On a CUDA machine it changes nothing.
"""
import gc
import os

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.logging import print_log


def setup_cpu_distributed(cfg: Config, launcher: str) -> None:
    """Prepare ``cfg`` (and the process group) for a CPU-only launch.

    Args:
        cfg (Config): the run's config, modified in place.
        launcher (str): ``none``, ``pytorch``, ``slurm`` or ``mpi``.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return
    if launcher != 'pytorch':
        raise RuntimeError(
            f'--launcher {launcher} without CUDA is not supported; use '
            '`--launcher pytorch` (tools/dist_train.sh) for CPU runs.')
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    cfg.env_cfg.dist_cfg['backend'] = 'gloo'
    wrapper_cfg = cfg.get('model_wrapper_cfg') or {}
    wrapper_cfg = dict(wrapper_cfg)
    if wrapper_cfg.get('type', 'MMDistributedDataParallel') == \
            'MMDistributedDataParallel':
        # scoped name: the runner looks wrappers up in the root registry
        wrapper_cfg['type'] = 'mmseg.CPUDistributedDataParallel'
    cfg.model_wrapper_cfg = wrapper_cfg
    if not torch_dist.is_initialized():
        torch_dist.init_process_group(
            backend='gloo',
            rank=int(os.environ['RANK']),
            world_size=int(os.environ['WORLD_SIZE']))
    print_log(
        f'CUDA is not available: rank {torch_dist.get_rank()} of '
        f'{torch_dist.get_world_size()} uses the gloo backend on CPU.',
        logger='current')


def teardown_distributed() -> None:
    """Wait for every rank, then destroy the process group.

    Gloo threads still alive at interpreter shutdown can abort a process
    (``terminate called without an active exception``, SIGABRT) after a run
    has finished; destroying the group while a peer is still inside a
    collective does the same, hence the barrier first. The group is only
    freed when its last holder goes: call this after dropping the runner
    (its DDP wrapper holds the group); the garbage collection here frees
    what the runner's reference cycles kept, while Python is fully alive.
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.barrier()
        gc.collect()
        torch_dist.destroy_process_group()
