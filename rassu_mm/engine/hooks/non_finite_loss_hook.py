"""Stop training at the first NaN or infinite loss term, before anything of
the bad step is saved, so that the last checkpoint is a good one for
``--resume``.

MMEngine's ``train_step`` runs the forward pass, the backward pass and the
optimizer step in one call; hooks see the loss terms afterwards, in
``after_train_iter``. By then a NaN loss has usually made the weights NaN
in memory, so :class:`NonFiniteLossHook` stops the run right there, before
the ``CheckpointHook`` of the same call (priority ``HIGH`` vs
``VERY_LOW``), the validation and the best-checkpoint save after it could
write them. Nothing is saved after the bad step.

A step whose losses are finite can still make the weights non-finite (a
NaN gradient); the hook also checks the weights right before every
checkpoint and every validation during training, so no checkpoint with
non-finite weights is written either way.
"""
from typing import List, Optional, Sequence

import torch
from mmengine.dist import get_dist_info
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import EpochBasedTrainLoop
from mmseg.registry import HOOKS
from .checkpoint_schedule import checkpoint_due


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN or infinite loss term (or weights); the
    message is one line naming the iteration, the terms and the clips."""


def batch_clip_ids(data_batch) -> List[str]:
    """The ``clip_id`` of every data sample of a batch as the dataloader
    gives it (``dict(inputs=..., data_samples=[...])``); empty when the
    batch carries none."""
    samples = data_batch.get('data_samples') if isinstance(
        data_batch, dict) else None
    ids = []
    for sample in samples or []:
        meta = getattr(sample, 'metainfo', None)
        if isinstance(meta, dict) and meta.get('clip_id') is not None:
            ids.append(str(meta['clip_id']))
    return ids


def non_finite_terms(outputs: dict) -> List[str]:
    """``'name=value'`` of the non-finite loss terms of ``outputs``.

    Only the keys with ``'loss'`` in their name count (those MMEngine's
    ``parse_losses`` sums into ``loss``). The total ``loss`` is named only
    when no single term is non-finite (e.g. a sum that overflows).

    This syncs with the device once per term: call it only after
    :func:`all_finite` has returned False.
    """
    bad = []
    for key, value in outputs.items():
        if 'loss' not in key:
            continue
        values = torch.as_tensor(value).detach().float().reshape(-1)
        if not torch.isfinite(values).all():
            bad.append(f'{key}={values.sum().item()}')
    terms = [t for t in bad if not t.startswith('loss=')]
    return terms or bad


def all_finite(outputs: dict) -> bool:
    """Whether every loss term of ``outputs`` (keys with ``'loss'``) is
    finite, with at most one host-device sync (none for values already
    on the host).

    MMEngine's ``parse_losses`` returns the sum of the terms as ``loss``,
    and a sum is finite only if every term is (a NaN or inf term makes it
    NaN or inf), so when ``loss`` is there it alone is tested; otherwise
    the terms are concatenated and tested together.

    Args:
        outputs (dict): The log variables ``train_step`` returns (0-d
            tensors or floats).
    """
    if 'loss' in outputs:
        values = [outputs['loss']]
    else:
        values = [v for k, v in outputs.items() if 'loss' in k]
    if not values:
        return True
    tensors = [torch.as_tensor(v).detach().reshape(-1) for v in values]
    if len(tensors) > 1:
        tensors = [torch.cat([t.to(tensors[0].device) for t in tensors])]
    return bool(torch.isfinite(tensors[0]).all())


def non_finite_weights(model: torch.nn.Module) -> List[str]:
    """Names of the floating-point parameters and buffers of ``model``
    (unwrapped from DDP) holding a NaN or infinite value; one sync per
    device."""
    if is_model_wrapper(model):
        model = model.module
    flags = {}
    for name, tensor in model.state_dict().items():
        if tensor.is_floating_point() or tensor.is_complex():
            flags.setdefault(tensor.device, []).append(
                (name, torch.isfinite(tensor).all()))
    bad = []
    for pairs in flags.values():
        finite = torch.stack([flag for _, flag in pairs]).tolist()
        bad += [name for (name, _), ok in zip(pairs, finite) if not ok]
    return bad


def _names(items: Sequence[str], limit: int) -> str:
    more = len(items) - limit
    return ', '.join(items[:limit]) + (f' and {more} more' if more > 0
                                       else '')


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stop training with one message at a NaN or infinite loss term.

    * ``after_train_iter`` (priority ``HIGH``: after ``RuntimeInfoHook``,
      before the ``LoggerHook``, ``RNGStateHook`` and ``CheckpointHook``):
      when a loss term of the step's log variables (``outputs``; the keys
      with ``'loss'``) is NaN or inf, raises :class:`NonFiniteLossError`:
      ``non-finite loss at iteration 7: loss_mask=nan, loss_dice=nan;
      clips of the batch: train_0003, train_0011; training stopped before
      anything of this step was saved, --resume continues from
      work_dirs/x/iter_6.pth``. Iterations count from 1, as in the log
      lines and the checkpoint names. No checkpoint is written after the
      bad step.
    * Right before a checkpoint is saved (``after_train_iter`` /
      ``after_train_epoch`` when a ``CheckpointHook`` is due) and before
      each validation during training (after which a best checkpoint may
      be saved): when ``check_weights``, raises the same error if a
      parameter or buffer is non-finite, so that a NaN gradient of a
      finite loss cannot reach a checkpoint either.

    Cost: the loss check reads the summed ``loss`` (:func:`all_finite`),
    which ``SSUFormer.parse_losses`` has already copied to the host with
    every logged term, so it adds no host-device sync for SSUFormer (one
    per iteration for a model whose logged values stay on the device). The weight check runs once per
    checkpoint and validation (one sync per device).

    In multi-process runs each rank checks its own losses and names its
    own clips. A NaN loss on one rank reaches every rank's weights through
    the gradient all-reduce, so at the next checkpoint or validation the
    weight check stops the other ranks too, before rank 0 saves.

    Args:
        check_weights (bool): Check the weights before each checkpoint and
            validation. Defaults to True.
        max_names (int): At most this many clip ids and weight names in
            the message. Defaults to 16.
    """

    priority = 'HIGH'

    def __init__(self, check_weights: bool = True, max_names: int = 16):
        self.check_weights = check_weights
        self.max_names = max_names
        self._training = False
        self._weights_checked_at: Optional[int] = None

    def before_train(self, runner) -> None:
        self._training = True

    def after_train(self, runner) -> None:
        self._training = False

    # -- the message ------------------------------------------------------
    def _stop(self, runner, what: str, data_batch=None) -> None:
        rank, world_size = get_dist_info()
        where = f' on rank {rank}' if world_size > 1 else ''
        clips = batch_clip_ids(data_batch)
        clips = (f'clips of the batch: {_names(clips, self.max_names)}'
                 if clips else 'the batch names no clip ids')
        last = runner.message_hub.get_info('last_ckpt')
        resume = (f'--resume continues from {last}' if last else
                  'no checkpoint had been saved yet')
        raise NonFiniteLossError(
            f'{what}{where}; {clips}; training stopped before anything of '
            f'this step was saved, {resume}')

    # -- the checks -------------------------------------------------------
    def _check_weights(self, runner, steps: int, data_batch=None) -> None:
        """Stop if the weights after ``steps`` optimizer steps are
        non-finite (once per step count)."""
        if not self.check_weights or self._weights_checked_at == steps:
            return
        self._weights_checked_at = steps
        bad = non_finite_weights(runner.model)
        if bad:
            self._stop(
                runner, f'non-finite weights after iteration {steps} '
                f'({_names(bad, self.max_names)}), though the losses of the '
                'iteration were finite on this rank (a NaN or infinite '
                'gradient, or another rank\'s loss)', data_batch)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        steps = runner.iter + 1
        if outputs and not all_finite(outputs):
            epoch = (f' (epoch {runner.epoch + 1})' if isinstance(
                runner.train_loop, EpochBasedTrainLoop) else '')
            self._stop(
                runner, f'non-finite loss at iteration {steps}{epoch}: '
                f'{", ".join(non_finite_terms(outputs))}', data_batch)
        if checkpoint_due(runner, by_epoch=False):
            self._check_weights(runner, steps, data_batch)

    def after_train_epoch(self, runner) -> None:
        if checkpoint_due(runner, by_epoch=True):
            self._check_weights(runner, runner.iter)

    def before_val(self, runner) -> None:
        if self._training:
            self._check_weights(runner, runner.iter)
