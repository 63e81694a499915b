"""The sr-Music asset normaliser on a tiny package tree built here (no apt,
no downloads, no soundfont): the Qt ``.rcc`` reader on a bundle written
to the documented format, alpha crop and background alpha, licences from
DEP-5 copyright files and GCompris READMEs, manifest checksums and the
index layout."""
import base64
import hashlib
import io
import json
import os.path as osp
import struct
import tarfile
import wave
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image

from rassu_mm.datasets import qt_rcc
from rassu_mm.datasets import semireal_assets as sa
from rassu_mm.testing import load_tool


def qt_hash(name: str) -> int:
    """Qt's ``qt_hash`` of a resource name (over its UTF-16 units)."""
    h = 0
    for unit in struct.unpack(f'>{len(name)}H', name.encode('utf-16-be')):
        h = (h << 4) + unit
        h ^= (h & 0xf0000000) >> 23
        h &= 0x0fffffff
    return h


def write_rcc(path, files, version=3, compress=()):
    """Write ``files`` ({'a/b.txt': bytes}) as ``rcc -binary`` does: the
    header, then the names, data and tree sections; directories' children
    contiguous and sorted by name hash; entries named in ``compress``
    stored zlib-compressed behind their uncompressed size."""
    tree = {}
    for name in files:
        node = tree
        for part in name.split('/')[:-1]:
            node = node.setdefault(part, {})
        node[name.split('/')[-1]] = name
    names, name_at = bytearray(), {}
    data, data_at = bytearray(), {}

    def name_offset(n):
        if n not in name_at:
            name_at[n] = len(names)
            names.extend(struct.pack('>HI', len(n), qt_hash(n)))
            names.extend(n.encode('utf-16-be'))
        return name_at[n]

    for full, blob in files.items():
        if full in compress:
            blob = struct.pack('>I', len(blob)) + zlib.compress(blob)
        data_at[full] = len(data)
        data.extend(struct.pack('>I', len(blob)) + blob)
    # breadth first: node 0 the root, each directory's children together
    nodes = [('', tree)]
    order = [('', tree, None)]
    first_child = {}
    i = 0
    while i < len(order):
        _, node, _ = order[i]
        if isinstance(node, dict):
            first_child[i] = len(order)
            for child in sorted(node, key=qt_hash):
                order.append((child, node[child], i))
        i += 1
    del nodes
    blob_tree = bytearray()
    for i, (n, node, _) in enumerate(order):
        off = name_offset(n) if i else 0
        if isinstance(node, dict):
            blob_tree += struct.pack('>IHII', off, qt_rcc.FLAG_DIRECTORY,
                                     len(node), first_child[i])
        else:
            flags = qt_rcc.FLAG_COMPRESSED if node in compress else 0
            blob_tree += struct.pack('>IHHHI', off, flags, 0, 0,
                                     data_at[node])
        if version >= 2:
            blob_tree += struct.pack('>Q', 0)
    header = 24 if version >= 3 else 20
    names_off = header
    data_off = names_off + len(names)
    tree_off = data_off + len(data)
    head = b'qres' + struct.pack('>IIII', version, tree_off, data_off,
                                 names_off)
    if version >= 3:
        head += struct.pack('>I', 0)
    with open(path, 'wb') as f:
        f.write(head + bytes(names) + bytes(data) + bytes(blob_tree))


@pytest.mark.parametrize('version', [1, 2, 3])
def test_rcc_reader_reads_plain_and_zlib_entries(tmp_path, version):
    files = {
        'gcompris/src/a/README': b'License: CC0-1.0\nFiles:\nx.png\n',
        'gcompris/src/a/x.png': b'\x89PNG' + bytes(range(256)) * 4,
        'gcompris/src/b.txt': b'top level',
    }
    path = str(tmp_path / 'x.rcc')
    write_rcc(path, files, version, compress={'gcompris/src/a/x.png'})
    rcc = qt_rcc.RccArchive(path)
    assert rcc.version == version
    assert sorted(rcc.names()) == sorted(files)
    for name, blob in files.items():
        assert rcc.read(name) == blob
    # the compressed entry is stored smaller than it reads
    assert osp.getsize(path) < sum(map(len, files.values()))
    with pytest.raises(KeyError, match='no entry'):
        rcc.read('gcompris/src/missing')


def test_rcc_reader_rejects_bad_files(tmp_path):
    bad = tmp_path / 'bad.rcc'
    bad.write_bytes(b'PK\x03\x04 not a resource file')
    with pytest.raises(qt_rcc.RccError, match='bad.rcc: not a Qt resource'):
        qt_rcc.RccArchive(str(bad))
    bad.write_bytes(b'qres' + struct.pack('>IIII', 9, 0, 0, 0))
    with pytest.raises(qt_rcc.RccError, match='version 9'):
        qt_rcc.RccArchive(str(bad))
    # a zlib entry whose size prefix disagrees with its stream
    path = str(tmp_path / 'x.rcc')
    write_rcc(path, {'a': b'hello' * 10}, compress={'a'})
    with open(path, 'rb') as f:
        blob = bytearray(f.read())
    rcc = qt_rcc.RccArchive(path)
    at = rcc.data + 4
    blob[at:at + 4] = struct.pack('>I', 7)
    bad.write_bytes(bytes(blob))
    with pytest.raises(qt_rcc.RccError, match='header says 7'):
        qt_rcc.RccArchive(str(bad)).read('a')


def test_alpha_crop_and_fit():
    rgba = np.zeros((40, 60, 4), np.uint8)
    rgba[10:20, 5:45] = (200, 10, 10, 255)
    rgba[25, 50] = (0, 0, 0, 5)  # below the threshold: background
    crop = sa.alpha_crop(rgba)
    assert crop.shape == (10, 40, 4)
    assert (crop == (200, 10, 10, 255)).all()
    fit = sa.fit_longest(crop, 256)
    assert fit.shape == (64, 256, 4)
    # colour stays the object's up to the anti-aliased edge
    assert (fit[..., 3] == 255).all()
    assert np.abs(fit[..., :3].astype(int) - (200, 10, 10)).max() <= 1
    with pytest.raises(ValueError, match='fully transparent'):
        sa.alpha_crop(np.zeros((4, 4, 4), np.uint8))
    with pytest.raises(ValueError, match='RGBA'):
        sa.alpha_crop(np.zeros((4, 4, 3), np.uint8))


def test_background_alpha_keeps_enclosed_white():
    """Near-white pixels touching the border become transparent; white
    inside the object (enclosed) stays."""
    rgb = np.full((30, 30, 3), 250, np.uint8)
    rgb[5:25, 5:25] = (20, 20, 20)
    rgb[12:18, 12:18] = 255  # a white hole inside the object
    alpha = sa.background_alpha(rgb)
    assert (alpha[5:25, 5:25] == 255).all()
    assert (alpha[:5] == 0).all() and (alpha[:, 25:] == 0).all()


def test_licences_from_dep5_and_gcompris_readme():
    dep5 = ('Format: https://www.debian.org/doc/packaging-manuals/'
            'copyright-format/1.0/\n\n'
            'Files: *\nCopyright: someone\nLicense: GPL-2\n\n'
            'Files: nature/Aqua.jpg\n  nature/Dune.jpg\nLicense: CC-BY-4.0\n'
            '\nFiles: debian/*\nLicense: MIT\n')
    assert sa.copyright_licence(dep5) == 'GPL-2'
    assert sa.copyright_licence(
        dep5, 'usr/share/backgrounds/mate/nature/Dune.jpg') == 'CC-BY-4.0'
    assert sa.copyright_licence(dep5, 'usr/share/x/other.jpg') == 'GPL-2'
    assert sa.copyright_licence('plain text, no stanzas') is None
    readme = ('Copyright: Timothee Giet\nLicense: CC-BY-SA 4.0\nFiles:\n'
              'key.svg\nusa/usa.svg\n\n'
              'Copyright: Nikater\nLicense: Public Domain\n'
              'Source: https://example.org/File:Canyon.jpg\nFiles:\n'
              'usa/canyon.webp\n\n'
              'Copyright: Bruno\nLicense: CC-BY 4.0\nEilan_0.webp\n'
              'Eilan_background.webp\nComment: based on a photo\n')
    table = sa.gcompris_readme_licences(readme)
    assert table['usa/usa.svg'] == 'CC-BY-SA 4.0; copyright: Timothee Giet'
    assert table['usa/canyon.webp'] == (
        'Public Domain; copyright: Nikater; '
        'source: https://example.org/File:Canyon.jpg')
    assert table['Eilan_background.webp'].startswith('CC-BY 4.0')
    assert 'Comment: based on a photo' not in table


def _png(rgba) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgba, 'RGBA').save(buf, format='PNG')
    return buf.getvalue()


def _wav(audio, sr) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, 'wb') as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(sr)
        pcm = (np.stack([audio, audio], 1) * 10000).astype('<i2')
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def _jpeg(seed, size=(120, 80)) -> bytes:
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 255, (size[1] // 8, size[0] // 8, 3), np.uint8)
    img = np.kron(img, np.ones((8, 8, 1), np.uint8))
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format='JPEG')
    return buf.getvalue()


def build_fake_packages(root):
    """Three packages: a photo stamp and its sound (tuxpaint layout, DEP-5
    copyright), a GCompris-like rcc bundle with a drawing, a recording and
    a README, and two backgrounds of which one is a copy."""
    tux = root / 'tuxpaint-stamps-default'
    stamp = np.zeros((50, 30, 4), np.uint8)
    stamp[10:40, 5:20] = (90, 60, 30, 255)
    (tux / 'stamps').mkdir(parents=True)
    (tux / 'stamps/violin.png').write_bytes(_png(stamp))
    t = np.arange(22050) / 22050
    (tux / 'stamps/violin.wav').write_bytes(
        _wav(np.sin(2 * np.pi * 440 * t) * np.minimum(1, 5 * t), 22050))
    (tux / 'stamps/broken.wav').write_bytes(b'RIFF not really')
    (tux / '.version').write_text('2022.06.04-1\n')
    doc = tux / 'usr/share/doc/tuxpaint-stamps-default'
    doc.mkdir(parents=True)
    (doc / 'copyright').write_text('Files: *\nCopyright: x\nLicense: GPL-2\n')

    gc = root / 'gcompris-qt-data'
    (gc / 'rcc').mkdir(parents=True)
    drawing = np.full((40, 40, 3), 255, np.uint8)
    drawing[8:30, 10:34] = (10, 120, 200)
    opaque = np.concatenate([drawing, np.full((40, 40, 1), 255, np.uint8)],
                            2)
    sr = 44100
    t = np.arange(sr) / sr
    write_rcc(
        str(gc / 'rcc/instruments.rcc'), {
            'res/README': b'Copyright: Tux\nLicense: CC0-1.0\nFiles:\n'
            b'violin.png\n',
            'res/violin.png': _png(opaque),
            'res/cello.wav': _wav(np.sin(2 * np.pi * 130 * t) * 0.5, sr),
        },
        compress={'res/violin.png'})
    (gc / '.version').write_text('3.1-2\n')

    mate = root / 'mate-backgrounds/bg'
    mate.mkdir(parents=True)
    (mate / 'a_hill.jpg').write_bytes(_jpeg(1))
    (mate / 'b_copy.jpg').write_bytes(_jpeg(1))
    (mate / 'c_lake.jpg').write_bytes(_jpeg(2, (80, 200)))
    (root / 'mate-backgrounds/.version').write_text('1.26.0-1\n')


FAKE_PICTURES = [
    ('violin', 'photo', 'tuxpaint-stamps-default', 'stamps/violin.png'),
    ('violin', 'drawing', 'gcompris-qt-data',
     'rcc/instruments.rcc:res/violin.png'),
    ('cello', 'photo', 'tuxpaint-stamps-default', 'stamps/violin.png'),
    ('violin', 'photo', 'tuxpaint-stamps-default', 'stamps/missing.png'),
    ('banjo', 'emoji', 'fonts-noto-color-emoji', 'x.ttf#U+1FA95'),
]
FAKE_RECORDINGS = [
    ('violin', 'tuxpaint-stamps-default', 'stamps/violin.wav'),
    ('violin', 'tuxpaint-stamps-default', 'stamps/broken.wav'),
    ('cello', 'gcompris-qt-data', 'rcc/instruments.rcc:res/cello.wav'),
]
FAKE_BACKGROUNDS = [('mate-backgrounds', 'bg/*.jpg')]


def build(packages, out):
    logs = []
    index = sa.build_asset_tree(
        str(packages),
        str(out),
        pictures=FAKE_PICTURES,
        recordings=FAKE_RECORDINGS,
        soundfonts={},
        backgrounds=FAKE_BACKGROUNDS,
        log=logs.append)
    return index, logs


def test_asset_tree_index_and_manifest(tmp_path):
    build_fake_packages(tmp_path / 'packages')
    out = tmp_path / 'semireal'
    index, _ = build(tmp_path / 'packages', out)
    assert json.loads((out / 'index.json').read_text()) == index
    # violin: two styles and a recording; cello: one style only
    assert list(index['classes']) == ['violin']
    violin = index['classes']['violin']
    assert violin['super_category'] == 'String'
    assert violin['pictures'] == [
        dict(path='pictures/violin/gcompris_violin.png', style='drawing',
             source='gcompris-qt-data'),
        dict(path='pictures/violin/tuxpaint_violin.png', style='photo',
             source='tuxpaint-stamps-default'),
    ]
    assert violin['recordings'] == [
        dict(path='recordings/violin/tuxpaint_violin.wav',
             source='tuxpaint-stamps-default')
    ]
    assert violin['renders'] == {}
    excluded = index['excluded_classes']
    assert excluded['cello'].startswith('pictures in 1 style(s) (photo)')
    assert excluded['banjo'].startswith('pictures in 0 style(s)')
    assert set(sa.NEVER_AVAILABLE) <= set(excluded)
    assert index['backgrounds'] == [
        dict(path='backgrounds/mate_a_hill.jpg', source='mate-backgrounds'),
        dict(path='backgrounds/mate_c_lake.jpg', source='mate-backgrounds'),
    ]

    manifest = json.loads((out / 'manifest.json').read_text())
    files = {e['path']: e for e in manifest['files']}
    on_disk = {
        osp.relpath(p, out)
        for p in map(str, out.rglob('*'))
        if osp.isfile(p) and not p.endswith('.json')
    }
    assert set(files) == on_disk
    for rel, entry in files.items():
        assert entry['sha256'] == hashlib.sha256(
            (out / rel).read_bytes()).hexdigest()
    pkgs = tmp_path / 'packages'
    entry = files['pictures/violin/tuxpaint_violin.png']
    assert entry['sha256_source'] == hashlib.sha256(
        (pkgs / 'tuxpaint-stamps-default/stamps/violin.png').read_bytes()
    ).hexdigest()
    assert entry['package_version'] == '2022.06.04-1'
    assert entry['licence'] == 'GPL-2'
    drawing = files['pictures/violin/gcompris_violin.png']
    assert drawing['source_file'] == 'rcc/instruments.rcc:res/violin.png'
    assert drawing['licence'] == 'CC0-1.0; copyright: Tux'
    assert manifest['packages']['gcompris-qt-data']['version'] == '3.1-2'
    skipped = {s['source']: s['reason'] for s in manifest['skipped']}
    assert 'stamps/missing.png' in skipped['stamps/missing.png']
    assert 'tuxpaint-stamps-default' in skipped['stamps/missing.png']
    assert 'stamps/broken.wav' in skipped['stamps/broken.wav']
    assert skipped['x.ttf#U+1FA95'] == ('package fonts-noto-color-emoji not '
                                        'installed')
    assert skipped['bg/b_copy.jpg'].startswith('same photo as')


def test_normalised_files(tmp_path):
    build_fake_packages(tmp_path / 'packages')
    out = tmp_path / 'semireal'
    build(tmp_path / 'packages', out)
    photo = np.asarray(Image.open(out / 'pictures/violin/tuxpaint_violin.png'))
    # the 30x15 opaque box, cropped and scaled to 256 high
    assert photo.shape == (256, 128, 4)
    assert (photo[..., 3] == 255).all()
    drawing = np.asarray(
        Image.open(out / 'pictures/violin/gcompris_violin.png'))
    # opaque source on white: alpha from the border flood fill (22x24 box)
    assert drawing.shape == (235, 256, 4)
    with wave.open(str(out / 'recordings/violin/tuxpaint_violin.wav')) as w:
        assert (w.getnchannels(), w.getsampwidth(),
                w.getframerate()) == (1, 2, 16000)
        pcm = np.frombuffer(w.readframes(w.getnframes()), '<i2')
    assert abs(len(pcm) - 16000) <= 320
    assert np.abs(pcm).max() == round(0.9 * 32767)
    hill = Image.open(out / 'backgrounds/mate_a_hill.jpg')
    lake = Image.open(out / 'backgrounds/mate_c_lake.jpg')
    assert hill.size == (384, 256) and lake.size == (256, 640)


def test_rebuild_is_identical_and_drops_stale_files(tmp_path):
    build_fake_packages(tmp_path / 'packages')
    build(tmp_path / 'packages', tmp_path / 'a')
    build(tmp_path / 'packages', tmp_path / 'b')
    manifest = (tmp_path / 'a/manifest.json').read_text()
    assert manifest == (tmp_path / 'b/manifest.json').read_text()
    stale = tmp_path / 'a/pictures/violin/tuxpaint_violin.png'
    mtime = stale.stat().st_mtime_ns
    # a second run into the same tree keeps unchanged files as they are
    (tmp_path / 'packages/mate-backgrounds/bg/c_lake.jpg').unlink()
    build(tmp_path / 'packages', tmp_path / 'a')
    assert stale.stat().st_mtime_ns == mtime
    assert not (tmp_path / 'a/backgrounds/mate_c_lake.jpg').exists()
    files = json.loads((tmp_path / 'a/manifest.json').read_text())['files']
    assert 'backgrounds/mate_c_lake.jpg' not in {e['path'] for e in files}


def test_phrases_are_deterministic_and_in_range():
    for cls, (programs, notes, _) in sa.RENDER_SPECS.items():
        phrases = [sa.phrase_events(cls, k) for k in range(8)]
        assert phrases == [sa.phrase_events(cls, k) for k in range(8)]
        for events, length, program in phrases:
            assert 2 <= length <= 4 and events
            pitches = [e[2] for e in events]
            if programs is None:
                assert program == -1 and set(pitches) <= set(notes) | {49}
            else:
                assert program in programs
                assert notes[0] <= min(pitches) <= max(pitches) <= notes[1]
            assert all(0 <= e[0] < length and 1 <= e[3] <= 127
                       for e in events)
        # the phrases differ from one another
        assert len({json.dumps(p[0]) for p in phrases}) == 8


def build_fake_sh3d(root):
    """A Sweet Home 3D catalogue (a zip) whose icon has alpha, and a
    DEP-5 copyright file licensing it by the catalogue's folder name."""
    pkg = root / 'sweethome3d-furniture'
    (pkg / 'furniture').mkdir(parents=True)
    icon = np.zeros((20, 30, 4), np.uint8)
    icon[5:15, 10:20] = (0, 0, 0, 255)
    with zipfile.ZipFile(pkg / 'furniture/Swap-CC-BY.sh3f', 'w') as z:
        z.writestr('swap/piano.png', _png(icon))
        z.writestr(
            'PluginFurnitureCatalog.properties',
            'name#1=Piano\nicon#1=/swap/piano.png\ncreator#1=Dante\n'
            'name#2=Bench\nicon#2=/swap/bench.png\ncreator#2=Other\n')
    doc = pkg / 'usr/share/doc/sweethome3d-furniture'
    doc.mkdir(parents=True)
    (doc / 'copyright').write_text(
        'Files: Swap-CC-0/*\nLicense: CC0\n\n'
        'Files: Swap-CC-BY/*\nLicense: CC-BY-3.0\n')
    (pkg / '.version').write_text('1.8-1\n')


def test_zip_entries_named_pictures_and_name_clashes(tmp_path):
    """A picture inside a zip archive (``<file.sh3f>:<entry>``) is read,
    licensed by the stanza of the folder named after the archive, with its
    catalogue creator; a spec's fifth element names the output file; two
    specs that would write the same file are refused."""
    build_fake_packages(tmp_path / 'packages')
    build_fake_sh3d(tmp_path / 'packages')
    pictures = FAKE_PICTURES[:2] + [
        ('piano', 'photo', 'sweethome3d-furniture',
         'furniture/Swap-CC-BY.sh3f:swap/piano.png'),
        ('piano', 'drawing', 'gcompris-qt-data',
         'rcc/instruments.rcc:res/violin.png', 'grand_piano'),
        ('piano', 'photo', 'sweethome3d-furniture',
         'furniture/Swap-CC-BY.sh3f:swap/missing.png'),
    ]
    out = tmp_path / 'semireal'
    sa.build_asset_tree(
        str(tmp_path / 'packages'), str(out), pictures=pictures,
        recordings=[], soundfonts={}, backgrounds=[], log=lambda m: None)
    assert sorted(osp.relpath(p, out) for p in map(str, out.rglob('*.png'))
                  if 'piano' in p) == [
        'pictures/piano/gcompris_grand_piano.png',
        'pictures/piano/sh3d_piano.png'
    ]
    icon = np.asarray(Image.open(out / 'pictures/piano/sh3d_piano.png'))
    assert icon.shape == (256, 256, 4) and (icon[..., 3] == 255).all()
    manifest = json.loads((out / 'manifest.json').read_text())
    files = {e['path']: e for e in manifest['files']}
    assert files['pictures/piano/sh3d_piano.png']['licence'] == (
        'CC-BY-3.0; creator: Dante')
    assert files['pictures/piano/gcompris_grand_piano.png'][
        'source_file'] == 'rcc/instruments.rcc:res/violin.png'
    skipped = {s['source']: s['reason'] for s in manifest['skipped']}
    assert 'cannot read' in skipped[
        'furniture/Swap-CC-BY.sh3f:swap/missing.png']
    clash = FAKE_PICTURES[:1] + [
        ('violin', 'drawing', 'tuxpaint-stamps-default',
         'stamps/violin.png')
    ]
    with pytest.raises(sa.AssetError, match='both normalise to pictures/'
                       'violin/tuxpaint_violin.png'):
        sa.build_asset_tree(
            str(tmp_path / 'packages'), str(tmp_path / 'b'),
            pictures=clash, recordings=[], soundfonts={}, backgrounds=[],
            log=lambda m: None)


def test_wav_of_silence_is_refused():
    with pytest.raises(ValueError, match='silent'):
        sa.to_int16_wav(np.zeros(100))


def test_cli_without_packages(tmp_path, capsys):
    tool = load_tool('tools/dataset_converters/semireal_assets.py')
    with pytest.raises(SystemExit, match='no .*packages'):
        tool.main(['--out', str(tmp_path), '--skip-install'])
    (tmp_path / 'packages').mkdir()
    index = tool.main(['--out', str(tmp_path), '--skip-install'])
    assert index['classes'] == {}
    assert set(sa.CANDIDATE_CLASSES) <= set(index['excluded_classes'])
    assert '0 classes, 0 pictures' in capsys.readouterr().out


def build_fake_iconify(root):
    """An npm package of an Iconify JSON set (``package/icons.json``): a
    16x16 icon whose body fills x 2-10, y 4-12, an alias of it, an alias
    that flips it, and the set's licence and author."""
    pkg = root / '@iconify-json/fake'
    (pkg / 'package').mkdir(parents=True)
    (pkg / 'package/icons.json').write_text(json.dumps(dict(
        prefix='fake', width=16, height=16,
        icons=dict(box=dict(body='<path d="M2 4h8v8H2z" fill="#0a0"/>'),
                   wide=dict(body='<path d="M0 0h32v8H0z"/>', width=32)),
        aliases=dict(square=dict(parent='box'),
                     flipped=dict(parent='box', hFlip=True)))))
    (pkg / 'package/package.json').write_text(
        json.dumps(dict(name='@iconify-json/fake', license='CC-BY-4.0')))
    (pkg / 'package/info.json').write_text(json.dumps(
        dict(author=dict(name='Someone', url='https://example.org'))))
    (pkg / '.version').write_text('1.0.0\n')


def test_iconify_icons(tmp_path):
    """An Iconify icon (``package/icons.json#<name>``) is drawn from its
    body in the set's (or its own) view box, an alias is followed, one with
    a transformation is skipped, and the licence names the set's author;
    the file is named after the package without its npm scope."""
    build_fake_iconify(tmp_path / 'packages')
    pictures = [(cls, 'icon', '@iconify-json/fake', f'package/icons.json#{n}')
                for cls, n in (('violin', 'box'), ('cello', 'square'),
                               ('drum', 'wide'), ('piano', 'flipped'),
                               ('flute', 'none'))]
    out = tmp_path / 'semireal'
    sa.build_asset_tree(
        str(tmp_path / 'packages'), str(out), pictures=pictures,
        recordings=[], soundfonts={}, backgrounds=[], log=lambda m: None)
    box = np.asarray(Image.open(out / 'pictures/violin/fake_box.png'))
    # cropped to the square body, then scaled to the longest side
    assert box.shape == (256, 256, 4)
    assert (box[8:-8, 8:-8, 3] == 255).all()
    assert tuple(box[128, 128, :3]) == (0, 170, 0)
    alias = np.asarray(Image.open(out / 'pictures/cello/fake_square.png'))
    assert np.array_equal(alias, box)
    wide = np.asarray(Image.open(out / 'pictures/drum/fake_wide.png'))
    assert wide.shape == (64, 256, 4)
    manifest = json.loads((out / 'manifest.json').read_text())
    files = {e['path']: e for e in manifest['files']}
    assert files['pictures/violin/fake_box.png']['licence'] == (
        'CC-BY-4.0; author: Someone (https://example.org)')
    assert files['pictures/violin/fake_box.png']['package_version'] == '1.0.0'
    skipped = {s['source']: s['reason'] for s in manifest['skipped']}
    assert 'transforms its parent' in skipped['package/icons.json#flipped']
    assert 'no icon none' in skipped['package/icons.json#none']


def test_npm_packages_are_checked_and_unpacked(tmp_path):
    """``unpack_npm`` reads the version's ``dist`` from the registry,
    refuses a tarball whose SHA-512 differs from the registry's, unpacks
    it with its ``.version`` and skips it the second time."""
    tool = load_tool('tools/dataset_converters/semireal_assets.py')
    registry = tmp_path / 'registry'
    tgz = registry / 'fake-1.0.0.tgz'
    (registry / '@iconify-json/fake').mkdir(parents=True)
    member = tmp_path / 'icons.json'
    member.write_text('{"icons": {}}')
    with tarfile.open(tgz, 'w:gz') as tar:
        tar.add(member, 'package/icons.json')

    def publish(data: bytes) -> None:
        digest = base64.b64encode(hashlib.sha512(data).digest()).decode()
        (registry / '@iconify-json/fake/1.0.0').write_text(json.dumps(dict(
            dist=dict(tarball=tgz.as_uri(), integrity=f'sha512-{digest}'))))

    publish(b'other bytes')
    downloads, packages = tmp_path / 'dl', tmp_path / 'packages'
    downloads.mkdir()
    with pytest.raises(SystemExit, match='SHA-512 mismatch'):
        tool.unpack_npm('@iconify-json/fake', '1.0.0', str(downloads),
                        str(packages), registry=registry.as_uri())
    assert not (packages / '@iconify-json/fake/.version').exists()
    publish(tgz.read_bytes())
    tool.unpack_npm('@iconify-json/fake', '1.0.0', str(downloads),
                    str(packages), registry=registry.as_uri())
    pkg = packages / '@iconify-json/fake'
    assert (pkg / 'package/icons.json').read_text() == '{"icons": {}}'
    assert (pkg / '.version').read_text() == '1.0.0\n'
    tgz.unlink()  # the second run neither downloads nor unpacks
    tool.unpack_npm('@iconify-json/fake', '1.0.0', str(downloads),
                    str(packages), registry=registry.as_uri())


def test_the_installer_pins_every_iconify_set_listed():
    """Every Iconify set a picture comes from is fetched (at a pinned
    version) by the installer, and nothing else is."""
    tool = load_tool('tools/dataset_converters/semireal_assets.py')
    assert set(tool.NPM_PACKAGES) == {p for p, _, _ in sa.ICONIFY_SETS}
