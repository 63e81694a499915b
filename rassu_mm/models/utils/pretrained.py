"""Strict loading of pretrained weights, with errors that say what to do.

A pretrained file whose keys do not match the module (a torchvggish file
that was not converted, a checkpoint of another architecture) raises
:class:`PretrainedKeysError` naming the keys, instead of leaving the module
silently random. A missing file raises ``FileNotFoundError`` naming the
file, the setting that points to it and the command that fetches it.
"""
import os.path as osp
from typing import Callable, Dict, Optional

from mmengine.runner.checkpoint import CheckpointLoader
from torch import Tensor, nn

from rassu_mm.utils.preflight import is_local_path, missing_weights_message

MAX_NAMED_KEYS = 20
StateDict = Dict[str, Tensor]


class PretrainedKeysError(RuntimeError):
    """Pretrained weights that do not fit the module they are loaded into."""


def load_checkpoint_strict(module: nn.Module,
                           filename: str,
                           setting: str,
                           kind: Optional[str] = None,
                           revise: Optional[Callable[[StateDict],
                                                     StateDict]] = None,
                           hint: str = '') -> None:
    """Load a weight file into ``module``; every key must match.

    Args:
        module: the module to fill.
        filename: local path, URL or MMEngine model-zoo name.
        setting: the setting that names ``filename`` (for the errors),
            e.g. ``'VGGish init_cfg.checkpoint'``.
        kind: key of ``rassu_mm.utils.preflight.PRETRAINED`` (for the "how
            to get it" hint), None for other weights.
        revise: maps the file's state dict to ``module``'s key names.
        hint: appended to the key error (e.g. the converter to run).

    Raises:
        FileNotFoundError: a local ``filename`` does not exist.
        PretrainedKeysError: missing, unexpected or differently shaped keys
            (named, at most :data:`MAX_NAMED_KEYS` of each).
    """
    if is_local_path(filename) and not osp.isfile(filename):
        raise FileNotFoundError(
            missing_weights_message(filename, setting, kind))
    checkpoint = CheckpointLoader.load_checkpoint(filename, map_location='cpu')
    state = checkpoint
    for wrapper in ('state_dict', 'model'):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    state = {k[len('module.'):] if k.startswith('module.') else k: v
             for k, v in state.items()}
    if revise is not None:
        state = revise(state)
    own = module.state_dict()
    problems = {
        'missing keys': sorted(set(own) - set(state)),
        'unexpected keys': sorted(set(state) - set(own)),
        'shape mismatch': sorted(
            f'{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}'
            for k in set(own) & set(state)
            if tuple(state[k].shape) != tuple(own[k].shape)),
    }
    if any(problems.values()):
        raise PretrainedKeysError(
            f'{filename} (set by {setting}) does not fit '
            f'{type(module).__name__}: ' + '; '.join(
                f'{name} ({len(keys)}): {_named(keys)}'
                for name, keys in problems.items() if keys) + hint)
    module.load_state_dict(state, strict=True)


def strip_prefix(state: StateDict, prefix: str) -> StateDict:
    """The entries of ``state`` under ``prefix``, without it."""
    prefix = prefix if prefix.endswith('.') else prefix + '.'
    return {k[len(prefix):]: v for k, v in state.items()
            if k.startswith(prefix)}


class StrictPretrainedMixin:
    """``init_weights`` that loads a ``Pretrained`` ``init_cfg`` strictly
    (:func:`load_checkpoint_strict`; ``prefix`` selects and strips a key
    prefix, as MMEngine's ``Pretrained``) and otherwise initialises as the
    parent class does. Put it before an MMEngine ``BaseModule`` subclass.
    ``pretrained_kind`` and ``pretrained_hint`` are
    :func:`load_checkpoint_strict`'s ``kind`` and ``hint``."""

    pretrained_kind: Optional[str] = None
    pretrained_hint: str = ''

    def init_weights(self) -> None:
        cfg = self.init_cfg
        if not (isinstance(cfg, dict) and cfg.get('type') == 'Pretrained'):
            super().init_weights()
            return
        prefix = cfg.get('prefix')
        load_checkpoint_strict(
            self, cfg['checkpoint'], f'{type(self).__name__} init_cfg.'
            'checkpoint', self.pretrained_kind,
            revise=None if prefix is None else
            (lambda state: strip_prefix(state, prefix)),
            hint=self.pretrained_hint)
        self._is_init = True


def _named(keys: list) -> str:
    text = ', '.join(keys[:MAX_NAMED_KEYS])
    if len(keys) > MAX_NAMED_KEYS:
        text += f', ... ({len(keys) - MAX_NAMED_KEYS} more)'
    return text
