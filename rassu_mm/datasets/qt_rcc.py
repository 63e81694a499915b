"""A reader of Qt binary resource bundles (``.rcc``, written by
``rcc -binary``), e.g. GCompris's activity data.

Layout (Qt ``src/corelib/io/qresource.cpp``, ``tools/rcc/rcc.cpp``), all
integers big-endian:

* header: ``b'qres'``, version (u32, 1-3), tree offset, data offset, names
  offset (u32 each) and, from version 3, the feature flags (u32);
* tree: fixed-size nodes, node 0 the root; a node is the name offset (u32),
  flags (u16: 1 zlib-compressed, 2 directory, 4 zstd-compressed) then, for
  a directory, the child count and the index of its first child (u32 each),
  for a file, country and language (u16 each) and the data offset (u32);
  from version 2 every node ends with its modification time (u64), so a
  node is 14 bytes in version 1 and 22 bytes later;
* names: at ``names + name offset``, the length in UTF-16 units (u16), a
  hash (u32) and the UTF-16BE name;
* data: at ``data + data offset``, the size (u32) and the bytes; zlib
  entries (``qCompress``) start with the uncompressed size (u32) followed
  by a zlib stream, zstd entries are one zstd frame.
"""
import struct
import zlib
from typing import Dict, Iterator, Tuple

MAGIC = b'qres'
FLAG_COMPRESSED = 0x01
FLAG_DIRECTORY = 0x02
FLAG_COMPRESSED_ZSTD = 0x04


class RccError(ValueError):
    """A malformed ``.rcc`` file."""


class RccArchive:
    """The files of one ``.rcc`` bundle.

    Args:
        path (str): The ``.rcc`` file (read whole into memory).

    Example::

        >>> rcc = RccArchive('instruments.rcc')
        >>> names = list(rcc.names())   # 'gcompris/src/activities/...'
        >>> data = rcc.read(names[0])   # bytes, decompressed
    """

    def __init__(self, path: str):
        self.path = path
        with open(path, 'rb') as f:
            self.blob = f.read()
        if self.blob[:4] != MAGIC:
            raise RccError(f'{path}: not a Qt resource file (no "qres")')
        if len(self.blob) < 20:
            raise RccError(f'{path}: truncated header')
        (self.version, self.tree, self.data,
         self.names_at) = struct.unpack('>IIII', self.blob[4:20])
        if not 1 <= self.version <= 3:
            raise RccError(f'{path}: unsupported rcc version {self.version}')
        self.node_size = 14 if self.version == 1 else 22
        self._entries = None

    def _u16(self, at: int) -> int:
        return struct.unpack_from('>H', self.blob, at)[0]

    def _u32(self, at: int) -> int:
        return struct.unpack_from('>I', self.blob, at)[0]

    def _name(self, offset: int) -> str:
        at = self.names_at + offset
        length = self._u16(at)
        return self.blob[at + 6:at + 6 + 2 * length].decode('utf-16-be')

    def _walk(self, node: int, prefix: str) -> Iterator[Tuple[str, int]]:
        at = self.tree + node * self.node_size
        if at + self.node_size > len(self.blob):
            raise RccError(f'{self.path}: tree node {node} out of range')
        flags = self._u16(at + 4)
        name = self._name(self._u32(at)) if node else ''
        path = f'{prefix}/{name}' if prefix else name
        if flags & FLAG_DIRECTORY:
            count, first = self._u32(at + 6), self._u32(at + 10)
            for child in range(first, first + count):
                yield from self._walk(child, path)
        else:
            yield path, at

    def entries(self) -> Dict[str, int]:
        """Every file's path (``/``-separated, no leading slash) and its
        tree node's byte offset."""
        if self._entries is None:
            self._entries = dict(self._walk(0, ''))
        return self._entries

    def names(self) -> Iterator[str]:
        """The paths of the bundle's files, in tree order."""
        return iter(self.entries())

    def read(self, name: str) -> bytes:
        """The decompressed bytes of the file ``name``."""
        at = self.entries().get(name)
        if at is None:
            raise KeyError(f'{self.path}: no entry {name!r}')
        flags = self._u16(at + 4)
        start = self.data + self._u32(at + 10)
        size = self._u32(start)
        raw = self.blob[start + 4:start + 4 + size]
        if len(raw) != size:
            raise RccError(f'{self.path}: entry {name!r} truncated')
        if flags & FLAG_COMPRESSED:
            expected = struct.unpack('>I', raw[:4])[0]
            out = zlib.decompress(raw[4:])
            if len(out) != expected:
                raise RccError(f'{self.path}: entry {name!r} decompressed '
                               f'to {len(out)} bytes, header says {expected}')
            return out
        if flags & FLAG_COMPRESSED_ZSTD:
            try:
                import zstandard
            except ImportError as e:
                raise RccError(f'{self.path}: entry {name!r} is zstd-'
                               'compressed; pip install zstandard') from e
            return zstandard.ZstdDecompressor().decompress(
                raw, max_output_size=1 << 30)
        return raw
