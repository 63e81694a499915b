"""Joining names that come from data (clip ids, video names) to folders.

Every writer joins through :func:`safe_join`, so a crafted name such as
``'../../escaped'`` can never place a file outside the folder the user
chose.
"""
import os
import os.path as osp


class UnsafePathError(ValueError):
    """A name from data would leave its folder (or is not a plain name)."""


def is_safe_component(name: str) -> bool:
    """Whether ``name`` is one plain path component: non-empty, no ``/``,
    ``\\`` or NUL, not ``.``/``..`` and not absolute on any platform."""
    return (isinstance(name, str) and name not in ('', '.', '..')
            and not any(c in name for c in ('/', '\\', '\0'))
            and not osp.isabs(name) and ':' not in name[1:2])


def is_within(root: str, path: str) -> bool:
    """Whether ``path`` resolves (symlinks followed) inside ``root``."""
    root = osp.realpath(root)
    return osp.commonpath([root, osp.realpath(path)]) == root


def safe_join(root: str, *names: str) -> str:
    """``osp.join(root, *names)``, refusing to leave ``root``.

    Each name may be a relative path of several components (``'clip/0.png'``)
    but none may be absolute, contain NUL or ``..``, and the result must
    resolve inside ``root``.

    Raises:
        UnsafePathError: naming ``root`` and the offending name.
    """
    for name in names:
        name = os.fspath(name)
        parts = name.replace('\\', '/').split('/')
        if (not name or '\0' in name or osp.isabs(name) or '..' in parts
                or ':' in name[1:2]):
            raise UnsafePathError(
                f'refusing to write {name!r} outside {root!r}')
    path = osp.join(root, *map(os.fspath, names))
    if not is_within(root, path):
        raise UnsafePathError(f'refusing to write {path!r} outside {root!r}')
    return path
