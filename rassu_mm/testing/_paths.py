"""Where the repository is, and its command-line tools as modules."""
import importlib.util
import os.path as osp
import sys
from types import ModuleType

#: Root of the source checkout holding ``rassu_mm/``, ``configs/``,
#: ``tools/`` and ``tests/`` (the testing helpers need a checkout, e.g. an
#: editable install).
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def repo_path(*parts: str) -> str:
    """``REPO_ROOT/<parts>``, e.g. ``repo_path('configs', 'x.py')``."""
    return osp.join(REPO_ROOT, *parts)


def load_tool(rel_path: str) -> ModuleType:
    """Import a script under ``tools/`` as a module.

    The module is named after its path (``tools/analysis_tools/
    benchmark.py`` -> ``tools.analysis_tools.benchmark``), so warnings it
    raises are attributed to ``tools.*`` (see the pytest ``filterwarnings``
    in ``setup.cfg``). It is imported once and cached in ``sys.modules``.

    Args:
        rel_path (str): Path of the script relative to the repository root.
    """
    name = osp.splitext(osp.normpath(rel_path))[0].replace(osp.sep, '.')
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, repo_path(rel_path))
    if spec is None:
        raise FileNotFoundError(f'no tool at {repo_path(rel_path)}')
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
