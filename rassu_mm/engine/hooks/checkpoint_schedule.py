"""When MMEngine's :class:`~mmengine.hooks.CheckpointHook` is about to save.

Hooks that must act before a checkpoint is written (gather state from every
rank, refuse non-finite weights) run at a higher priority than the
``CheckpointHook`` in the same ``after_train_iter`` / ``after_train_epoch``
call and ask :func:`checkpoint_due` whether it will save.
"""
from mmengine.hooks import CheckpointHook


def checkpoint_due(runner, by_epoch: bool) -> bool:
    """Whether a ``CheckpointHook`` saves at the end of this iteration
    (``by_epoch=False``, asked in ``after_train_iter``) or epoch
    (``by_epoch=True``, asked in ``after_train_epoch``).

    A subclass of ``CheckpointHook`` may decide differently, so its
    presence counts as "due".

    Args:
        runner (Runner): The runner, inside the hook call.
        by_epoch (bool): Ask about the epoch's end instead of the
            iteration's.
    """
    for hook in runner.hooks:
        if not isinstance(hook, CheckpointHook):
            continue
        if type(hook) is not CheckpointHook:
            return True
        if hook.by_epoch != by_epoch:
            continue
        if by_epoch:
            if hook.every_n_epochs(runner, hook.interval,
                                   hook.save_begin) or (
                                       hook.save_last and
                                       hook.is_last_train_epoch(runner)):
                return True
        elif hook.every_n_train_iters(runner, hook.interval,
                                      hook.save_begin) or (
                                          hook.save_last and
                                          hook.is_last_train_iter(runner)):
            return True
    return False
