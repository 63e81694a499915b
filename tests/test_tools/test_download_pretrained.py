"""download_pretrained.py on files already in place (no network): nothing
is fetched, the VGGish release name's hash prefix is checked and the sums
are recorded in ``sha256sum -c`` format."""
import hashlib
import os.path as osp

import pytest

from rassu_mm.testing import load_tool

TOOL = load_tool('tools/misc/download_pretrained.py')


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_present_files_are_recorded_not_fetched(tmp_path):
    (tmp_path / 'pvt_v2_b5.pth').write_bytes(b'pvt weights')
    clip = tmp_path / 'clip-vit-base-patch16'
    clip.mkdir()
    (clip / 'config.json').write_text('{}')
    (clip / 'model.safetensors').write_bytes(b'clip weights')
    TOOL.main(['pvt_v2_b5', 'clip', '--out-dir', str(tmp_path)])
    lines = (tmp_path / 'SHA256SUMS').read_text().splitlines()
    assert lines == [
        f'{_sha(clip / "config.json")}  clip-vit-base-patch16/config.json',
        f'{_sha(clip / "model.safetensors")}  '
        'clip-vit-base-patch16/model.safetensors',
        f'{_sha(tmp_path / "pvt_v2_b5.pth")}  pvt_v2_b5.pth',
    ]
    # a second run keeps the entries (one per file)
    TOOL.main(['pvt_v2_b5', '--out-dir', str(tmp_path)])
    assert (tmp_path / 'SHA256SUMS').read_text().splitlines() == lines


def test_vggish_file_with_another_hash_is_refused(tmp_path):
    """The release name carries its SHA-256 prefix: another file with that
    name is not converted."""
    path = tmp_path / 'vggish-10086976.pth'
    path.write_bytes(b'not the release')
    with pytest.raises(SystemExit, match='does not start with 10086976'):
        TOOL.main(['vggish', '--out-dir', str(tmp_path)])
    assert not osp.exists(tmp_path / 'vggish_mmseg.pth')
