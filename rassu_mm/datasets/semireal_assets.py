"""Normalise the sr-Music assets (``docs/semireal.md`` section 1) from a
folder of extracted Debian packages into an asset tree::

    <out>/pictures/<class>/<source>_<name>.png   RGBA cut-outs, alpha = object
    <out>/recordings/<class>/<source>_<name>.wav real recordings, 16 kHz mono
    <out>/renders/<soundfont>/<class>/<k>.wav    soundfont phrases, 16 kHz
    <out>/backgrounds/<source>_<name>.jpg        real photos, short side 256
    <out>/index.json                             classes -> assets
    <out>/manifest.json                          package, licence, SHA-256

``packages_dir`` holds one folder per package (``<pkg>/usr/share/...`` as
``dpkg-deb -x`` lays it out) with the package version in ``<pkg>/.version``;
``tools/dataset_converters/semireal_assets.py`` fills it. A source is named
by a path inside its package, ``<file.rcc>:<entry>`` for a file inside a Qt
resource bundle, ``<file.sh3f>:<entry>`` (or any other zip archive) for a
file inside a zip, ``<font>#U+XXXX`` for an emoji glyph, or
``package/icons.json#<name>`` for an icon of an Iconify JSON icon set (an
npm package of ``@iconify-json``).

Everything here is deterministic: the same packages give byte-identical
files.
"""
import fnmatch
import hashlib
import io
import json
import os
import os.path as osp
import re
import shutil
import subprocess
import wave
import zipfile
import zlib
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .qt_rcc import RccArchive

SAMPLE_RATE = 16000
PICTURE_SIZE = 256  # longest side of a picture
BACKGROUND_SIZE = 256  # shortest side of a background
SUPER_CATEGORIES = {
    'violin': 'String', 'cello': 'String', 'guitar': 'String',
    'bass': 'String', 'banjo': 'String', 'drum': 'Percussion',
    'xylophone': 'Percussion', 'congas': 'Percussion',
    'accordion': 'Keyboard', 'piano': 'Keyboard', 'tuba': 'Wind',
    'trumpet': 'Wind', 'bassoon': 'Wind', 'flute': 'Wind',
    'clarinet': 'Wind', 'saxophone': 'Wind'
}
CANDIDATE_CLASSES = tuple(SUPER_CATEGORIES)
# f-Music classes the packages cannot support at all
NEVER_AVAILABLE = {
    'ukulele': 'no picture in any package (GM has no ukulele program; '
    'the soundfonts would play a guitar)',
    'erhu': 'no picture in any package and no erhu program in GM (the '
    'soundfonts would play a violin or fiddle)',
    'pipa': 'no picture in any package and no pipa program in GM',
    'guzheng': 'no picture in any package; GM koto (107) is another '
    'instrument',
    'suona': 'no picture in any package; GM shanai (111) is another '
    'instrument',
    'bagpipe': 'no picture in any package; GM bag pipe (109) exists but '
    'no package has a picture with alpha',
}

GCOMPRIS_RCC = 'usr/share/gcompris-qt/rcc'
GC_INSTRUMENTS = (f'{GCOMPRIS_RCC}/instruments.rcc:'
                  'gcompris/src/activities/instruments/resource')
TUX_MUSIC = 'usr/share/tuxpaint/stamps/hobbies/music'
OPENCLIPART = 'usr/share/openclipart/png'
EMOJI_FONT = 'usr/share/fonts/truetype/noto/NotoColorEmoji.ttf'
SYMBOLA_FONT = 'usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf'
SCRATCH_MEDIA = 'usr/share/scratch/Media'
GEMOJIONE = ('usr/share/rubygems-integration/all/gems/gemojione-3.3.0/'
             'assets/svg')
EMOJIFY = 'usr/share/javascript/emojify.js/images/emoji'
SH3D = 'usr/share/sweethome3d/furniture'
HYDROGEN_ICONS = 'usr/share/hydrogen/data/img/scalable/icons/black'
OC_MUSIC = f'{OPENCLIPART}/recreation/music'
SCRATCH_SOUNDS = f'{SCRATCH_MEDIA}/Sounds'

# (class, style, package, source[, name]); the output name is derived from
# the source's file name (or code point) unless given. Sweet Home 3D's
# furniture icons are renders of 3D models, listed as 'photo' (shaded,
# photo-like); every picture was looked at: one instrument, alpha or a
# plain background.
PICTURES = [
    ('violin', 'photo', 'tuxpaint-stamps-default',
     f'{TUX_MUSIC}/string/violin.png'),
    ('violin', 'drawing', 'tuxpaint-stamps-default',
     f'{TUX_MUSIC}/string/violin2.svg'),
    ('violin', 'drawing', 'gcompris-qt-data', f'{GC_INSTRUMENTS}/violin.svg'),
    ('violin', 'emoji', 'fonts-noto-color-emoji', f'{EMOJI_FONT}#U+1F3BB'),
    ('violin', 'clipart', 'openclipart-png',
     f'{OC_MUSIC}/violin_colour_ganson.png'),
    ('violin', 'clipart', 'openclipart-png',
     f'{OC_MUSIC}/violin_mo_01.png'),
    ('violin', 'clipart', 'openclipart-png',
     f'{OC_MUSIC}/violin_ganson.png'),
    ('violin', 'emoji', 'fonts-symbola', f'{SYMBOLA_FONT}#U+1F3BB'),
    ('cello', 'photo', 'tuxpaint-stamps-default',
     f'{TUX_MUSIC}/string/cello.png'),
    ('cello', 'drawing', 'gcompris-qt-data', f'{GC_INSTRUMENTS}/cello.svg'),
    ('cello', 'clipart', 'openclipart-png',
     f'{OC_MUSIC}/cello_mo_01.png'),
    ('cello', 'clipart', 'openclipart-png',
     f'{OC_MUSIC}/cello_ganson.png'),
    ('guitar', 'photo', 'tuxpaint-stamps-default',
     f'{TUX_MUSIC}/string/guitar_classical.png'),
    ('guitar', 'photo', 'tuxpaint-stamps-default',
     f'{TUX_MUSIC}/string/guitar2.png'),
    ('guitar', 'photo', 'tuxpaint-stamps-default',
     f'{TUX_MUSIC}/string/guitar_electric.png'),
    ('guitar', 'drawing', 'gcompris-qt-data', f'{GC_INSTRUMENTS}/guitar.svg'),
    ('guitar', 'drawing', 'gcompris-qt-data',
     f'{GC_INSTRUMENTS}/electric_guitar.svg'),
    ('guitar', 'emoji', 'fonts-noto-color-emoji', f'{EMOJI_FONT}#U+1F3B8'),
    ('guitar', 'clipart', 'openclipart-png',
     f'{OC_MUSIC}/guitar_ganson.png'),
    ('guitar', 'clipart', 'openclipart-png',
     f'{OC_MUSIC}/guitar_jarno_vasamaa1.png'),
    ('guitar', 'clipart', 'openclipart-png',
     f'{OC_MUSIC}/guitar_jarno_vasamaa2.png'),
    ('guitar', 'clipart', 'openclipart-png',
     f'{OC_MUSIC}/guitar_profile_philippe__01.png'),
    ('guitar', 'clipart', 'openclipart-png',
     f'{OC_MUSIC}/electric_guitar_andrea__01r.png'),
    ('guitar', 'emoji', 'fonts-symbola', f'{SYMBOLA_FONT}#U+1F3B8'),
    ('bass', 'photo', 'tuxpaint-stamps-default',
     f'{TUX_MUSIC}/string/guitar_electric_bass.png'),
    ('bass', 'drawing', 'tuxpaint-stamps-default',
     f'{TUX_MUSIC}/string/guitar_electric_bass2.svg'),
    ('bass', 'clipart', 'openclipart-png',
     f'{OC_MUSIC}/bass_guitar_a.j._ashton_.png'),
    ('banjo', 'drawing', 'gcompris-qt-data', f'{GC_INSTRUMENTS}/banjo.svg'),
    ('banjo', 'emoji', 'fonts-noto-color-emoji', f'{EMOJI_FONT}#U+1FA95'),
    ('drum', 'photo', 'tuxpaint-stamps-default',
     f'{TUX_MUSIC}/percussion/drumkit.png'),
    ('drum', 'photo', 'tuxpaint-stamps-default',
     f'{TUX_MUSIC}/percussion/drum_tomtom_floor.png'),
    ('drum', 'drawing', 'gcompris-qt-data', f'{GC_INSTRUMENTS}/drum_kit.svg'),
    ('drum', 'drawing', 'gcompris-qt-data',
     f'{GC_INSTRUMENTS}/snare_drum.svg'),
    ('drum', 'emoji', 'fonts-noto-color-emoji', f'{EMOJI_FONT}#U+1F941'),
    ('drum', 'clipart', 'openclipart-png',
     f'{OC_MUSIC}/drums_jarno_vasamaa_.png'),
    ('drum', 'drawing', 'scratch', f'{SCRATCH_MEDIA}/Costumes/Things/drum1.gif'),
    ('drum', 'drawing', 'scratch', f'{SCRATCH_MEDIA}/Costumes/Things/drum2.gif'),
    ('drum', 'emoji', 'fonts-symbola', f'{SYMBOLA_FONT}#U+1F941'),
    # the frame with its four bars laid on it as GCompris's Melody.qml does
    ('xylophone', 'drawing', 'gcompris-qt-data',
     f'{GCOMPRIS_RCC}/melody.rcc:gcompris/src/activities/melody/resource/'
     'xylofon.svg+parts'),
    ('xylophone', 'clipart', 'openclipart-png',
     f'{OC_MUSIC}/xylophone_ganson.png'),
    ('congas', 'drawing', 'gcompris-qt-data', f'{GC_INSTRUMENTS}/bongo.svg'),
    ('congas', 'emoji', 'fonts-noto-color-emoji', f'{EMOJI_FONT}#U+1FA98'),
    # tall barrel hand drums drawn like congas (the file names say
    # "African drum")
    ('congas', 'clipart', 'openclipart-png',
     f'{OC_MUSIC}/africandrum_benji_park_.png'),
    ('congas', 'clipart', 'openclipart-png',
     f'{OC_MUSIC}/africandrum_benji_park1.png'),
    ('accordion', 'drawing', 'gcompris-qt-data',
     f'{GC_INSTRUMENTS}/accordion.svg'),
    ('accordion', 'emoji', 'fonts-noto-color-emoji',
     f'{EMOJI_FONT}#U+1FA97'),
    ('piano', 'drawing', 'gcompris-qt-data', f'{GC_INSTRUMENTS}/piano.svg'),
    ('piano', 'emoji', 'fonts-noto-color-emoji', f'{EMOJI_FONT}#U+1F3B9'),
    ('piano', 'clipart', 'openclipart-png',
     f'{OC_MUSIC}/piano_geraint_luff_01.png'),
    ('piano', 'emoji', 'fonts-symbola', f'{SYMBOLA_FONT}#U+1F3B9'),
    ('tuba', 'drawing', 'gcompris-qt-data', f'{GC_INSTRUMENTS}/tuba.svg'),
    ('trumpet', 'photo', 'tuxpaint-stamps-default',
     f'{TUX_MUSIC}/brass/trumpet.png'),
    ('trumpet', 'drawing', 'gcompris-qt-data',
     f'{GC_INSTRUMENTS}/trumpet.svg'),
    ('trumpet', 'emoji', 'fonts-noto-color-emoji', f'{EMOJI_FONT}#U+1F3BA'),
    ('trumpet', 'clipart', 'openclipart-png',
     f'{OC_MUSIC}/trumpet_b_flat_colour_ganso.png'),
    ('trumpet', 'clipart', 'openclipart-png',
     f'{OC_MUSIC}/trumpet_pocket_colour_ganso.png'),
    ('trumpet', 'clipart', 'openclipart-png',
     f'{OC_MUSIC}/trumpet_b_flat__ganson.png'),
    ('trumpet', 'clipart', 'openclipart-png',
     f'{OC_MUSIC}/trumpet_pocket__ganson.png'),
    ('trumpet', 'emoji', 'fonts-symbola', f'{SYMBOLA_FONT}#U+1F3BA'),
    ('bassoon', 'photo', 'tuxpaint-stamps-default',
     f'{TUX_MUSIC}/wind/bassoon.png'),
    ('flute', 'drawing', 'gcompris-qt-data',
     f'{GC_INSTRUMENTS}/flute_traversiere.svg'),
    ('flute', 'emoji', 'fonts-noto-color-emoji', f'{EMOJI_FONT}#U+1FA88'),
    ('flute', 'clipart', 'openclipart-png',
     f'{OC_MUSIC}/flute_ganson.png'),
    ('clarinet', 'drawing', 'gcompris-qt-data',
     f'{GC_INSTRUMENTS}/clarinet.svg'),
    ('saxophone', 'drawing', 'gcompris-qt-data',
     f'{GC_INSTRUMENTS}/saxophone.svg'),
    ('saxophone', 'emoji', 'fonts-noto-color-emoji', f'{EMOJI_FONT}#U+1F3B7'),
    ('saxophone', 'clipart', 'openclipart-png',
     f'{OC_MUSIC}/saxophone_jarno_vasamaa_.png'),
    ('saxophone', 'emoji', 'fonts-symbola', f'{SYMBOLA_FONT}#U+1F3B7'),
    ('cello', 'clipart', 'openclipart-png', f'{OC_MUSIC}/cello_mo_02.png'),
    ('piano', 'drawing', 'gcompris-qt-data',
     f'{GCOMPRIS_RCC}/louis-braille.rcc:'
     'gcompris/src/activities/louis-braille/resource/piano.svg',
     'grand_piano'),
    ('drum', 'drawing', 'hydrogen-data', f'{HYDROGEN_ICONS}/drum.svg'),
    ('piano', 'drawing', 'hydrogen-data', f'{HYDROGEN_ICONS}/piano.svg'),
    ('guitar', 'photo', 'sweethome3d-furniture',
     f'{SH3D}/BlendSwap-CC-0.sh3f:blendswap-cc-0/electricGuitar.png'),
    ('piano', 'photo', 'sweethome3d-furniture',
     f'{SH3D}/BlendSwap-CC-0.sh3f:blendswap-cc-0/pianoAQueue.png'),
    ('piano', 'photo', 'sweethome3d-furniture',
     f'{SH3D}/BlendSwap-CC-BY.sh3f:blendswap-cc-by/piano.png'),
    ('xylophone', 'photo', 'sweethome3d-furniture',
     f'{SH3D}/BlendSwap-CC-BY.sh3f:blendswap-cc-by/xylophone.png'),
] + [
    # EmojiOne artwork (the SVGs; the PNGs are the same drawings)
    (cls, 'emoji', 'ruby-gemojione', f'{GEMOJIONE}/{code}.svg')
    for cls, code in (('guitar', '1F3B8'), ('piano', '1F3B9'),
                      ('trumpet', '1F3BA'), ('violin', '1F3BB'),
                      ('saxophone', '1F3B7'), ('drum', '1F941'))
] + [(cls, 'emoji', 'libjs-emojify', f'{EMOJIFY}/{name}.png')
     for cls, name in (('guitar', 'guitar'), ('piano', 'musical_keyboard'),
                       ('saxophone', 'saxophone'), ('trumpet', 'trumpet'),
                       ('violin', 'violin'))]

# Iconify JSON icon sets (npm packages): emoji artworks of their own and
# black icons ('icon': silhouettes, outlines). The icon of each class, by
# its Iconify name; Iconify's ``noto`` (Noto Color Emoji again) and
# ``emojione`` (the EmojiOne artwork of ruby-gemojione) are left out, as are
# the streamline guitar and EmojiOne 1 saxophone (drawn with music notes
# around them), the high-contrast Fluent drum (it reads as a face) and the
# mdi violin (a body outline without neck).
ICONIFY_ICONS = 'package/icons.json'
_EMOJI_ICONS = (('violin', 'violin'), ('guitar', 'guitar'),
                ('banjo', 'banjo'), ('drum', 'drum'), ('congas', 'long-drum'),
                ('accordion', 'accordion'), ('piano', 'musical-keyboard'),
                ('trumpet', 'trumpet'), ('flute', 'flute'),
                ('saxophone', 'saxophone'))
_FEW_EMOJI_ICONS = tuple(
    (c, n) for c, n in _EMOJI_ICONS
    if c in ('violin', 'guitar', 'drum', 'piano', 'trumpet', 'saxophone'))
ICONIFY_SETS = (
    ('@iconify-json/twemoji', 'emoji', _EMOJI_ICONS),
    ('@iconify-json/openmoji', 'emoji', _EMOJI_ICONS),
    ('@iconify-json/fluent-emoji', 'emoji', _EMOJI_ICONS),
    ('@iconify-json/fluent-emoji-high-contrast', 'icon',
     tuple(i for i in _EMOJI_ICONS if i[0] != 'drum')),
    ('@iconify-json/noto-v1', 'emoji', _FEW_EMOJI_ICONS),
    ('@iconify-json/emojione-v1', 'emoji',
     tuple(i for i in _FEW_EMOJI_ICONS
           if i[0] not in ('drum', 'saxophone'))),
    ('@iconify-json/fxemoji', 'emoji',
     tuple(i for i in _FEW_EMOJI_ICONS if i[0] not in ('drum', 'piano'))),
    ('@iconify-json/streamline-emojis', 'emoji',
     tuple(i for i in _FEW_EMOJI_ICONS if i[0] not in ('drum', 'guitar'))),
    ('@iconify-json/game-icons', 'icon',
     (('violin', 'violin'), ('guitar', 'guitar'), ('banjo', 'banjo'),
      ('drum', 'drum'), ('drum', 'drum-kit'), ('xylophone', 'xylophone'),
      ('accordion', 'accordion'), ('piano', 'musical-keyboard'),
      ('piano', 'grand-piano'), ('trumpet', 'trumpet'), ('flute', 'flute'),
      ('saxophone', 'saxophone'))),
    ('@iconify-json/mdi', 'icon',
     (('guitar', 'guitar-acoustic'),
      ('guitar', 'guitar-electric'), ('piano', 'piano'),
      ('trumpet', 'trumpet'), ('saxophone', 'saxophone'))),
)
PICTURES += [(cls, style, package, f'{ICONIFY_ICONS}#{name}')
             for package, style, icons in ICONIFY_SETS
             for cls, name in icons]

# (class, package, source)
RECORDINGS = [
    ('violin', 'gcompris-qt-data', f'{GC_INSTRUMENTS}/violin.ogg'),
    ('violin', 'tuxpaint-stamps-default', f'{TUX_MUSIC}/string/violin.ogg'),
    ('cello', 'gcompris-qt-data', f'{GC_INSTRUMENTS}/cello.ogg'),
    ('cello', 'tuxpaint-stamps-default', f'{TUX_MUSIC}/string/cello.ogg'),
    ('guitar', 'gcompris-qt-data', f'{GC_INSTRUMENTS}/guitar.ogg'),
    ('guitar', 'gcompris-qt-data', f'{GC_INSTRUMENTS}/electric_guitar.ogg'),
    ('banjo', 'gcompris-qt-data', f'{GC_INSTRUMENTS}/banjo.ogg'),
    ('drum', 'gcompris-qt-data', f'{GC_INSTRUMENTS}/drum_kit.ogg'),
    ('drum', 'gcompris-qt-data', f'{GC_INSTRUMENTS}/snare_drum.ogg'),
    ('drum', 'tuxpaint-stamps-default',
     f'{TUX_MUSIC}/percussion/drumkit.ogg'),
    ('drum', 'tuxpaint-stamps-default',
     f'{TUX_MUSIC}/percussion/drum_tomtom_floor.ogg'),
    ('congas', 'gcompris-qt-data', f'{GC_INSTRUMENTS}/bongo.ogg'),
    ('accordion', 'gcompris-qt-data', f'{GC_INSTRUMENTS}/accordion.ogg'),
    ('piano', 'gcompris-qt-data', f'{GC_INSTRUMENTS}/piano.ogg'),
    ('tuba', 'gcompris-qt-data', f'{GC_INSTRUMENTS}/tuba.ogg'),
    ('trumpet', 'gcompris-qt-data', f'{GC_INSTRUMENTS}/trumpet.ogg'),
    ('bassoon', 'tuxpaint-stamps-default', f'{TUX_MUSIC}/wind/bassoon.ogg'),
    ('flute', 'gcompris-qt-data',
     f'{GC_INSTRUMENTS}/flute_traversiere.ogg'),
    ('clarinet', 'gcompris-qt-data', f'{GC_INSTRUMENTS}/clarinet.ogg'),
    ('saxophone', 'gcompris-qt-data', f'{GC_INSTRUMENTS}/saxophone.ogg'),
    ('guitar', 'scratch', f'{SCRATCH_SOUNDS}/Instruments/GuitarStrum.wav'),
    ('guitar', 'scratch', f'{SCRATCH_SOUNDS}/Music Loops/GuitarChords1.mp3'),
    ('guitar', 'scratch', f'{SCRATCH_SOUNDS}/Music Loops/GuitarChords2.mp3'),
    ('trumpet', 'scratch', f'{SCRATCH_SOUNDS}/Instruments/Trumpet1.wav'),
    ('trumpet', 'scratch', f'{SCRATCH_SOUNDS}/Instruments/Trumpet2.wav'),
    ('drum', 'scratch', f'{SCRATCH_SOUNDS}/Music Loops/DrumSet1.mp3'),
    ('drum', 'scratch', f'{SCRATCH_SOUNDS}/Music Loops/DrumSet2.mp3'),
    ('drum', 'scratch', f'{SCRATCH_SOUNDS}/Music Loops/Drum.mp3'),
    ('xylophone', 'scratch', f'{SCRATCH_SOUNDS}/Music Loops/Xylo1.mp3'),
    ('xylophone', 'scratch', f'{SCRATCH_SOUNDS}/Music Loops/Xylo2.mp3'),
    ('xylophone', 'scratch', f'{SCRATCH_SOUNDS}/Music Loops/Xylo3.mp3'),
    ('xylophone', 'scratch', f'{SCRATCH_SOUNDS}/Music Loops/xylo4.mp3'),
] + [('xylophone', 'gcompris-qt-data',
      f'{GCOMPRIS_RCC}/melody.rcc:gcompris/src/activities/melody/resource/'
      f'xylofon_son{i}.wav') for i in range(1, 5)]

# soundfont name -> (package, file)
SOUNDFONTS = {
    'fluidr3': ('fluid-soundfont-gm', 'usr/share/sounds/sf2/FluidR3_GM.sf2'),
    'timgm6mb': ('timgm6mb-soundfont', 'usr/share/sounds/sf2/TimGM6mb.sf2'),
    'musescore': ('musescore-general-soundfont',
                  'usr/share/sounds/sf3/MuseScore_General_Full.sf3'),
}
# class -> (GM programs, lowest and highest MIDI note, phrase kind);
# programs None: the GM percussion channel with these notes
RENDER_SPECS = {
    'violin': ((40, ), (55, 88), 'legato'),
    'cello': ((42, ), (36, 69), 'legato'),
    'guitar': ((24, 25), (40, 76), 'plucked'),
    'bass': ((33, 34), (28, 52), 'plucked'),
    'banjo': ((105, ), (48, 79), 'plucked'),
    'xylophone': ((13, ), (65, 96), 'struck'),
    'accordion': ((21, ), (53, 81), 'chords'),
    'piano': ((0, ), (36, 90), 'chords'),
    'tuba': ((58, ), (29, 53), 'legato'),
    'trumpet': ((56, ), (55, 82), 'legato'),
    'bassoon': ((70, ), (34, 65), 'legato'),
    'flute': ((73, ), (60, 93), 'legato'),
    'clarinet': ((71, ), (50, 84), 'legato'),
    'saxophone': ((65, 66), (49, 80), 'legato'),
    'drum': (None, (36, 38, 40, 41, 42, 43, 45, 46, 47, 48, 49, 51),
             'kit'),
    'congas': (None, (60, 61, 62, 63, 64), 'hand'),
}
RENDERS_PER_CLASS = 8
PERCUSSION_CHANNEL = 9
MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)

# (package, source) of the backgrounds; the gcompris folders' README
# gives each photo's licence
BACKGROUND_GLOBS = [
    ('gcompris-qt-data', f'{GCOMPRIS_RCC}/explore_monuments.rcc:'
     'gcompris/src/activities/explore_monuments/resource/*/*.webp'),
    ('gcompris-qt-data', f'{GCOMPRIS_RCC}/categorization.rcc:'
     'gcompris/src/activities/categorization/resource/images/monuments/'
     '*.webp'),
    ('mate-backgrounds', 'usr/share/backgrounds/mate/nature/*.jpg'),
    ('scratch', f'{SCRATCH_MEDIA}/Backgrounds/Nature/*.jpg'),
    ('scratch', f'{SCRATCH_MEDIA}/Backgrounds/Outdoors/*.jpg'),
]
# (looked at one by one) photos with animals or people in them, murals,
# drawings, maps and icons
BACKGROUND_EXCLUDE = ('LadyBird', 'TwoWings', 'Blinds', '*-map*', 'key*',
                      '*mural*', 'graffiti', 'woods-and-bench',
                      'brick-wall1', 'school2', 'canyon', 'castle')


class AssetError(RuntimeError):
    """A package file missing or unusable."""


# --------------------------------------------------------------------------
# reading sources


class PackageTree:
    """Reads sources out of a folder of extracted packages.

    Args:
        packages_dir (str): One folder per package.
    """

    def __init__(self, packages_dir: str):
        self.root = packages_dir
        self._rcc = {}
        self._zip = {}
        self._icon_sets = {}

    def path(self, package: str, rel: str = '') -> str:
        return osp.join(self.root, package, rel)

    def has(self, package: str) -> bool:
        return osp.isdir(self.path(package))

    def version(self, package: str) -> str:
        path = self.path(package, '.version')
        if not osp.exists(path):
            return 'unknown'
        with open(path) as f:
            return f.read().strip()

    def rcc(self, package: str, rel: str) -> RccArchive:
        key = (package, rel)
        if key not in self._rcc:
            self._rcc[key] = RccArchive(self.path(package, rel))
        return self._rcc[key]

    def icon_set(self, package: str, rel: str) -> dict:
        """The parsed Iconify JSON icon set ``rel`` (read once)."""
        key = (package, rel)
        if key not in self._icon_sets:
            self._icon_sets[key] = json.loads(self.read(package, rel))
        return self._icon_sets[key]

    def zip(self, package: str, rel: str) -> zipfile.ZipFile:
        key = (package, rel)
        if key not in self._zip:
            self._zip[key] = zipfile.ZipFile(self.path(package, rel))
        return self._zip[key]

    def read(self, package: str, source: str) -> bytes:
        """The bytes of ``source`` (see the module docstring); raises
        :class:`AssetError` naming the package and the file."""
        rel, _, entry = source.partition(':')
        try:
            if entry and rel.endswith('.rcc'):
                return self.rcc(package, rel).read(entry)
            if entry:
                return self.zip(package, rel).read(entry)
            with open(self.path(package, rel), 'rb') as f:
                return f.read()
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as e:
            raise AssetError(f'{package}: cannot read {source}: {e}') from e

    def glob(self, package: str, pattern: str) -> List[str]:
        """The sources matching ``pattern`` (``fnmatch`` on the path, or on
        the entry name after ``file.rcc:``), sorted."""
        rel, _, entry = pattern.partition(':')
        if entry:
            if not osp.exists(self.path(package, rel)):
                return []
            names = self.rcc(package, rel).names()
            return sorted(f'{rel}:{n}' for n in names
                          if fnmatch.fnmatchcase(n, entry))
        folder = osp.dirname(rel)
        if not osp.isdir(self.path(package, folder)):
            return []
        return sorted(
            osp.join(folder, n)
            for n in os.listdir(self.path(package, folder))
            if fnmatch.fnmatchcase(n, osp.basename(rel)))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------
# licences


def _dep5_stanzas(text: str) -> List[Tuple[List[str], str]]:
    """(file patterns, licence) of each stanza of a machine-readable
    ``debian/copyright`` that has both."""
    stanzas = []
    for block in re.split(r'\n\s*\n', text):
        files = re.search(r'^Files:\s*(.*(?:\n[ \t].*)*)', block, re.M)
        licence = re.search(r'^Licen[sc]e:[ \t]*(\S.*)$', block, re.M)
        if files and licence:
            stanzas.append((files.group(1).split(), licence.group(1).strip()))
    return stanzas


def copyright_licence(text: str, rel: str = '') -> Optional[str]:
    """The licence that a ``copyright`` file gives to the installed file
    ``rel``: the last DEP-5 stanza whose pattern matches a tail of the
    path (upstream paths are shorter than installed ones), else the
    ``Files: *`` stanza's; None when the file has no DEP-5 stanza."""
    parts = rel.split('/')
    tails = ['/'.join(parts[i:]) for i in range(len(parts))] if rel else []
    found = None
    for patterns, licence in _dep5_stanzas(text):
        if any(p.startswith('debian/') for p in patterns):
            continue
        if '*' in patterns and found is None:
            found = licence
        if any(fnmatch.fnmatchcase(t, p) for p in patterns if p != '*'
               for t in tails):
            found = licence
    return found


# licences of the packages whose copyright file is not machine-readable
# (read from their /usr/share/doc/<pkg>/copyright)
PLAIN_COPYRIGHT_LICENCES = {
    'fluid-soundfont-gm': 'MIT',
    'musescore-general-soundfont': 'MIT (parts public domain or CC0)',
    'openclipart-png': 'public domain (Creative Commons Public Domain '
    'Dedication)',
}


def gcompris_readme_licences(text: str) -> Dict[str, str]:
    """File name -> licence from a GCompris resource ``README`` written as
    stanzas of ``Copyright:``, ``License:`` and ``Files:`` (or bare file
    names) lines; a ``Source:`` line is kept with the licence."""
    out = {}
    for block in re.split(r'\n\s*\n', text):
        licence = re.search(r'^License:\s*(.+)$', block, re.M)
        if not licence:
            continue
        words = [licence.group(1).strip()]
        for key in ('Copyright', 'Source'):
            m = re.search(rf'^{key}:\s*(.+)$', block, re.M)
            if m:
                words.append(f'{key.lower()}: {m.group(1).strip()}')
        for line in block.splitlines():
            line = line.strip()
            if line and ':' not in line and re.search(r'\.\w+$', line):
                out[line] = '; '.join(words)
    return out


class Licences:
    """The licence of each source file, from the packages' copyright files
    and GCompris's per-folder ``README`` and ``Licence.txt`` entries."""

    def __init__(self, tree: PackageTree):
        self.tree = tree
        self._text = {}
        self._readmes = {}

    def copyright_text(self, package: str) -> str:
        if package not in self._text:
            path = self.tree.path(package,
                                  f'usr/share/doc/{package}/copyright')
            self._text[package] = ''
            if osp.exists(path):
                with open(path, encoding='utf-8', errors='replace') as f:
                    self._text[package] = f.read()
        return self._text[package]

    def package(self, package: str) -> str:
        """The package's main licence (its ``Files: *`` stanza)."""
        text = self.copyright_text(package)
        stanzas = sorted({
            lic for patterns, lic in _dep5_stanzas(text)
            if not any(p.startswith('debian/') for p in patterns)
        })
        return (copyright_licence(text) or PLAIN_COPYRIGHT_LICENCES.get(package)
                or ' / '.join(stanzas) or self._npm_licence(package)
                or f'see /usr/share/doc/{package}/copyright')

    def _npm_licence(self, package: str) -> Optional[str]:
        """An npm package's ``license`` (``package/package.json``) with the
        author of an Iconify set (``package/info.json``), else None."""
        path = self.tree.path(package, 'package/package.json')
        if not osp.exists(path):
            return None
        with open(path) as f:
            licence = json.load(f).get('license')
        info = self.tree.path(package, 'package/info.json')
        if licence and osp.exists(info):
            with open(info) as f:
                author = json.load(f).get('author', {})
            if author.get('name'):
                licence += f"; author: {author['name']}"
                licence += f" ({author['url']})" if author.get('url') else ''
        return licence

    def _rcc_folder_licence(self, package: str, source: str):
        rel, _, entry = source.partition(':')
        rcc = self.tree.rcc(package, rel)
        folder, name = osp.split(entry)
        # the nearest README above the entry that names it
        while folder:
            for readme in ('README', 'Licence.txt'):
                key = (rel, f'{folder}/{readme}')
                if key not in self._readmes:
                    text = ''
                    if key[1] in rcc.entries():
                        text = rcc.read(key[1]).decode('utf-8', 'replace')
                    self._readmes[key] = (gcompris_readme_licences(text),
                                          text)
                table, text = self._readmes[key]
                sub = osp.relpath(entry, folder)
                if sub in table or name in table:
                    return table.get(sub, table.get(name))
                if readme == 'Licence.txt' and text:
                    return text.strip().splitlines()[0].strip()
            folder = osp.dirname(folder)
        return None

    def source(self, package: str, source: str) -> str:
        if ':' in source and source.split(':')[0].endswith('.rcc'):
            found = self._rcc_folder_licence(package, source)
            if found:
                return found
            if source.endswith('instruments/resource/drum_kit.ogg'):
                return 'Creative Commons Sampling Plus 1.0'
        rel, _, entry = source.split('#')[0].partition(':')
        if entry and not rel.endswith('.rcc'):
            # a zip's entries count as files of a folder named after it
            rel = f'{osp.splitext(rel)[0]}/{osp.basename(entry)}'
        licence = (copyright_licence(self.copyright_text(package), rel)
                   or self.package(package))
        creator = sh3d_creator(self.tree, package, source)
        return f'{licence}; creator: {creator}' if creator else licence


def sh3d_creator(tree: PackageTree, package: str,
                 source: str) -> Optional[str]:
    """The ``creator#N`` of the Sweet Home 3D catalogue entry whose
    ``icon#N`` is ``source`` (``<file.sh3f>:<icon entry>``), else None."""
    rel, _, entry = source.partition(':')
    if not rel.endswith('.sh3f'):
        return None
    catalogue = tree.read(package, f'{rel}:PluginFurnitureCatalog.properties')
    lines = catalogue.decode('latin-1').splitlines()
    ids = [ln.split('=')[0][len('icon#'):] for ln in lines
           if ln.startswith('icon#') and ln.split('=', 1)[1] == f'/{entry}']
    for ln in lines:
        if ids and ln.startswith(f'creator#{ids[0]}='):
            return ln.split('=', 1)[1].strip()
    return None


# --------------------------------------------------------------------------
# pictures


def alpha_crop(rgba: np.ndarray, threshold: int = 8) -> np.ndarray:
    """Crop an RGBA picture to the bounding box of its alpha.

    Args:
        rgba (np.ndarray): ``[H, W, 4]`` uint8.
        threshold (int): Alpha values up to this count as transparent.

    Returns:
        np.ndarray: ``[h, w, 4]``, the rows and columns from the first to
        the last with an alpha above ``threshold``.
    """
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(f'expected [H, W, 4] RGBA, got {rgba.shape}')
    opaque = rgba[..., 3] > threshold
    if not opaque.any():
        raise ValueError('picture is fully transparent')
    rows = np.flatnonzero(opaque.any(1))
    cols = np.flatnonzero(opaque.any(0))
    return rgba[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def fit_longest(rgba: np.ndarray, size: int = PICTURE_SIZE) -> np.ndarray:
    """Resize ``[H, W, 4]`` so that its longest side is ``size`` (area
    interpolation on premultiplied colour, so transparent pixels' colours
    do not bleed into the edges)."""
    import cv2
    h, w = rgba.shape[:2]
    scale = size / max(h, w)
    out_hw = (max(1, round(w * scale)), max(1, round(h * scale)))
    alpha = rgba[..., 3:].astype(np.float32) / 255
    premul = np.concatenate([rgba[..., :3] * alpha, alpha * 255], axis=2)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    res = cv2.resize(premul, out_hw, interpolation=interp)
    a = np.clip(res[..., 3:], 0, 255)
    rgb = np.where(a > 0, res[..., :3] / np.maximum(a / 255, 1e-6), 0)
    return np.concatenate([np.clip(rgb, 0, 255), a], axis=2).round().astype(
        np.uint8)


def background_alpha(rgb: np.ndarray, tolerance: int = 18) -> np.ndarray:
    """Alpha for a picture on a plain light background: 0 on the
    near-white pixels connected to the border, 255 elsewhere.

    Args:
        rgb (np.ndarray): ``[H, W, 3]`` uint8.
        tolerance (int): How far below 255 a channel may be to count as
            background.

    Returns:
        np.ndarray: ``[H, W]`` uint8.
    """
    from scipy import ndimage
    light = (rgb >= 255 - tolerance).all(axis=2)
    labels, _ = ndimage.label(light)
    border = np.unique(
        np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    background = np.isin(labels, border[border > 0])
    return np.where(background, 0, 255).astype(np.uint8)


def decode_picture(data: bytes, source: str) -> np.ndarray:
    """``[H, W, 4]`` uint8 RGBA from PNG/GIF/WebP/JPEG bytes, or SVG bytes
    rendered by ``rsvg-convert``. A picture without any transparency gets
    its alpha from :func:`background_alpha`."""
    from PIL import Image
    if source.endswith(('.svg', '.svgz')):
        data = render_svg(data, source)
    img = Image.open(io.BytesIO(data))
    img.load()
    rgba = np.asarray(img.convert('RGBA')).copy()
    if (rgba[..., 3] == 255).all():
        rgba[..., 3] = background_alpha(rgba[..., :3])
    return rgba


def render_svg(data: bytes, source: str, size: int = 4 * PICTURE_SIZE):
    """PNG bytes of an SVG drawn ``size`` pixels wide or high (the longer
    side) by ``rsvg-convert`` (Debian ``librsvg2-bin``)."""
    exe = shutil.which('rsvg-convert')
    if exe is None:
        raise AssetError('rsvg-convert not found: apt-get install '
                         'librsvg2-bin')
    if source.endswith('.svgz'):
        data = zlib.decompress(data, 16 + zlib.MAX_WBITS)
    proc = subprocess.run(
        [exe, '-w', str(size), '-h', str(size), '-a', '-f', 'png'],
        input=data,
        capture_output=True)
    if proc.returncode:
        raise AssetError(f'rsvg-convert failed on {source}: '
                         f'{proc.stderr.decode(errors="replace").strip()}')
    return proc.stdout


def iconify_svg(data: dict, name: str, source: str) -> bytes:
    """The SVG of icon ``name`` of a parsed Iconify JSON icon set: its
    ``body`` in a ``viewBox`` of its own or the set's size (an alias
    without transformations is followed to its parent)."""
    aliases = data.get('aliases', {})
    while name not in data['icons'] and name in aliases:
        if set(aliases[name]) != {'parent'}:
            raise AssetError(f'{source}: alias {name} transforms its parent')
        name = aliases[name]['parent']
    if name not in data['icons']:
        raise AssetError(f'{source}: no icon {name}')
    icon = data['icons'][name]
    box = ' '.join(
        str(icon.get(k, data.get(k, default)))
        for k, default in (('left', 0), ('top', 0), ('width', 16),
                           ('height', 16)))
    return ('<svg xmlns="http://www.w3.org/2000/svg" '
            'xmlns:xlink="http://www.w3.org/1999/xlink" '
            f'viewBox="{box}">{icon["body"]}</svg>').encode()


def render_emoji(font_path: str, codepoint: int) -> np.ndarray:
    """``[H, W, 4]`` uint8 of one emoji: in colour from a CBDT font (Noto
    Color Emoji has bitmaps at 109 px only), black from an outline font
    (Symbola). Raises :class:`AssetError` when the font lacks the glyph
    (draws its ``.notdef`` box)."""
    from PIL import Image, ImageDraw, ImageFont
    colour = 'color' in osp.basename(font_path).lower()
    size = 109 if colour else 224
    font = ImageFont.truetype(font_path, size)
    char = chr(codepoint)
    mask = font.getmask(char)
    notdef = font.getmask(chr(0x10FFFD))
    if mask.getbbox() is None or (mask.size == notdef.size
                                  and bytes(mask) == bytes(notdef)):
        raise AssetError(f'{font_path} has no glyph U+{codepoint:04X}')
    canvas = Image.new('RGBA', (size * 3 // 2, size * 3 // 2), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).text((size // 8, size // 8),
                                char,
                                font=font,
                                fill=(0, 0, 0, 255),
                                embedded_color=colour)
    return np.asarray(canvas).copy()


def compose_xylophone(tree: PackageTree, package: str, frame_source: str):
    """(source bytes, ``[H, W, 4]``) of GCompris's xylophone: the frame
    ``xylofon.svg`` with ``xylofon_part1..4.svg`` drawn half the frame's
    width, turned 80 degrees and placed as ``melody/Melody.qml`` places
    them (x offsets -0.3 + 0.22 i of the width, 0.1 of the height up)."""
    from PIL import Image
    frame_svg = tree.read(package, frame_source)
    frame = Image.open(io.BytesIO(render_svg(frame_svg, frame_source)))
    frame = frame.convert('RGBA')
    w, h = frame.size
    data = [frame_svg]
    canvas = Image.new('RGBA', (2 * w, 2 * h), (0, 0, 0, 0))
    canvas.alpha_composite(frame, (w // 2, h // 2))
    for i in range(4):
        src = frame_source.replace('xylofon.svg', f'xylofon_part{i + 1}.svg')
        svg = tree.read(package, src)
        data.append(svg)
        part = Image.open(io.BytesIO(render_svg(svg, src, size=w // 2)))
        part = part.convert('RGBA').rotate(80, Image.BICUBIC, expand=True)
        cx = w + round((-0.3 + 0.22 * i) * w)
        cy = h - round(0.1 * h)
        canvas.alpha_composite(part, (cx - part.width // 2,
                                      cy - part.height // 2))
    return b''.join(data), np.asarray(canvas).copy()


def encode_png(rgba: np.ndarray) -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(rgba, 'RGBA').save(buf, format='PNG', optimize=True)
    return buf.getvalue()


def normalise_picture(tree: PackageTree, package: str, source: str):
    """(source bytes, PNG bytes) of one picture: RGBA, cropped to its
    alpha, longest side :data:`PICTURE_SIZE`."""
    if source.endswith('+parts'):
        data, rgba = compose_xylophone(tree, package, source[:-len('+parts')])
    elif '#U+' in source:
        rel, code = source.split('#U+')
        data = tree.read(package, rel)
        rgba = render_emoji(tree.path(package, rel), int(code, 16))
        data = data + code.encode()  # the glyph's identity
    elif '.json#' in source:
        rel, name = source.split('#')
        data = iconify_svg(tree.icon_set(package, rel), name, source)
        rgba = decode_picture(render_svg(data, source), source)
    else:
        data = tree.read(package, source)
        rgba = decode_picture(data, source)
    try:
        rgba = alpha_crop(rgba)
    except ValueError as e:
        raise AssetError(f'{package}: {source}: {e}') from e
    return data, encode_png(fit_longest(rgba))


def normalise_background(data: bytes, source: str,
                         size: int = BACKGROUND_SIZE) -> bytes:
    """JPEG bytes of a photo resized so that its short side is ``size``."""
    import cv2
    from PIL import Image
    img = Image.open(io.BytesIO(data))
    img.load()
    rgb = np.asarray(img.convert('RGB'))
    h, w = rgb.shape[:2]
    scale = size / min(h, w)
    rgb = cv2.resize(rgb, (round(w * scale), round(h * scale)),
                     interpolation=cv2.INTER_AREA)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format='JPEG', quality=92)
    return buf.getvalue()


# --------------------------------------------------------------------------
# audio


def to_int16_wav(audio: np.ndarray, sample_rate: int = SAMPLE_RATE,
                 peak: float = 0.9) -> bytes:
    """Mono 16-bit PCM WAV bytes of ``[T]`` float audio peak-normalised to
    ``peak`` (raises on silence)."""
    audio = np.asarray(audio, dtype=np.float64)
    top = np.abs(audio).max() if audio.size else 0
    if top < 1e-6:
        raise ValueError('audio is silent')
    pcm = np.round(audio / top * peak * 32767).astype('<i2')
    buf = io.BytesIO()
    with wave.open(buf, 'wb') as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def trim_silence(audio: np.ndarray, sample_rate: int, top_db: float = 45):
    """Drop leading and trailing samples more than ``top_db`` below the
    peak (keeping 20 ms either side)."""
    level = np.abs(audio)
    keep = np.flatnonzero(level > level.max() * 10**(-top_db / 20))
    pad = sample_rate // 50
    return audio[max(0, keep[0] - pad):keep[-1] + pad + 1]


def decode_audio(data: bytes, source: str,
                 sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """``[T]`` float32 mono at ``sample_rate`` from Ogg/WAV/MP3 bytes."""
    import soundfile
    import soxr
    try:
        audio, sr = soundfile.read(io.BytesIO(data), dtype='float32',
                                   always_2d=True)
    except RuntimeError as e:
        # LibsndfileError's str() names the BytesIO object
        why = getattr(e, 'error_string', None) or str(e)
        raise AssetError(f'cannot decode {source}: {why}') from e
    audio = audio.mean(axis=1)
    if sr != sample_rate:
        audio = soxr.resample(audio, sr, sample_rate)
    return trim_silence(audio, sample_rate)


# --------------------------------------------------------------------------
# soundfont renders


def _seed(*parts) -> int:
    return zlib.crc32('/'.join(map(str, parts)).encode())


def phrase_events(cls: str, k: int) -> Tuple[List[tuple], float, int]:
    """The notes of phrase ``k`` of ``cls``: ``(start s, duration s, MIDI
    note, velocity)`` tuples, the phrase length in seconds and the GM
    program (-1 for the percussion channel). Deterministic per
    (class, k): registers, rhythms, velocities and programs vary with k."""
    programs, notes, kind = RENDER_SPECS[cls]
    rng = np.random.default_rng(_seed(cls, k))
    length = float(rng.choice([2.0, 2.5, 3.0, 3.5, 4.0]))
    events = []
    if programs is None:
        beat = float(rng.choice([0.125, 0.1667, 0.25]))
        pattern = rng.choice(notes, size=int(rng.integers(3, 7)))
        t = 0.0
        while t < length - 0.3:
            for i, note in enumerate(pattern):
                start = t + i * beat
                if start >= length - 0.3:
                    break
                if rng.random() < 0.8:
                    events.append((start, beat, int(note),
                                   int(rng.integers(60, 127))))
            t += len(pattern) * beat
            if kind == 'kit' and t < length - 0.3 and rng.random() < 0.5:
                events.append((t, beat, 49, 110))  # crash on the bar
        return events, length, -1
    program = int(programs[k % len(programs)])
    low, high = notes
    # phrase k sits in one of four registers
    span = high - low
    centre = low + span * (0.2 + 0.6 * ((k * 3) % 4) / 3)
    scale = MAJOR if rng.random() < 0.6 else MINOR
    tonic = int(round(centre)) - int(rng.integers(0, 12))
    pitches = [tonic + 12 * o + s for o in range(-2, 3) for s in scale]
    pitches = [p for p in pitches if low <= p <= high]
    beat = float(rng.choice([0.2, 0.25, 0.3, 0.4]))
    durs = {'legato': (2, 4), 'plucked': (1, 2), 'struck': (1, 2),
            'chords': (2, 4)}[kind]
    t = 0.0
    i = int(np.argmin([abs(p - centre) for p in pitches]))
    base_vel = int(rng.integers(55, 110))
    while t < length - 0.4:
        n_beats = int(rng.integers(durs[0], durs[1] + 1))
        dur = n_beats * beat
        vel = int(np.clip(base_vel + rng.integers(-15, 16), 30, 127))
        chord = [i]
        if kind == 'chords' and rng.random() < 0.6:
            chord += [j for j in (i + 2, i + 4) if j < len(pitches)]
        if kind == 'plucked' and rng.random() < 0.3:
            chord += [j for j in (i + 2, i + 4) if j < len(pitches)]
        for j, idx in enumerate(chord):
            # strums spread the chord's notes a little in time
            lag = 0.02 * j if kind == 'plucked' else 0.0
            events.append((t + lag, dur * (0.95 if kind == 'legato' else 1),
                           pitches[idx], vel))
        t += dur
        i = int(np.clip(i + rng.integers(-2, 3), 0, len(pitches) - 1))
    return events, length, program


class SoundfontRenderer:
    """Renders phrases with one soundfont through pyfluidsynth (in
    process; Debian ``libfluidsynth3``).

    Args:
        sf_path (str): ``.sf2`` or ``.sf3`` file.
    """

    def __init__(self, sf_path: str, sample_rate: int = SAMPLE_RATE):
        try:
            import fluidsynth
        except ImportError as e:
            raise AssetError('pyfluidsynth is needed for the soundfont '
                             'renders: pip install pyfluidsynth (and '
                             'apt-get install libfluidsynth3)') from e
        self.sample_rate = sample_rate
        self.synth = fluidsynth.Synth(
            gain=0.5, samplerate=sample_rate, **{
                'synth.reverb.active': 0,
                'synth.chorus.active': 0,
                'synth.cpu-cores': 1
            })
        self.sfid = self.synth.sfload(sf_path)
        if self.sfid < 0:
            raise AssetError(f'fluidsynth cannot load {sf_path}')

    def preset_name(self, program: int) -> str:
        bank, prog = (128, 0) if program < 0 else (0, program)
        return self.synth.sfpreset_name(self.sfid, bank, prog) or ''

    def render(self, events: Sequence[tuple], length: float,
               program: int) -> np.ndarray:
        """``[T]`` float32 mono of ``events`` (see :func:`phrase_events`),
        ``length`` seconds."""
        ch = PERCUSSION_CHANNEL if program < 0 else 0
        bank, prog = (128, 0) if program < 0 else (0, program)
        self.synth.program_select(ch, self.sfid, bank, prog)
        timeline = sorted([(s, 1, n, v) for s, d, n, v in events] +
                          [(s + d, 0, n, 0) for s, d, n, v in events])
        total = int(round(length * self.sample_rate))
        chunks, done = [], 0
        for t, on, note, vel in timeline:
            at = min(total, int(round(t * self.sample_rate)))
            if at > done:
                chunks.append(self.synth.get_samples(at - done))
                done = at
            if on:
                self.synth.noteon(ch, note, vel)
            else:
                self.synth.noteoff(ch, note)
        if total > done:
            chunks.append(self.synth.get_samples(total - done))
        self.synth.all_sounds_off(ch)
        self.synth.get_samples(self.sample_rate // 4)  # flush the voices
        stereo = np.concatenate(chunks).reshape(-1, 2).astype(np.float32)
        return stereo.mean(axis=1) / 32768


# --------------------------------------------------------------------------
# the asset tree


def _name(source: str) -> str:
    if '#U+' in source:
        return 'u' + source.split('#U+')[1].lower()
    if '.json#' in source:
        return source.split('#')[1].replace('-', '_')
    base = osp.splitext(osp.basename(source.split(':')[-1]))[0]
    return re.sub(r'[^A-Za-z0-9]+', '_', base).strip('_').lower()


SOURCE_TAGS = {
    'tuxpaint-stamps-default': 'tuxpaint',
    'gcompris-qt-data': 'gcompris',
    'fonts-noto-color-emoji': 'noto',
    'openclipart-png': 'openclipart',
    'mate-backgrounds': 'mate',
    'lomiri-wallpapers': 'lomiri',
    'scratch': 'scratch',
    'fonts-symbola': 'symbola',
    'scikit-image': 'skimage',
    'ruby-gemojione': 'emojione',
    'libjs-emojify': 'emojify',
    'sweethome3d-furniture': 'sh3d',
    'hydrogen-data': 'hydrogen',
}


def source_tag(package: str) -> str:
    """The prefix of a package's files in the asset tree: its entry in
    :data:`SOURCE_TAGS`, else its name without an npm scope
    (``@iconify-json/fluent-emoji`` -> ``fluent-emoji``)."""
    return SOURCE_TAGS.get(package, package.split('/')[-1])


class AssetWriter:
    """Writes normalised files under ``out_dir`` and records their manifest
    entries; a file whose previous manifest entry has the same source
    SHA-256 and whose bytes on disk still match is kept as it is."""

    def __init__(self, out_dir: str, tree: PackageTree, licences: Licences,
                 log: Callable[[str], None] = print):
        self.out_dir = out_dir
        self.tree = tree
        self.licences = licences
        self.log = log
        self.files = {}
        self.previous = {}
        path = osp.join(out_dir, 'manifest.json')
        if osp.exists(path):
            with open(path) as f:
                self.previous = {e['path']: e for e in json.load(f)['files']}

    def reusable(self, rel: str, source_sha: str) -> bool:
        old = self.previous.get(rel)
        path = osp.join(self.out_dir, rel)
        return (old is not None and old['sha256_source'] == source_sha
                and osp.exists(path) and file_sha256(path) == old['sha256'])

    def add(self, rel: str, package: str, source: str, source_sha: str,
            make: Callable[[], bytes]) -> None:
        """Write ``make()`` to ``rel`` unless reusable; record it."""
        path = osp.join(self.out_dir, rel)
        if self.reusable(rel, source_sha):
            digest = self.previous[rel]['sha256']
        else:
            data = make()
            os.makedirs(osp.dirname(path), exist_ok=True)
            with open(path, 'wb') as f:
                f.write(data)
            digest = sha256(data)
        self.files[rel] = dict(
            path=rel,
            package=package,
            package_version=self.tree.version(package),
            licence=self.licences.source(package, source.split('#')[0]),
            source_file=source,
            sha256_source=source_sha,
            sha256=digest)


def _progress(log, i, n, what):
    if n and (i + 1 == n or (i + 1) % max(1, n // 10) == 0):
        log(f'  {what}: {i + 1}/{n}')


def build_pictures(writer: AssetWriter, specs=PICTURES, log=print):
    """Normalise the pictures of ``specs``; returns class -> entries and
    the list of skipped sources with the reason."""
    out, skipped = {}, []
    for i, (cls, style, package, source, *name) in enumerate(specs):
        _progress(log, i, len(specs), 'pictures')
        if not writer.tree.has(package):
            skipped.append((source, f'package {package} not installed'))
            continue
        rel = (f'pictures/{cls}/{source_tag(package)}_'
               f'{name[0] if name else _name(source)}.png')
        if rel in writer.files:
            raise AssetError(f'{source} and {writer.files[rel]["source_file"]}'
                             f' both normalise to {rel}: give one a name')
        try:
            data, png = normalise_picture(writer.tree, package, source)
        except AssetError as e:
            skipped.append((source, str(e)))
            log(f'  skipped: {e}')
            continue
        writer.add(rel, package, source, sha256(data), lambda: png)
        out.setdefault(cls, []).append(
            dict(path=rel, style=style, source=package))
    return out, skipped


def build_recordings(writer: AssetWriter, specs=RECORDINGS, log=print):
    """Normalise the recordings; returns class -> entries and skips."""
    out, skipped = {}, []
    for i, (cls, package, source) in enumerate(specs):
        _progress(log, i, len(specs), 'recordings')
        if not writer.tree.has(package):
            skipped.append((source, f'package {package} not installed'))
            continue
        rel = (f'recordings/{cls}/{source_tag(package)}_'
               f'{_name(source)}.wav')
        try:
            data = writer.tree.read(package, source)
            src_sha = sha256(data)
            writer.add(
                rel, package, source, src_sha,
                lambda: to_int16_wav(decode_audio(data, source)))
        except (AssetError, ValueError) as e:
            skipped.append((source, str(e)))
            log(f'  skipped {package}: {source}: {e}')
            continue
        out.setdefault(cls, []).append(dict(path=rel, source=package))
    return out, skipped


def build_renders(writer: AssetWriter, classes=CANDIDATE_CLASSES,
                  soundfonts=SOUNDFONTS, per_class=RENDERS_PER_CLASS,
                  log=print):
    """Render ``per_class`` phrases per class with each soundfont; returns
    class -> soundfont -> paths, and soundfont -> class -> preset names
    (the soundfont's own name of each program used)."""
    out, presets = {}, {}
    for name, (package, rel_sf) in soundfonts.items():
        if not writer.tree.has(package):
            log(f'  no {package}: no {name} renders')
            continue
        sf_path = writer.tree.path(package, rel_sf)
        sf_sha = file_sha256(sf_path)
        renderer = None
        presets[name] = {}
        for i, cls in enumerate(classes):
            _progress(log, i, len(classes), f'renders {name}')
            names = set()
            for k in range(per_class):
                events, length, program = phrase_events(cls, k)
                spec = json.dumps([events, length, program])
                rel = f'renders/{name}/{cls}/{k}.wav'
                src_sha = sha256(sf_sha.encode() + spec.encode())
                if renderer is None and not writer.reusable(rel, src_sha):
                    renderer = SoundfontRenderer(sf_path)

                def make(events=events, length=length, program=program):
                    return to_int16_wav(
                        renderer.render(events, length, program))

                writer.add(rel, package,
                           f'{rel_sf}#program={program}/phrase={k}',
                           src_sha, make)
                out.setdefault(cls, {}).setdefault(name, []).append(rel)
                if renderer is not None:
                    names.add(renderer.preset_name(program))
            presets[name][cls] = sorted(names)
    return out, presets


def _thumbnail(jpeg: bytes) -> np.ndarray:
    """A zero-mean, unit-norm 16x16 grey thumbnail (``[256]``) of a
    picture, to find the same photo shipped twice."""
    import cv2
    grey = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    v = cv2.resize(grey, (16, 16), interpolation=cv2.INTER_AREA).ravel()
    v = v.astype(np.float64) - v.mean()
    return v / max(np.linalg.norm(v), 1e-6)


def build_backgrounds(writer: AssetWriter, globs=BACKGROUND_GLOBS,
                      exclude=BACKGROUND_EXCLUDE, duplicate: float = 0.95,
                      log=print):
    """Normalise every photo matching ``globs`` (minus ``exclude``); a
    photo whose thumbnail correlates above ``duplicate`` with an earlier
    one, or whose name an earlier one has (GCompris ships some monuments
    in two activities), is skipped, so that a held-out background never
    has a copy in training. Returns the
    entries and the skipped sources with the reason."""
    sources = []
    for package, pattern in globs:
        if writer.tree.has(package):
            sources += [(package, s) for s in writer.tree.glob(package,
                                                                pattern)]
    out, skipped, thumbs = [], [], []
    for i, (package, source) in enumerate(sources):
        _progress(log, i, len(sources), 'backgrounds')
        base = osp.splitext(osp.basename(source))[0]
        if any(fnmatch.fnmatchcase(base, p) for p in exclude):
            continue
        rel = (f'backgrounds/{source_tag(package)}_'
               f'{_name(source)}.jpg')
        data = writer.tree.read(package, source)
        jpeg = normalise_background(data, source)
        thumb = _thumbnail(jpeg)
        match = [j for j, t in enumerate(thumbs) if t @ thumb > duplicate]
        if match:
            skipped.append((source, f'same photo as {out[match[0]]["path"]}'))
            continue
        if any(b['path'] == rel for b in out):
            # the same monument in two GCompris activities (often the same
            # photo, else another photo of it)
            skipped.append((source, f'another photo of {rel}'))
            continue
        thumbs.append(thumb)
        writer.add(rel, package, source, sha256(data), lambda: jpeg)
        out.append(dict(path=rel, source=package))
    return out, skipped


def make_index(pictures: dict, recordings: dict, renders: dict,
               backgrounds: list, candidates=CANDIDATE_CLASSES,
               min_styles: int = 2) -> dict:
    """The ``index.json`` dict: the candidate classes with a real sound
    (a render or a recording) and at least ``min_styles`` picture styles;
    the others, and the f-Music classes never available, are listed in
    ``excluded_classes`` with the reason."""
    classes, excluded = {}, dict(NEVER_AVAILABLE)
    for cls in candidates:
        pics = pictures.get(cls, [])
        styles = sorted({p['style'] for p in pics})
        sounds = recordings.get(cls, []) or any(renders.get(cls, {}).values())
        if len(styles) < min_styles:
            excluded[cls] = (f'pictures in {len(styles)} style(s) '
                             f'({", ".join(styles) or "none"}); '
                             f'{min_styles} needed')
            continue
        if not sounds:
            excluded[cls] = 'no recording and no soundfont render'
            continue
        classes[cls] = dict(
            super_category=SUPER_CATEGORIES[cls],
            pictures=sorted(pics, key=lambda p: p['path']),
            recordings=sorted(recordings.get(cls, []),
                              key=lambda r: r['path']),
            renders={k: sorted(v)
                     for k, v in sorted(renders.get(cls, {}).items())})
    return dict(
        classes=classes,
        backgrounds=sorted(backgrounds, key=lambda b: b['path']),
        excluded_classes=dict(sorted(excluded.items())))


def write_json(path: str, obj) -> None:
    with open(path, 'w') as f:
        json.dump(obj, f, indent=1, sort_keys=False)
        f.write('\n')


def build_asset_tree(packages_dir: str, out_dir: str, *,
                     pictures=PICTURES, recordings=RECORDINGS,
                     soundfonts=SOUNDFONTS, backgrounds=BACKGROUND_GLOBS,
                     renders_per_class: int = RENDERS_PER_CLASS,
                     min_styles: int = 2,
                     log: Callable[[str], None] = print) -> dict:
    """Normalise the packages in ``packages_dir`` into ``out_dir`` and
    write ``index.json`` and ``manifest.json``; files of an earlier run
    that are no longer produced are removed.

    Returns:
        dict: The index.
    """
    os.makedirs(out_dir, exist_ok=True)
    tree = PackageTree(packages_dir)
    writer = AssetWriter(out_dir, tree, Licences(tree), log)
    pics, skipped_pics = build_pictures(writer, pictures, log)
    recs, skipped_recs = build_recordings(writer, recordings, log)
    rends, presets = build_renders(
        writer, soundfonts=soundfonts, per_class=renders_per_class, log=log)
    bgs, skipped_bgs = build_backgrounds(writer, backgrounds, log=log)
    index = make_index(pics, recs, rends, bgs, min_styles=min_styles)
    for rel in set(writer.previous) - set(writer.files):
        if osp.exists(osp.join(out_dir, rel)):
            os.remove(osp.join(out_dir, rel))
    used = {p for e in writer.files.values() for p in [e['package']]}
    packages = {
        p: dict(version=tree.version(p), licence=writer.licences.package(p))
        for p in sorted(used)
    }
    write_json(osp.join(out_dir, 'index.json'), index)
    write_json(
        osp.join(out_dir, 'manifest.json'),
        dict(packages=packages,
             soundfont_presets=presets,
             skipped=[dict(source=s, reason=r)
                      for s, r in skipped_pics + skipped_recs + skipped_bgs],
             files=[writer.files[k] for k in sorted(writer.files)]))
    return index
