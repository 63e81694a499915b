"""rassu-mm: Region-Aware Sound Source Understanding for OpenMMLab.

Importing this package registers every component (datasets, transforms,
models, metrics, visualizers, hooks) into the ``mmseg`` registry scope, so
configs with ``custom_imports=dict(imports=['rassu_mm'])`` and
``default_scope='mmseg'`` work with stock MMEngine/MMSegmentation tools.

It also makes checkpoint loading weights-only for the whole process
(:func:`~rassu_mm.utils.checkpoint.install_safe_checkpoint_loading`):
MMEngine's ``CheckpointLoader`` schemes for local paths and ``http(s)://``
are replaced (``README.md``, ``docs/training.md``).
"""
from .version import __version__
from .utils import install_safe_checkpoint_loading
from . import datasets  # noqa: F401,E402
from . import engine  # noqa: F401,E402
from . import evaluation  # noqa: F401,E402
from . import models  # noqa: F401,E402
from . import structures  # noqa: F401,E402
from . import visualization  # noqa: F401,E402

install_safe_checkpoint_loading()

__all__ = ['__version__', 'install_safe_checkpoint_loading']
