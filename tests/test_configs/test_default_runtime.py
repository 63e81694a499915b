"""``configs/_base_/default_runtime.py``: what every config inherits."""
from rassu_mm.testing import get_config


def test_default_runtime_config():
    cfg = get_config('_base_/default_runtime.py')
    assert cfg.default_scope == 'mmseg'
    assert cfg.custom_imports == dict(
        imports=['rassu_mm'], allow_failed_imports=False)
