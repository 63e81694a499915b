"""safe_join and friends: names from data never leave their folder."""
import os
import os.path as osp

import pytest

from rassu_mm.utils import (RootChecker, UnsafePathError, is_safe_component,
                            is_within, safe_join)
from rassu_mm.utils.paths import is_safe_relpath

UNSAFE_RELPATHS = [
    '', '..', '../x', 'a/../../x', 'a/..', '/abs', '\\abs', 'a\\..\\..\\x',
    'x\0y', 'c:x', 'C:\\x', 'c:/x'
]


@pytest.mark.parametrize('name', ['clip_0', 'a b', '...', '.hidden', 'x.y',
                                  'ü', '-'])
def test_safe_components(name):
    assert is_safe_component(name)
    assert is_safe_relpath(name)


@pytest.mark.parametrize('name', UNSAFE_RELPATHS + ['.', 'a/b', 'a\\b', 3])
def test_unsafe_components(name):
    assert not is_safe_component(name)


@pytest.mark.parametrize('name', ['a/b', 'frames/clip/0.jpg', 'a\\b', './x',
                                  'a/./b'])
def test_safe_relpaths(name):
    assert is_safe_relpath(name)


@pytest.mark.parametrize('name', UNSAFE_RELPATHS)
def test_unsafe_relpaths_refused(tmp_path, name):
    assert not is_safe_relpath(name)
    with pytest.raises(UnsafePathError, match='refusing'):
        safe_join(str(tmp_path), name)
    with pytest.raises(UnsafePathError):
        safe_join(str(tmp_path), 'ok', name, follow_symlinks=False)


def test_safe_join_inside(tmp_path):
    root = str(tmp_path / 'out')
    assert safe_join(root, 'clip', '0.png') == osp.join(root, 'clip', '0.png')
    assert safe_join(root, 'clip/0.png') == osp.join(root, 'clip/0.png')
    # the root need not exist yet (writers create it)
    assert not osp.exists(root)


def test_symlinks(tmp_path):
    root, other = tmp_path / 'root', tmp_path / 'other'
    root.mkdir()
    other.mkdir()
    (root / 'inside').mkdir()
    os.symlink(str(other), str(root / 'out_link'))
    os.symlink(str(root / 'inside'), str(root / 'in_link'))
    assert is_within(str(root), str(root / 'in_link' / 'x'))
    assert not is_within(str(root), str(root / 'out_link' / 'x'))
    safe_join(str(root), 'in_link', 'x')
    with pytest.raises(UnsafePathError, match='resolves outside'):
        safe_join(str(root), 'out_link', 'x')
    # without following links only the names are checked
    assert safe_join(str(root), 'out_link/x', follow_symlinks=False) == \
        osp.join(str(root), 'out_link/x')
    # a symlinked root itself is fine
    os.symlink(str(root), str(tmp_path / 'root_link'))
    safe_join(str(tmp_path / 'root_link'), 'in_link', 'x')
    # a sibling whose name starts like the root is outside
    assert not is_within(str(root), str(tmp_path / 'root2' / 'x'))


def test_root_checker_agrees_with_realpath(tmp_path):
    root = tmp_path / 'root'
    (root / 'a' / 'b').mkdir(parents=True)
    (tmp_path / 'other').mkdir()
    (root / 'a' / 'f').write_text('x')
    os.symlink(str(tmp_path / 'other'), str(root / 'out'))
    os.symlink(str(root / 'a' / 'f'), str(root / 'a' / 'b' / 'in_file'))
    os.symlink(str(tmp_path / 'other'), str(root / 'a' / 'out_dir'))
    checker = RootChecker(str(root))
    for rel in ['a/f', 'a/b/in_file', 'a/missing', 'a/b/..', '.', 'a/..',
                'out', 'out/x', 'a/out_dir', 'a/out_dir/x', '..', 'a/../..',
                '../root2/x', 'a/b/../../../other']:
        path = osp.join(str(root), rel)
        real = osp.realpath(path)
        expected = real == osp.realpath(str(root)) or real.startswith(
            osp.join(osp.realpath(str(root)), ''))
        # the same checker twice: cached folders give the same answers
        assert checker.contains(path) == expected, rel
        assert checker.contains(path) == expected, rel
        assert is_within(str(root), path) == expected, rel
