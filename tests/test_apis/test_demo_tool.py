"""tools/demo.py: outputs per video, one error line per unusable video."""
import subprocess
import sys

import pytest

from rassu_mm.testing import load_tool, repo_path
from .conftest import make_video


@pytest.fixture(scope='module')
def demo():
    return load_tool('tools/demo.py')


def _error_lines(text):
    return [line for line in text.splitlines() if line.startswith('error:')]


def test_folder_with_a_corrupt_file(tmp_path, tiny_ssu, demo, capsys):
    folder = tmp_path / 'videos'
    folder.mkdir()
    make_video(folder / 'a.mp4', 3)
    (folder / 'b.mp4').write_bytes(b'garbage' * 500)
    make_video(folder / 'c.mp4', 2)
    status = demo.main(
        [str(folder), *tiny_ssu, '--out-dir', str(tmp_path / 'out')])
    err = capsys.readouterr().err
    assert status == 1
    lines = _error_lines(err)
    assert len(lines) == 1
    assert lines[0].startswith(f'error: {folder / "b.mp4"}: unreadable video')
    assert 'Traceback' not in err and '1 of 3 videos failed' in err
    for name, seconds in (('a', 3), ('c', 2)):
        out = tmp_path / 'out' / name
        assert (out / 'overlay.mp4').is_file()
        assert (out / 'captions.srt').is_file()
        assert len(list((out / 'masks').iterdir())) == seconds


@pytest.mark.parametrize('case, problem', [
    ('mute', 'no audio track (pass --silent-if-no-audio'),
    ('short', 'video too short'),
    ('missing', 'unreadable video'),
])
def test_one_line_per_problem(tmp_path, tiny_ssu, demo, capsys, case,
                              problem):
    path = tmp_path / f'{case}.mp4'
    if case == 'mute':
        make_video(path, 2, channels=0)
    elif case == 'short':
        make_video(path, 0.5)
    status = demo.main([str(path), *tiny_ssu, '--out-dir',
                        str(tmp_path / 'out')])
    err = capsys.readouterr().err
    assert status == 1
    lines = _error_lines(err)
    assert len(lines) == 1 and 'Traceback' not in err
    assert lines[0].startswith(f'error: {path}: {problem}')
    if case == 'mute':
        assert demo.main([
            str(path), *tiny_ssu, '--out-dir',
            str(tmp_path / 'out'), '--silent-if-no-audio'
        ]) == 0


@pytest.mark.slow
def test_debug_shows_the_traceback(tmp_path, tiny_ssu, demo, capsys):
    """The same error: one line, then with ``--debug`` the traceback of
    the process (``python tools/demo.py``, exit status 1)."""
    path = make_video(tmp_path / 'mute.mp4', 2, channels=0)
    args = [path, *tiny_ssu, '--out-dir', str(tmp_path / 'out')]
    assert demo.main(args) == 1
    assert _error_lines(capsys.readouterr().err) == [
        f'error: {path}: no audio track (pass --silent-if-no-audio to '
        'treat the video as silent)'
    ]
    debug = subprocess.run(
        [sys.executable, repo_path('tools/demo.py'), *args, '--debug'],
        capture_output=True,
        text=True)
    assert debug.returncode == 1
    assert 'Traceback' in debug.stderr and 'ClipDataError' in debug.stderr
