"""Static HTML pages of results: a browser of the test clips and a player
of a demo video.

Both pages are single files with inline CSS and JavaScript that reference
only files beside them by relative links, so they open from ``file://``
without a server or a network connection.
"""
import base64
import html
import json
import os.path as osp
from typing import Dict, List, Optional
from urllib.parse import quote

# (page key, clip_scores.json key, column title)
SCORES = (('miou', 'mIoU', 'mIoU'), ('fscore', 'F-score', 'F-score'),
          ('bleu4', 'BLEU-4', 'BLEU-4'))
# the thumbnails SSUResultsPageHook writes per frame, and their labels
PANELS = (('frame', 'frame'), ('gt', 'GT mask'), ('pred', 'predicted mask'))

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:16px;color:#222}
h1{font-size:20px;margin:0 0 4px}
.summary,.help{color:#555;margin:4px 0}
.controls{display:flex;flex-wrap:wrap;gap:12px;align-items:center;
 background:#f3f4f6;padding:8px 10px;border-radius:6px;margin:8px 0}
.controls label{display:flex;gap:4px;align-items:center}
.controls input[type=number]{width:5em}
table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #ddd;padding:6px;vertical-align:top;
 text-align:left}
th{background:#fafafa;position:sticky;top:0}
td.score{font-variant-numeric:tabular-nums;white-space:nowrap;
 text-align:right}
.cats{color:#666;font-size:12px}
.strip{display:flex;gap:8px;overflow-x:auto;max-width:calc(100vw - 420px)}
figure{margin:0;flex:none;width:var(--thumb,128px)}
figcaption{font-size:12px;color:#666}
.panel{position:relative;line-height:0}
.panel img{width:100%;display:block;margin-bottom:2px}
.panel span{position:absolute;left:2px;top:2px;font-size:10px;
 line-height:1.2;background:rgba(0,0,0,.6);color:#fff;padding:0 3px}
p.cap{margin:2px 0;font-size:12px}
p.cap.gt{color:#1b5e20}
p.cap.pred{color:#0d47a1}
tr[hidden]{display:none}
.player{display:flex;gap:16px;align-items:flex-start}
.player>div:first-child{position:sticky;top:8px;flex:0 0 min(60%,720px)}
.player>div:last-child{flex:1}
video{width:100%;background:#000}
tr.now{background:#fff8c4}
tr[data-start]{cursor:pointer}
tr[data-start] td:first-child{white-space:nowrap}
td img.mask{height:40px;border:1px solid #ccc;image-rendering:pixelated}
"""

_RESULTS_JS = """
(function(){
const rows=Array.from(document.querySelectorAll('#clips tbody tr'));
const groups=JSON.parse(document.getElementById('groups').textContent);
const el=id=>document.getElementById(id);
const controls=['sort','order','category','metric','max','q'];
function value(row,key){
  if(key==='clip')return row.dataset.clipId;
  const v=row.dataset[key];return v===''?null:parseFloat(v);}
function apply(){
  const key=el('sort').value,asc=el('order').value==='asc';
  const cat=el('category').value,metric=el('metric').value;
  const max=el('max').value===''?null:parseFloat(el('max').value)/100;
  const q=el('q').value.trim().toLowerCase();
  rows.sort((a,b)=>{
    const x=value(a,key),y=value(b,key);
    if(x===null||y===null)return (x===null)-(y===null);
    const c=key==='clip'?x.localeCompare(y):x-y;
    return asc?c:-c;});
  const body=document.querySelector('#clips tbody');
  let shown=0;
  for(const row of rows){
    body.appendChild(row);
    const cats=JSON.parse(row.dataset.categories);
    const inCat=!cat||(groups[cat]||[cat]).some(c=>cats.includes(c));
    const v=value(row,metric);
    const low=max===null||(v!==null&&v<=max+1e-12);
    const text=!q||row.textContent.toLowerCase().includes(q);
    row.hidden=!(inCat&&low&&text);
    shown+=!row.hidden;}
  el('shown').textContent=shown;
  const state=new URLSearchParams();
  for(const c of controls)if(el(c).value!==el(c).dataset.default)
    state.set(c,el(c).value);
  history.replaceState(null,'',state.toString()?'#'+state:location.pathname);}
const start=new URLSearchParams(location.hash.slice(1));
for(const c of controls){
  el(c).dataset.default=el(c).value;
  if(start.has(c))el(c).value=start.get(c);
  el(c).addEventListener('input',apply);}
apply();
})();
"""

_VIDEO_JS = """
(function(){
const video=document.getElementById('video');
const track=document.getElementById('track');
const rows=Array.from(document.querySelectorAll('#frames tbody tr'));
// the overlay burns the captions in at the bottom: show the cues on top
function top(){for(const cue of Array.from(track.track.cues||[]))cue.line=0;}
track.addEventListener('load',top);top();
// index.html#t=12.5 opens the video at 12.5 s
const start=/^#t=([0-9.]+)$/.exec(location.hash);
if(start)video.currentTime=parseFloat(start[1]);
for(const row of rows)row.addEventListener('click',()=>{
  video.currentTime=parseFloat(row.dataset.start);video.play();});
video.addEventListener('timeupdate',()=>{
  for(const row of rows){const s=parseFloat(row.dataset.start);
    row.classList.toggle('now',s<=video.currentTime&&
      video.currentTime<s+parseFloat(row.dataset.length));}});
})();
"""


def _e(text) -> str:
    """``text`` escaped for HTML text and quoted attributes."""
    return html.escape(str(text), quote=True)


def _script_json(value) -> str:
    """``value`` as JSON that cannot close the ``<script>`` holding it."""
    return json.dumps(value).replace('<', '\\u003c')


def format_score(value: Optional[float]) -> str:
    """How the pages show a score in [0, 1]: ``x 100`` with two decimals,
    ``'-'`` when missing (as the breakdown table of ``SSUMetric``)."""
    return '-' if value is None else f'{100 * value:.2f}'


def _page(title: str, body: str, script: str = '') -> str:
    """A complete HTML document with the inline style and ``script``."""
    return ('<!DOCTYPE html>\n<html lang="en">\n<head>\n'
            f'<meta charset="utf-8">\n<title>{_e(title)}</title>\n'
            f'<style>{_CSS}</style>\n</head>\n<body>\n{body}\n'
            f'<script>{script}</script>\n</body>\n</html>\n')


def thumbnail_name(clip_id: str, frame: int, panel: str) -> str:
    """Path of a thumbnail relative to the page folder:
    ``clips/<clip_id>/<frame>_<panel>.jpg``."""
    return f'clips/{clip_id}/{frame}_{panel}.jpg'


def _clip_row(clip: dict, out_dir: str, thumb_width: int) -> str:
    """The table row of one clip of ``clip_scores.json``."""
    scores = {key: clip.get(name) for key, name, _ in SCORES}
    attrs = ' '.join(f'data-{key}="{"" if v is None else repr(float(v))}"'
                     for key, v in scores.items())
    figures = []
    preds = clip.get('pred_captions') or [None] * clip['num_frames']
    refs = clip.get('gt_captions') or [None] * clip['num_frames']
    for k in range(clip['num_frames']):
        panels = []
        for panel, label in PANELS:
            name = thumbnail_name(clip['clip_id'], k, panel)
            if osp.isfile(osp.join(out_dir, name)):
                panels.append(f'<div class="panel"><img loading="lazy" '
                              f'src="{_e(quote(name))}" alt="{label} {k}">'
                              f'<span>{label}</span></div>')
        captions = ''.join(
            f'<p class="cap {kind}">{title}: {_e(text)}</p>'
            for kind, title, text in (('gt', 'GT', refs[k]),
                                      ('pred', 'Pred', preds[k]))
            if text is not None)
        figures.append(f'<figure><figcaption>frame {k}</figcaption>'
                       f'{"".join(panels)}{captions}</figure>')
    cells = ''.join(f'<td class="score {key}">{format_score(v)}</td>'
                    for key, v in scores.items())
    return (f'<tr data-clip-id="{_e(clip["clip_id"])}" data-categories="'
            f'{_e(json.dumps(clip["categories"]))}" {attrs}>'
            f'<td><b>{_e(clip["clip_id"])}</b><div class="cats">'
            f'{_e(", ".join(clip["categories"]))}</div></td>{cells}'
            f'<td><div class="strip" style="--thumb:{thumb_width}px">'
            f'{"".join(figures)}</div></td></tr>')


def _options(values: List[tuple], selected: str = '') -> str:
    """``<option>`` elements of ``(value, label)`` pairs."""
    return ''.join(
        f'<option value="{_e(v)}"{" selected" if v == selected else ""}>'
        f'{_e(label)}</option>' for v, label in values)


def _results_controls(categories: List[str],
                      super_categories: Dict[str, List[str]],
                      num_clips: int) -> str:
    """The sort and filter controls of the results page."""
    sort = [(key, title) for key, _, title in SCORES] + [('clip', 'clip id')]
    groups = [('', 'all')] + [(c, c) for c in categories] + [
        (name, f'{name} (super-category)') for name in super_categories
    ]
    metrics = [(key, title) for key, _, title in SCORES]
    return (
        '<div class="controls">'
        f'<label>sort by <select id="sort">{_options(sort)}</select></label>'
        '<label><select id="order"><option value="asc">worst first '
        '(ascending)</option><option value="desc">best first (descending)'
        '</option></select></label>'
        f'<label>category <select id="category">{_options(groups)}'
        '</select></label>'
        f'<label>only clips with <select id="metric">{_options(metrics)}'
        '</select> &le; <input id="max" type="number" min="0" max="100" '
        'step="any" placeholder="100"></label>'
        '<label>search <input id="q" type="search" placeholder="clip id or '
        'caption"></label>'
        f'<span>showing <b id="shown"></b> of {num_clips} clips</span>'
        '</div>')


def write_results_page(out_dir: str, thumb_width: int = 128) -> str:
    """Write ``<out_dir>/index.html`` from ``<out_dir>/clip_scores.json``
    (``SSUMetric(clip_scores_dir=out_dir)``) and the thumbnails below
    ``<out_dir>/clips/`` (:class:`SSUResultsPageHook`).

    One row per clip: id, categories, mIoU, F-score and BLEU-4 (``x 100``,
    the values of ``clip_scores.json``) and, per frame, the thumbnails that
    exist and the ground-truth and predicted captions. Rows are sorted
    (worst mIoU first by default) and filtered by score, category and text
    in the page; the state is kept in the URL fragment
    (``index.html#sort=bleu4&category=violin&metric=miou&max=50``).

    Args:
        out_dir (str): The folder of ``clip_scores.json`` and the page.
        thumb_width (int): Display width of a frame in pixels.

    Returns:
        str: The page's path.
    """
    with open(osp.join(out_dir, 'clip_scores.json')) as f:
        table = json.load(f)
    clips = table['clips']
    categories = sorted({c for clip in clips for c in clip['categories']})
    supers = table.get('super_categories') or {}
    metrics = table.get('metrics', {})
    summary = ', '.join(f'{name} {format_score(metrics[name])}'
                        for name in ('mIoU', 'F-score', 'BLEU-4',
                                     'ssu_score') if name in metrics)
    header = ''.join(f'<th>{title}</th>' for _, _, title in SCORES)
    body = (
        f'<h1>Test results: {len(clips)} clips</h1>'
        f'<p class="summary">Whole split: {summary or "no scores"} '
        '(scores x 100).</p><p class="help">Per clip, mIoU and F-score of its '
        'frames and BLEU-4 of its captioned frames, computed by SSUMetric as '
        'for the whole split. Each frame shows the frame, the ground-truth '
        'and the predicted masks, and both captions.</p>' +
        _results_controls(categories, supers, len(clips)) +
        f'<table id="clips"><thead><tr><th>clip</th>{header}<th>frames</th>'
        '</tr></thead><tbody>' +
        ''.join(_clip_row(c, out_dir, thumb_width) for c in clips) +
        '</tbody></table><script type="application/json" id="groups">'
        f'{_script_json(supers)}</script>')
    path = osp.join(out_dir, 'index.html')
    with open(path, 'w', encoding='utf-8') as f:
        f.write(_page('SSU test results', body, _RESULTS_JS))
    return path


def write_video_page(video_dir: str) -> str:
    """Write ``<video_dir>/index.html`` for the outputs of
    :class:`~rassu_mm.apis.SSUInferencer` in ``video_dir``: a player of
    ``overlay.mp4`` with ``captions.vtt`` as its captions track and a table
    of the sampled frames (time, caption, sounding area, mask; a click
    seeks the video there).

    Browsers refuse a ``<track>`` file under ``file://`` (a text track
    must come from the page's origin, and every ``file:`` URL is an origin
    of its own), so the WebVTT text is embedded in the page as a ``data:``
    URL; links to the files themselves are on the page.

    Args:
        video_dir (str): A video's output folder (``overlay.mp4``,
            ``captions.vtt``, ``masks/<k>.png``, ``predictions.json``).

    Returns:
        str: The page's path.
    """
    with open(osp.join(video_dir, 'predictions.json')) as f:
        pred = json.load(f)
    with open(osp.join(video_dir, 'captions.vtt'), 'rb') as f:
        vtt = base64.b64encode(f.read()).decode('ascii')
    length = 1 / pred['sample_fps']
    rows = []
    for r in pred['frames']:
        mask = f'masks/{r["frame"]}.png'
        img = (f'<img class="mask" loading="lazy" src="{mask}" alt="mask '
               f'{r["frame"]}">'
               if osp.isfile(osp.join(video_dir, mask)) else '')
        rows.append(f'<tr data-start="{r["time"]!r}" data-length="{length!r}">'
                    f'<td>{r["time"]:.2f} s</td><td>{_e(r["caption"] or "")}'
                    f'</td><td class="score">{100 * r["sounding_area"]:.1f} %'
                    f'</td><td>{img}</td></tr>')
    name = osp.basename(pred['video'])
    links = ' &middot; '.join(
        f'<a href="{f}">{f}</a>' for f in ('overlay.mp4', 'captions.vtt',
                                           'captions.srt', 'predictions.json')
        if osp.isfile(osp.join(video_dir, f)))
    body = (f'<h1>{_e(name)}</h1><p class="summary">{len(rows)} predicted '
            f'frames at {pred["sample_fps"]:g} per second. Files: {links}</p>'
            '<div class="player"><div><video id="video" controls '
            'preload="auto" src="overlay.mp4"><track id="track" '
            'kind="captions" srclang="en" label="Captions" default '
            f'src="data:text/vtt;base64,{vtt}"></video>'
            '<p class="help">Click a row to play from there; '
            '<code>index.html#t=12.5</code> opens the video at 12.5 s.</p>'
            '</div>'
            '<div><table id="frames"><thead><tr><th>time</th><th>caption</th>'
            '<th>sounding area</th><th>mask</th></tr></thead><tbody>' +
            ''.join(rows) + '</tbody></table></div></div>')
    path = osp.join(video_dir, 'index.html')
    with open(path, 'w', encoding='utf-8') as f:
        f.write(_page(name, body, _VIDEO_JS))
    return path
