"""Fetch (and convert) the pretrained weights of the paper configs.

Writes the ``pretrain/`` layout that ``configs/ssuformer_f_music.py`` and
``configs/ssuformer_f_lifescene.py`` point to (docs/pretrained.md)::

    pretrain/pvt_v2_b5.pth               PVT-v2-b5 ImageNet-1k release
    pretrain/vggish-10086976.pth         torchvggish v0.1 release
    pretrain/vggish_mmseg.pth            the same, converted for VGGish
    pretrain/clip-vit-base-patch16/      CLIP ViT-B/16 (weights, tokenizer)
    pretrain/SHA256SUMS                  sums of the files above

A file that is already there is not fetched again (copy the release files
into ``pretrain/`` by hand on a machine without network and run the script
to convert and record them). Checks: the VGGish file's SHA-256 must start
with the ``10086976`` of its release name (torch.hub's convention); the CLIP
weights must match the SHA-256 that the Hugging Face hub lists for them;
the PVT release publishes no sum, so its SHA-256 is recorded (and printed)
for comparing copies. ``sha256sum -c SHA256SUMS`` in ``pretrain/`` checks a
copy on an offline machine.

Example::

    python tools/misc/download_pretrained.py all
    python tools/misc/download_pretrained.py vggish --out-dir pretrain
"""
import argparse
import hashlib
import os
import os.path as osp
import subprocess
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PVT_URL = 'https://github.com/whai362/PVT/releases/download/v2/pvt_v2_b5.pth'
VGGISH_URL = ('https://github.com/harritaylor/torchvggish/releases/download/'
              'v0.1/vggish-10086976.pth')
VGGISH_HASH_PREFIX = '10086976'
CLIP_REPO = 'openai/clip-vit-base-patch16'
# the CLIP folder: config, weights and the text tower's tokenizer
CLIP_FILES = ('config.json', 'merges.txt', 'vocab.json', 'tokenizer.json',
              'tokenizer_config.json', 'special_tokens_map.json')
CLIP_WEIGHTS = ('model.safetensors', 'pytorch_model.bin')
KINDS = ('pvt_v2_b5', 'vggish', 'clip')


def sha256(path: str) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def fetch_url(url: str, dst: str) -> None:
    """Download ``url`` to ``dst`` unless it exists (atomic: a temporary
    file is renamed at the end)."""
    if osp.isfile(dst):
        print(f'{dst}: present, not fetched again')
        return
    from torch.hub import download_url_to_file
    print(f'fetching {url}')
    download_url_to_file(url, dst, progress=True)


def get_pvt(out_dir: str) -> list:
    dst = osp.join(out_dir, 'pvt_v2_b5.pth')
    fetch_url(PVT_URL, dst)
    return [dst]


def get_vggish(out_dir: str) -> list:
    src = osp.join(out_dir, osp.basename(VGGISH_URL))
    fetch_url(VGGISH_URL, src)
    digest = sha256(src)
    if not digest.startswith(VGGISH_HASH_PREFIX):
        raise SystemExit(
            f'{src}: SHA-256 {digest} does not start with '
            f'{VGGISH_HASH_PREFIX} (the prefix in the release name); delete '
            'it and fetch again, or, if you trust the file, convert it with '
            'tools/model_converters/vggish2mmseg.py')
    dst = osp.join(out_dir, 'vggish_mmseg.pth')
    subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools', 'model_converters', 'vggish2mmseg.py'), src,
        dst
    ], check=True)
    return [src, dst]


def get_clip(out_dir: str) -> list:
    from huggingface_hub import HfApi, hf_hub_download
    folder = osp.join(out_dir, 'clip-vit-base-patch16')
    have = [osp.join(folder, n) for n in CLIP_FILES + CLIP_WEIGHTS
            if osp.isfile(osp.join(folder, n))]
    if osp.join(folder, 'config.json') in have and any(
            p.endswith(CLIP_WEIGHTS) for p in have):
        print(f'{folder}: present, not fetched again')
        return have
    info = HfApi().model_info(CLIP_REPO, files_metadata=True)
    hub = {s.rfilename: s for s in info.siblings}
    weights = next(name for name in CLIP_WEIGHTS if name in hub)
    paths = []
    for name in [n for n in CLIP_FILES if n in hub] + [weights]:
        path = osp.join(folder, name)
        if not osp.isfile(path):
            print(f'fetching {CLIP_REPO}/{name}')
            hf_hub_download(CLIP_REPO, name, local_dir=folder)
        paths.append(path)
    expected = hub[weights].lfs.sha256 if hub[weights].lfs else None
    weights_path = osp.join(folder, weights)
    if expected and sha256(weights_path) != expected:
        raise SystemExit(f'{weights_path}: SHA-256 differs from the hub\'s '
                         f'{expected}; delete it and fetch again')
    return paths


def write_sums(out_dir: str, paths: list) -> None:
    """Add the files' sums to ``<out_dir>/SHA256SUMS`` (``sha256sum -c``
    format, paths relative to ``out_dir``)."""
    sums_file = osp.join(out_dir, 'SHA256SUMS')
    sums = {}
    if osp.isfile(sums_file):
        with open(sums_file) as f:
            for line in f:
                digest, name = line.rstrip('\n').split('  ', 1)
                sums[name] = digest
    for path in paths:
        name = osp.relpath(path, out_dir)
        sums[name] = sha256(path)
        print(f'{sums[name]}  {name}')
    with open(sums_file, 'w') as f:
        f.writelines(f'{d}  {n}\n' for n, d in sorted(sums.items()))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description='Fetch and convert the pretrained weights of the paper '
        'configs into pretrain/')
    parser.add_argument(
        'kinds', nargs='+', choices=KINDS + ('all', ),
        help='which weights (all: every one)')
    parser.add_argument(
        '--out-dir', default=osp.join(REPO, 'pretrain'),
        help='target folder (default: pretrain/ of the repository)')
    args = parser.parse_args(argv)
    kinds = KINDS if 'all' in args.kinds else args.kinds
    getters = dict(pvt_v2_b5=get_pvt, vggish=get_vggish, clip=get_clip)
    os.makedirs(args.out_dir, exist_ok=True)
    paths = []
    for kind in kinds:
        try:
            paths += getters[kind](args.out_dir)
        except Exception as err:  # no network, refused, offline mode, disk
            raise SystemExit(
                f'{kind}: {type(err).__name__}: {err}. Without network, copy '
                f'the files listed in docs/pretrained.md into {args.out_dir} '
                'and run this again') from None
    write_sums(args.out_dir, paths)


if __name__ == '__main__':
    main()
