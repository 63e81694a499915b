"""Joining names that come from data (clip ids, annotation paths, video
names) to folders.

Every writer joins through :func:`safe_join`, so a crafted name such as
``'../../escaped'`` can never place a file outside the folder the user
chose; the datasets resolve annotation paths through it too.
"""
import os
import os.path as osp


class UnsafePathError(ValueError):
    """A name from data would leave its folder (or is not a plain name)."""


def _has_drive(name: str) -> bool:
    """Whether ``name`` starts with a Windows drive (``'c:'``)."""
    return ':' in name[1:2]


def is_safe_component(name: str) -> bool:
    """Whether ``name`` is one plain path component: non-empty, no ``/``,
    ``\\`` or NUL, not ``.``/``..`` and not absolute on any platform."""
    return (isinstance(name, str) and name not in ('', '.', '..')
            and not any(c in name for c in ('/', '\\', '\0'))
            and not osp.isabs(name) and not _has_drive(name))


def is_safe_relpath(name: str) -> bool:
    """Whether ``name`` is a relative path that stays below its folder
    without following links: non-empty, no NUL, not absolute on any
    platform and no ``..`` component (``/`` and ``\\`` both separate)."""
    return (isinstance(name, str) and name != '' and '\0' not in name
            and not osp.isabs(name) and not name.startswith('\\')
            and not _has_drive(name)
            and '..' not in name.replace('\\', '/').split('/'))


class RootChecker:
    """Tells whether paths resolve (symlinks followed) inside one root.

    Made for checking every path of an annotation file: ``osp.realpath``
    costs one ``lstat`` per path component, this costs one per path plus
    one ``realpath`` per distinct folder. Folders are resolved once, so
    build a new checker when the tree may have changed.

    Args:
        root (str): The folder the paths must stay in.
    """

    def __init__(self, root: str) -> None:
        self.real_root = osp.realpath(root)
        self._prefix = osp.join(self.real_root, '')
        self._folders = {}

    def contains(self, path: str) -> bool:
        """Whether ``path`` resolves inside the root."""
        folder, name = osp.split(path)
        real_folder = self._folders.get(folder)
        if real_folder is None:
            real_folder = self._folders[folder] = osp.realpath(folder)
        real = osp.normpath(osp.join(real_folder, name))  # name may be '..'
        if osp.islink(real):
            real = osp.realpath(real)
        return real == self.real_root or real.startswith(self._prefix)


def is_within(root: str, path: str) -> bool:
    """Whether ``path`` resolves (symlinks followed) inside ``root``."""
    return RootChecker(root).contains(path)


def safe_join(root: str, *names: str, follow_symlinks: bool = True) -> str:
    """``osp.join(root, *names)``, refusing to leave ``root``.

    Each name may be a relative path of several components
    (``'clip/0.png'``), but none may be absolute, contain NUL or ``..``.

    Args:
        root (str): The folder the result must stay in.
        *names (str): Relative names to join to it.
        follow_symlinks (bool): Also require the result to resolve, with
            symlinks followed, inside ``root`` (a link placed in ``root``
            cannot lead out). Defaults to True.

    Returns:
        str: ``osp.join(root, *names)``.

    Raises:
        UnsafePathError: naming ``root`` and the offending name.
    """
    for name in names:
        if not is_safe_relpath(os.fspath(name)):
            raise UnsafePathError(
                f'refusing to use {name!r} outside {root!r}')
    path = osp.join(root, *map(os.fspath, names))
    if follow_symlinks and not is_within(root, path):
        raise UnsafePathError(
            f'refusing to use {path!r}: it resolves outside {root!r}')
    return path
