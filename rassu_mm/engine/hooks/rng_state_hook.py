"""Save the random number generators' states in checkpoints and restore
them on ``--resume``, so that a resumed run continues the random stream of
the run it resumes (same augmentations, dropout masks, point samples) and
ends with the same weights as an uninterrupted run.

MMEngine only reseeds the generators from ``randomness.seed`` when a run
starts, so a resumed run replays the random numbers of iteration 0 from
iteration ``k``. :class:`RNGStateHook` stores the states of python's
``random``, numpy's global generator, torch's CPU generator and (with CUDA)
the current device's generator in ``checkpoint['rng_states']``, one entry
per rank, and restores each rank's own entry when training resumes.

Everything is stored as tensors, ints, floats and strings, so the
checkpoint stays loadable with ``torch.load(..., weights_only=True)``.
"""
import random
from typing import Dict, List, Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_dist_info
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import EpochBasedTrainLoop
from mmseg.registry import HOOKS
from .checkpoint_schedule import checkpoint_due

CHECKPOINT_KEY = 'rng_states'


def get_rng_states() -> Dict:
    """This process's generator states as weights-only-loadable values."""
    version, internal, gauss_next = random.getstate()
    name, keys, pos, has_gauss, cached_gaussian = np.random.get_state()
    states = dict(
        python=dict(
            version=int(version),
            state=torch.tensor(internal, dtype=torch.int64),
            gauss_next=gauss_next),
        numpy=dict(
            name=str(name),
            keys=torch.from_numpy(keys.astype(np.int64)),
            pos=int(pos),
            has_gauss=int(has_gauss),
            cached_gaussian=float(cached_gaussian)),
        torch=torch.get_rng_state())
    if torch.cuda.is_available():
        states['cuda'] = torch.cuda.get_rng_state()  # the current device
    return states


def set_rng_states(states: Dict) -> None:
    """Restore states returned by :func:`get_rng_states`."""
    py = states['python']
    random.setstate((py['version'],
                     tuple(int(v) for v in py['state'].tolist()),
                     py['gauss_next']))
    npy = states['numpy']
    np.random.set_state(
        (npy['name'], npy['keys'].cpu().numpy().astype(np.uint32),
         npy['pos'], npy['has_gauss'], npy['cached_gaussian']))
    torch.set_rng_state(states['torch'].cpu().to(torch.uint8))
    if 'cuda' in states and torch.cuda.is_available():
        torch.cuda.set_rng_state(states['cuda'].cpu().to(torch.uint8))


class _RestoreAfterSkip:
    """Stands in for ``IterBasedTrainLoop.dataloader_iterator`` on resume.

    The loop first calls ``next`` ``skip`` times to skip the batches already
    trained on (which runs the pipeline, and draws random numbers in the main
    process when ``num_workers=0``), then fetches the first new batch. The
    generators are restored just before that fetch, where the uninterrupted
    run was when it saved the checkpoint; then the loop gets its own
    iterator back.
    """

    def __init__(self, loop, skip: int, states: Dict) -> None:
        self._loop = loop
        self._inner = loop.dataloader_iterator
        self._remaining = skip
        self._states = states

    def __iter__(self):
        return self

    def __next__(self):
        if self._remaining > 0:
            self._remaining -= 1
            return next(self._inner)
        self._loop.dataloader_iterator = self._inner
        set_rng_states(self._states)
        return next(self._inner)

    def __getattr__(self, name):
        return getattr(self._inner, name)


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Checkpoint the generator states; restore them on resume.

    * ``before_save_checkpoint``: writes ``checkpoint['rng_states']``, a
      list with one state dict per rank (rank ``r`` at index ``r``).
      ``Runner.save_checkpoint`` only runs on rank 0, so in distributed
      runs every rank sends its state to the others (``all_gather_object``)
      in ``after_train_iter``/``after_train_epoch`` of the iterations where
      a :class:`~mmengine.hooks.CheckpointHook` is about to save; this hook
      runs before it (priority ``LOW`` < ``VERY_LOW``).
    * ``after_load_checkpoint`` (only when resuming, not for ``load_from``):
      keeps this rank's entry.
    * On the first training step after the resume: restores it. For
      ``IterBasedTrainLoop`` that is after the loop has skipped the batches
      already trained on and before it fetches the next one; for
      ``EpochBasedTrainLoop`` before the next epoch's dataloader starts.
    * ``isolate_val_rng`` (default True): validation inside training saves
      the states in ``before_val`` and restores them in ``after_val``, so
      that validating (e.g. right after a checkpoint is saved) does not
      shift the training random stream. Training then does not depend on
      ``val_interval`` either.

    Dataloader workers need nothing saved: MMEngine's ``worker_init_fn``
    seeds them from ``randomness.seed``, rank and worker id when they start,
    and the loop's skip replays the batches they had produced.

    Args:
        isolate_val_rng (bool): see above. Defaults to True.
    """

    priority = 'LOW'

    def __init__(self, isolate_val_rng: bool = True) -> None:
        self.isolate_val_rng = isolate_val_rng
        self._resume_states: Optional[Dict] = None
        self._val_states: Optional[Dict] = None
        # (meta iter of the checkpoint about to be saved, states of all ranks)
        self._gathered: Optional[tuple] = None

    # -- saving -----------------------------------------------------------
    def _training_states(self) -> Dict:
        """The states to save: during validation, those of training."""
        return self._val_states if self._val_states is not None \
            else get_rng_states()

    def _gather(self, meta_iter: int) -> None:
        self._gathered = (meta_iter,
                          all_gather_object(self._training_states()))

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        if runner.world_size > 1 and checkpoint_due(runner, False):
            self._gather(runner.iter + 1)  # the checkpoint's meta['iter']

    def after_train_epoch(self, runner) -> None:
        if runner.world_size > 1 and checkpoint_due(runner, True):
            self._gather(runner.iter)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        rank, world_size = get_dist_info()
        if world_size == 1:
            checkpoint[CHECKPOINT_KEY] = [self._training_states()]
            return
        meta_iter = checkpoint.get('meta', {}).get('iter')
        if self._gathered is not None and self._gathered[0] == meta_iter:
            checkpoint[CHECKPOINT_KEY] = list(self._gathered[1])
        else:  # e.g. a best checkpoint: only this rank's state is known
            states: List[Optional[Dict]] = [None] * world_size
            states[rank] = self._training_states()
            checkpoint[CHECKPOINT_KEY] = states

    # -- validation -------------------------------------------------------
    def before_val(self, runner) -> None:
        if self.isolate_val_rng:
            self._val_states = get_rng_states()

    def after_val(self, runner) -> None:
        if self._val_states is not None:
            set_rng_states(self._val_states)
            self._val_states = None

    # -- resuming ---------------------------------------------------------
    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not getattr(runner, '_resume', False):
            return  # load_from: a new run, seeded by `randomness`
        saved = checkpoint.get(CHECKPOINT_KEY)
        rank, world_size = get_dist_info()
        if saved is None:
            print_log(
                'The checkpoint has no RNG states (saved without '
                'RNGStateHook): the resumed run restarts the random streams '
                'from the seed and will not reproduce an uninterrupted run.',
                logger='current',
                level=30)
            return
        if len(saved) != world_size or saved[rank] is None:
            print_log(
                f'The checkpoint holds RNG states for {len(saved)} '
                f'process(es) (missing ones: '
                f'{[i for i, s in enumerate(saved) if s is None]}) but this '
                f'run has {world_size}: RNG states are not restored and the '
                'resumed run will not reproduce an uninterrupted run.',
                logger='current',
                level=30)
            return
        self._resume_states = saved[rank]

    def before_train(self, runner) -> None:
        if self._resume_states is None:
            return
        loop = runner.train_loop
        if hasattr(loop, 'dataloader_iterator'):  # IterBasedTrainLoop
            loop.dataloader_iterator = _RestoreAfterSkip(
                loop, loop.iter, self._resume_states)
            self._resume_states = None
        elif isinstance(loop, EpochBasedTrainLoop):
            set_rng_states(self._resume_states)
            self._resume_states = None

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        # other loops: best effort, after the first batch was fetched
        if self._resume_states is not None:
            set_rng_states(self._resume_states)
            self._resume_states = None
