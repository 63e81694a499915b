"""``rassu_mm/models`` imports nothing from ``rassu_mm/datasets`` (the class
tables both read are in ``rassu_mm/utils/class_names.py``)."""
import ast
import os.path as osp
from pathlib import Path

from rassu_mm.testing import repo_path


def imported_modules(path: Path, package: str):
    """Absolute names of the modules a file imports (relative ones
    resolved against ``package``)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split('.')
            if node.level:
                base = base[:len(base) - node.level + 1]
            else:
                base = []
            yield '.'.join(base + ([node.module] if node.module else []))


def test_models_do_not_import_datasets():
    root = Path(repo_path('rassu_mm', 'models'))
    found = []
    for path in root.rglob('*.py'):
        rel = osp.relpath(path.parent, repo_path())
        package = rel.replace(osp.sep, '.')
        found += [f'{path.relative_to(root)}: {name}'
                  for name in imported_modules(path, package)
                  if name.split('.')[:2] == ['rassu_mm', 'datasets']]
    assert not found
