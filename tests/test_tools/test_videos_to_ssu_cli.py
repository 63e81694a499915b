"""videos_to_ssu.py on the command line: a bad video is one error line."""
import subprocess
import sys

import pytest

from rassu_mm.testing import repo_path
from .test_dataset_converters import write_video


@pytest.mark.slow
def test_bad_video_is_one_line(tmp_path):
    videos = tmp_path / 'videos'
    videos.mkdir()
    write_video(str(videos / 'mute.mp4'), seconds=2, audio=False)
    proc = subprocess.run([
        sys.executable,
        repo_path('tools/dataset_converters/videos_to_ssu.py'),
        str(videos),
        str(tmp_path / 'out')
    ],
                          capture_output=True,
                          text=True)
    assert proc.returncode == 1
    assert 'Traceback' not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith(f'error: {videos / "mute.mp4"}: clip '
                                "'mute': no audio track")
