"""Install the sr-Music assets and normalise them into an asset tree.

Data-only Debian packages are fetched with ``apt-get download`` and
unpacked with ``dpkg-deb -x`` under ``<out>/packages/<pkg>/`` (nothing is
installed system-wide); the npm packages of Iconify icon sets are fetched
from the npm registry at pinned versions, checked against the registry's
SHA-512 and unpacked the same way (``<out>/packages/@iconify-json/<set>/``);
the tools (``librsvg2-bin`` for ``rsvg-convert``,
``libfluidsynth3``) are ``apt-get install``-ed when missing and PyPI
``pyfluidsynth`` is pip-installed into this Python. Every step skips what
is already there, so a second run only re-checks. The asset tree is
``<out>/semireal/`` (``index.json``, ``manifest.json``; see
``docs/semireal.md`` section 1); the icons of the same Iconify sets that
show no instrument are rendered into ``<out>/concepts/``, the generic
picture-text corpus of the stand-in CLIP
(``rassu_mm/datasets/concept_pictures.py``).

Example::

    python tools/dataset_converters/semireal_assets.py            # all
    python tools/dataset_converters/semireal_assets.py --skip-install
"""
import argparse
import base64
import ctypes.util
import glob
import hashlib
import importlib.util
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import tarfile
import time
import urllib.request

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from rassu_mm.datasets import semireal_assets as sa  # noqa: E402
from rassu_mm.datasets.concept_pictures import \
    build_concept_tree  # noqa: E402
from rassu_mm.datasets.semireal import STYLE_WORDS  # noqa: E402

# data-only packages: unpacked, never installed
DATA_PACKAGES = (
    'fluid-soundfont-gm',
    'timgm6mb-soundfont',
    'musescore-general-soundfont',
    'gcompris-qt-data',
    'tuxpaint-stamps-default',
    'fonts-noto-color-emoji',
    'openclipart-png',
    'mate-backgrounds',
    'scratch',
    'fonts-symbola',
    'ruby-gemojione',
    'libjs-emojify',
    'sweethome3d-furniture',
    'hydrogen-data',
)
# npm packages (Iconify JSON icon sets), pinned: name -> version
NPM_PACKAGES = {
    '@iconify-json/twemoji': '1.2.5',
    '@iconify-json/openmoji': '1.2.29',
    '@iconify-json/fluent-emoji': '1.2.7',
    '@iconify-json/fluent-emoji-high-contrast': '1.2.6',
    '@iconify-json/noto-v1': '1.2.5',
    '@iconify-json/emojione-v1': '1.2.3',
    '@iconify-json/fxemoji': '1.2.2',
    '@iconify-json/streamline-emojis': '1.2.4',
    '@iconify-json/game-icons': '1.2.4',
    '@iconify-json/mdi': '1.2.3',
}
NPM_REGISTRY = 'https://registry.npmjs.org'
# Debian packages providing a tool: (package, check)
TOOL_PACKAGES = (
    ('librsvg2-bin', lambda: shutil.which('rsvg-convert') is not None),
    ('libfluidsynth3', lambda: ctypes.util.find_library('fluidsynth')),
)
PIP_PACKAGES = (('pyfluidsynth', 'fluidsynth'), )


def log(msg: str) -> None:
    print(msg, flush=True)


def run(cmd, cwd=None) -> None:
    """Run ``cmd``; on failure exit with its last lines of output."""
    log('  $ ' + ' '.join(cmd))
    proc = subprocess.run(
        cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if proc.returncode:
        tail = proc.stdout.decode(errors='replace').strip().splitlines()[-5:]
        sys.exit(f'error: {" ".join(cmd)} failed ({proc.returncode}):\n' +
                 '\n'.join(tail))


def apt(args, cwd=None) -> None:
    """Run ``apt-get ARGS``; when it fails, refresh the package lists
    (``apt-get update``, once per run) and try again."""
    proc = subprocess.run(['apt-get', *args], cwd=cwd,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if proc.returncode:
        if not apt.updated:
            run(['apt-get', 'update'])
            apt.updated = True
        run(['apt-get', *args], cwd=cwd)


apt.updated = False


def unpack_package(package: str, debs_dir: str, packages_dir: str) -> None:
    """``apt-get download`` + ``dpkg-deb -x`` one package (skipped when
    ``packages_dir/package/.version`` exists)."""
    target = osp.join(packages_dir, package)
    if osp.exists(osp.join(target, '.version')):
        log(f'  {package}: unpacked already')
        return
    debs = glob.glob(osp.join(debs_dir, f'{package}_*.deb'))
    if not debs:
        if shutil.which('apt-get') is None:
            sys.exit(f'error: {package}: apt-get not found (a Debian or '
                     'Ubuntu machine is needed, or put the .deb in '
                     f'{debs_dir})')
        apt(['download', package], cwd=debs_dir)
        debs = glob.glob(osp.join(debs_dir, f'{package}_*.deb'))
        if not debs:
            sys.exit(f'error: apt-get download {package} left no .deb in '
                     f'{debs_dir}')
    deb = sorted(debs)[-1]
    version = subprocess.run(['dpkg-deb', '-f', deb, 'Version'],
                             capture_output=True,
                             text=True,
                             check=True).stdout.strip()
    shutil.rmtree(target, ignore_errors=True)
    os.makedirs(target)
    run(['dpkg-deb', '-x', deb, target])
    with open(osp.join(target, '.version'), 'w') as f:
        f.write(version + '\n')
    log(f'  {package} {version}: unpacked')


def verify_integrity(data: bytes, integrity: str, what: str) -> None:
    """Exit unless ``data`` matches an npm ``dist.integrity`` string
    (``sha512-<base64>``)."""
    algo, _, expected = integrity.partition('-')
    if algo != 'sha512':
        sys.exit(f'error: {what}: unsupported integrity {algo}')
    actual = base64.b64encode(hashlib.sha512(data).digest()).decode()
    if actual != expected:
        sys.exit(f'error: {what}: SHA-512 mismatch (registry {expected}, '
                 f'downloaded {actual})')


def unpack_npm(name: str, version: str, downloads_dir: str,
               packages_dir: str, registry: str = NPM_REGISTRY) -> None:
    """Download ``name@version`` from the npm registry (kept in
    ``downloads_dir``) and unpack it into ``packages_dir/name`` (skipped
    when its ``.version`` exists)."""
    target = osp.join(packages_dir, name)
    if osp.exists(osp.join(target, '.version')):
        log(f'  {name}: unpacked already')
        return
    try:
        with urllib.request.urlopen(f'{registry}/{name}/{version}') as r:
            dist = json.load(r)['dist']
        tgz = osp.join(downloads_dir, osp.basename(dist['tarball']))
        cached = osp.exists(tgz)
        with (open(tgz, 'rb') if cached else
              urllib.request.urlopen(dist['tarball'])) as f:
            data = f.read()
    except OSError as e:
        sys.exit(f'error: {name}@{version}: cannot fetch from {registry}: '
                 f'{e}')
    verify_integrity(data, dist['integrity'], tgz if cached else
                     f'{name}@{version}')
    if not cached:
        with open(tgz, 'wb') as f:
            f.write(data)
    shutil.rmtree(target, ignore_errors=True)
    os.makedirs(target)
    with tarfile.open(tgz) as tar:
        tar.extractall(target, filter='data')
    with open(osp.join(target, '.version'), 'w') as f:
        f.write(version + '\n')
    log(f'  {name} {version}: unpacked')


def install(out: str, packages=DATA_PACKAGES,
            npm_packages=NPM_PACKAGES) -> str:
    """Install the tools and unpack the data packages; returns the folder
    of unpacked packages."""
    debs_dir = osp.join(out, 'debs')
    packages_dir = osp.join(out, 'packages')
    os.makedirs(debs_dir, exist_ok=True)
    os.makedirs(packages_dir, exist_ok=True)
    missing = [p for p, check in TOOL_PACKAGES if not check()]
    if missing:
        log(f'[1/4] apt-get install {" ".join(missing)}')
        apt(['install', '-y', '--no-install-recommends', *missing])
    else:
        log('[1/4] tools: rsvg-convert and libfluidsynth found')
    for pip_name, module in PIP_PACKAGES:
        if importlib.util.find_spec(module) is None:
            run([sys.executable, '-m', 'pip', 'install', pip_name])
    log(f'[2/4] data packages into {packages_dir}')
    for i, package in enumerate(packages):
        log(f' ({i + 1}/{len(packages)}) {package}')
        unpack_package(package, debs_dir, packages_dir)
    for i, (name, version) in enumerate(npm_packages.items()):
        log(f' ({i + 1}/{len(npm_packages)}) {name}')
        unpack_npm(name, version, debs_dir, packages_dir)
    return packages_dir


def folder_size(path: str) -> int:
    return sum(
        osp.getsize(osp.join(d, f)) for d, _, files in os.walk(path)
        for f in files)


def summary(index: dict, root: str) -> str:
    """A table: per class, pictures per style, recordings, renders."""
    styles = tuple(STYLE_WORDS)
    head = (f'{"class":<10} {"group":<10} ' +
            ' '.join(f'{s:>7}' for s in styles) + f' {"recs":>5} ' +
            ' '.join(f'{s:>9}' for s in sa.SOUNDFONTS))
    lines = [head]
    for cls, e in index['classes'].items():
        count = [sum(p['style'] == s for p in e['pictures']) for s in styles]
        lines.append(f'{cls:<10} {e["super_category"]:<10} ' +
                     ' '.join(f'{c:>7}' for c in count) +
                     f' {len(e["recordings"]):>5} ' +
                     ' '.join(f'{len(e["renders"].get(s, [])):>9}'
                              for s in sa.SOUNDFONTS))
    lines.append(f'{len(index["classes"])} classes, '
                 f'{sum(len(e["pictures"]) for e in index["classes"].values())}'
                 ' pictures, '
                 f'{sum(len(e["recordings"]) for e in index["classes"].values())}'
                 f' recordings, {len(index["backgrounds"])} backgrounds')
    for cls, why in index['excluded_classes'].items():
        lines.append(f'excluded {cls}: {why}')
    return '\n'.join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--out',
        default='data/assets',
        help='folder for debs/, packages/ and the asset tree semireal/')
    parser.add_argument(
        '--skip-install',
        action='store_true',
        help='use <out>/packages as it is (no apt-get, no pip)')
    parser.add_argument('--renders-per-class', type=int,
                        default=sa.RENDERS_PER_CLASS)
    parser.add_argument(
        '--min-styles',
        type=int,
        default=2,
        help='picture styles a class needs to be in index.json (1 also '
        'lists tuba, bassoon and clarinet, whose style then gives them away)')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    start = time.time()
    packages_dir = osp.join(args.out, 'packages')
    if not args.skip_install:
        packages_dir = install(args.out)
    elif not osp.isdir(packages_dir):
        sys.exit(f'error: --skip-install but no {packages_dir}')
    root = osp.join(args.out, 'semireal')
    log(f'[3/4] normalising into {root}')
    try:
        index = sa.build_asset_tree(packages_dir, root,
                                    renders_per_class=args.renders_per_class,
                                    min_styles=args.min_styles,
                                    log=log)
    except sa.AssetError as e:
        sys.exit(f'error: {e}')
    log(summary(index, root))
    with open(osp.join(root, 'manifest.json')) as f:
        n_files = len(json.load(f)['files'])
    log(f'{n_files} files, {folder_size(root) / 2**20:.1f} MiB in {root}')
    concepts_root = osp.join(args.out, 'concepts')
    log(f'[4/4] concept pictures for the stand-in CLIP into {concepts_root}')
    concepts = build_concept_tree(packages_dir, concepts_root, log=log)
    log(f'{len(concepts["concepts"])} concept pictures, '
        f'{folder_size(concepts_root) / 2**20:.1f} MiB; '
        f'{time.time() - start:.0f} s in all')
    return index


if __name__ == '__main__':
    main()
