"""tools/demo.py's page per video: it plays overlay.mp4 with captions.vtt
as its track, lists every predicted frame, and links only files that
exist; in Chromium the track loads from file:// and a fragment seeks."""
import base64
import json
import re

import pytest

from rassu_mm.testing import load_tool
from tests.fixtures.html_pages import (PageParser, dump_dom, missing_files,
                                       requires_chromium)
from .conftest import make_video

# appended to a copy of the page: what the browser made of the track
PROBE = """<pre id="probe"></pre><script>
setTimeout(() => {
  const track = document.getElementById('track');
  const cues = Array.from(track.track.cues || []);
  document.getElementById('probe').textContent = JSON.stringify({
    ready: track.readyState, mode: track.track.mode,
    cues: cues.map(c => [c.startTime, c.endTime, c.text, c.line])});
}, 200);
</script></body>"""


@pytest.fixture(scope='module')
def video_page(tiny_ssu, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('video_page')
    video = make_video(tmp / 'clip.mp4', 3)
    status = load_tool('tools/demo.py').main(
        [video, *tiny_ssu, '--out-dir',
         str(tmp / 'out')])
    assert status == 0
    return tmp / 'out' / 'clip'


def test_page_plays_the_overlay_with_the_captions(video_page):
    page = video_page / 'index.html'
    parser = PageParser(page.read_text())
    assert missing_files(str(page), parser) == []
    (video, ) = parser.root.find_all('video')
    assert video.attrs['src'] == 'overlay.mp4'
    (track, ) = video.find_all('track')
    prefix = 'data:text/vtt;base64,'
    assert track.attrs['src'].startswith(prefix)
    assert base64.b64decode(track.attrs['src'][len(prefix):]) == (
        video_page / 'captions.vtt').read_bytes()
    predictions = json.loads((video_page / 'predictions.json').read_text())
    rows = [r for r in parser.root.find_all('tr') if 'data-start' in r.attrs]
    assert len(rows) == len(predictions['frames']) == 3
    for row, record in zip(rows, predictions['frames']):
        assert float(row.attrs['data-start']) == record['time']
        cells = [td.text for td in row.find_all('td')]
        assert cells[1] == record['caption']
        (img, ) = row.find_all('img')
        assert img.attrs['src'] == f'masks/{record["frame"]}.png'
    links = {a.attrs['href'] for a in parser.root.find_all('a')}
    assert links == {
        'overlay.mp4', 'captions.vtt', 'captions.srt', 'predictions.json'
    }


def seconds(stamp):
    """``hh:mm:ss.mmm`` in seconds."""
    hours, minutes, secs = stamp.split(':')
    return int(hours) * 3600 + int(minutes) * 60 + float(secs)


@requires_chromium
def test_browser_loads_the_track_and_seeks(video_page):
    page = (video_page / 'index.html').read_text()
    probe = video_page / 'probe.html'
    probe.write_text(page.replace('</body>', PROBE))
    dom = dump_dom(probe.as_uri() + '#t=1.5', budget_ms=5000)
    (pre, ) = [
        e for e in PageParser(dom).root.find_all('pre')
        if e.attrs.get('id') == 'probe'
    ]
    state = json.loads(pre.text)
    # every cue of captions.vtt, moved to the top (line 0) of the video
    cues = [[seconds(a), seconds(b), text, 0] for a, b, text in re.findall(
        r'(\S+) --> (\S+)\n(.+)\n', (video_page / 'captions.vtt').read_text())]
    assert cues and state == dict(ready=2, mode='showing', cues=cues)
    rows = [
        r for r in PageParser(dom).root.find_all('tr')
        if 'data-start' in r.attrs
    ]
    assert [r.attrs.get('class') == 'now' for r in rows] == [
        False, True, False
    ]
