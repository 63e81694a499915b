"""SSUInferencer: streaming video inference, outputs, errors."""
import json
import math
import re
import tempfile
import threading

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

import rassu_mm.apis.windows as windows_module
from rassu_mm.apis import (SSUInferencer, StageTimer, iter_frames,
                           probe_video)
from rassu_mm.apis.video_job import VideoJob
from rassu_mm.apis.windows import VideoWindows
from rassu_mm.datasets import ClipDataError
from .conftest import make_video


@pytest.fixture(scope='module')
def inferencer(tiny_ssu):
    return SSUInferencer(*tiny_ssu, device='cpu')


def test_pipeline_is_in_memory(inferencer):
    types = [t.__class__.__name__ for t in inferencer.pipeline.transforms]
    assert types[0] == 'LoadClipFramesFromNDArray'
    assert 'LoadClipAudioFromNDArray' in types
    assert not {'LoadClipFrames', 'LoadClipAudio', 'LoadClipMasks',
                'LoadClipCaptions'} & set(types)
    assert (inferencer.num_frames, inferencer.sample_fps) == (5, 1.0)


def test_every_sampled_frame_predicted_once(tmp_path, inferencer):
    """12 sampled frames in windows of 5: [0, 5), [5, 10) and the last 5
    frames [7, 12), of which only 10 and 11 are new."""
    video = make_video(tmp_path / 'v.mp4', 12)
    result = inferencer(video, return_datasamples=True,
                        batch_size=2)['predictions'][0]
    assert [r['frame'] for r in result['frames']] == list(range(12))
    np.testing.assert_allclose([r['time'] for r in result['frames']],
                               np.arange(12.0))
    assert [s.frame_indices for s in result['data_samples']] == [
        list(range(0, 5)), list(range(5, 10)), list(range(7, 12))]
    assert [s.num_new for s in result['data_samples']] == [5, 5, 2]
    for sample in result['data_samples']:
        assert sample.pred_sem_seg.data.shape == (5, 40, 48)
        assert len(sample.pred_captions) == 5
    for record in result['frames']:
        assert isinstance(record['caption'], str)
        assert 0.0 <= record['sounding_area'] <= 1.0
    # windows are independent of batching
    again = inferencer(video)['predictions'][0]
    assert [r['caption'] for r in again['frames']] == \
        [r['caption'] for r in result['frames']]


@pytest.mark.parametrize('seconds,num_windows', [(3, 1), (10, 2), (12, 3)])
def test_num_batches_is_the_number_of_batches_yielded(tmp_path, inferencer,
                                                      seconds, num_windows):
    """The progress bar's total, ``VideoWindows.num_batches``, from the
    video's stated duration, is the number of batches ``preprocess``
    yields: 1, 2 and 3 windows of 5 at 1 fps (the last one of 12 s
    partly old) in batches of 1, 2 and 3."""
    video = make_video(tmp_path / 'v.mp4', seconds)
    info = probe_video(video, 'v')
    assert info.duration == pytest.approx(seconds)
    for batch_size in (1, 2, 3):
        windows = VideoWindows.from_video(info, 'v', inferencer.num_frames,
                                          inferencer.sample_fps,
                                          inferencer.audio_params,
                                          StageTimer())
        batches = list(inferencer.preprocess(windows, batch_size))
        assert windows.num_batches(batch_size) == len(batches)
        assert len(batches) == math.ceil(num_windows / batch_size)


def test_outputs_overlay_at_source_rate_with_audio_and_subtitles(
        tmp_path, inferencer):
    video = make_video(tmp_path / 'clip.mp4', 6, fps=25, size=(64, 48),
                       channels=2, rate=48000)
    out = inferencer(video, out_dir=str(tmp_path / 'out'))
    folder = tmp_path / 'out' / 'clip'
    assert out['visualization'] == [str(folder / 'overlay.mp4')]
    records = json.loads((folder / 'predictions.json').read_text())
    frames = records['frames']
    assert records['sample_fps'] == 1.0 and records['video_fps'] == 25.0
    assert [r['frame'] for r in frames] == list(range(6))
    assert frames == out['predictions'][0]['frames']
    for record in frames:
        mask = cv2.imread(str(folder / 'masks' / f'{record["frame"]}.png'),
                          cv2.IMREAD_UNCHANGED)
        assert mask.shape == (48, 64) and set(np.unique(mask)) <= {0, 255}
        assert record['sounding_area'] == pytest.approx((mask == 255).mean())
    # every source frame, at the source timestamps, with the source audio
    overlay = str(folder / 'overlay.mp4')
    src_times = [f.time for f in iter_frames(video, 'src')]
    out_times = [f.time for f in iter_frames(overlay, 'out')]
    assert len(out_times) == len(src_times) == 150
    np.testing.assert_allclose(out_times, src_times, atol=1e-3)
    info = probe_video(overlay, 'out')
    assert (info.width, info.height) == (64, 48)
    assert (info.audio_codec, info.audio_rate,
            info.audio_layout) == ('aac', 48000, 'stereo')
    # subtitle cues: consecutive equal captions merged, times k / fps;
    # the last one ends with the last whole window
    cues = re.findall(
        r'\d+\n(\d\d):(\d\d):(\d\d),(\d{3}) --> (\d\d):(\d\d):(\d\d),(\d{3})'
        r'\n(.*)\n', (folder / 'captions.srt').read_text())
    expected, start = [], 0
    for k, record in enumerate(frames):
        if k + 1 == len(frames) or frames[k + 1]['caption'] != \
                record['caption']:
            expected.append((start, k + 1, record['caption']))
            start = k + 1
    got = [((int(h0) * 3600 + int(m0) * 60 + int(s0)) + int(ms0) / 1000,
            (int(h1) * 3600 + int(m1) * 60 + int(s1)) + int(ms1) / 1000,
            text)
           for h0, m0, s0, ms0, h1, m1, s1, ms1, text in cues]
    # an empty caption (random weights may generate one) has no cue
    assert got == [(float(a), float(b), t) for a, b, t in expected if t]
    assert (folder / 'captions.vtt').read_text().startswith('WEBVTT')


def test_no_temporary_files(tmp_path, inferencer, monkeypatch):
    """Frames and audio reach the pipeline in memory: nothing is written to
    the temp dir, and without out_dir no image or audio file at all."""
    video = make_video(tmp_path / 'v.mp4', 6)
    temp = tmp_path / 'tmp'
    temp.mkdir()
    monkeypatch.setattr(tempfile, 'tempdir', str(temp))

    def refuse(*args, **kwargs):
        raise AssertionError('a file was written during inference')

    monkeypatch.setattr(cv2, 'imwrite', refuse)
    monkeypatch.setattr('wave.open', refuse)
    monkeypatch.setattr('soundfile.write', refuse)
    result = inferencer(video)['predictions'][0]
    assert len(result['frames']) == 6
    assert list(temp.iterdir()) == []


def test_streaming_decodes_only_what_the_window_needs(
        tmp_path, tiny_ssu, monkeypatch):
    """On a 60 s video, when a window is predicted, no more sampled frames
    have been decoded than that window needs, the audio decoder is at most
    a few chunks past its end and only the drawings in flight are kept
    (those the render thread holds and those queued for it)."""
    video = make_video(tmp_path / 'long.mp4', 60, fps=4)
    decoded = dict(frames=0, audio=0)

    def counting(name, func):
        def wrapper(*args, **kwargs):
            for item in func(*args, **kwargs):
                decoded[name] += 1 if name == 'frames' else len(item)
                yield item
        return wrapper

    monkeypatch.setattr(
        windows_module, 'iter_sampled_frames',
        counting('frames', windows_module.iter_sampled_frames))
    monkeypatch.setattr(windows_module, 'iter_audio',
                        counting('audio', windows_module.iter_audio))
    seen = []
    write, finish = VideoJob.write, VideoJob.finish
    # the render thread's first paint waits until a write would block on
    # the full queue (or the video is done): prediction runs ahead of the
    # painting as far as the queue lets it, so an unbounded queue shows in
    # the count below (4 batches in flight at the 4th write)
    go = threading.Event()

    def watched_write(job, outputs):
        if job._queue is not None and job._queue.full():
            go.set()
        write(job, outputs)
        last = outputs['predictions'][-1]['frame']
        # the render thread takes items under the queue's lock: while it
        # is held no item moves from the queue to the paints, so none is
        # counted twice (one already taken but not yet added is missed:
        # the count is never too high)
        with job._queue.mutex:
            queued = sum(len(item) for item in job._queue.queue
                         if isinstance(item, dict))
            held = len(job.paints)
        seen.append((last, decoded['frames'], decoded['audio'],
                     held + queued))

    def released_finish(job):
        go.set()
        finish(job)

    monkeypatch.setattr(VideoJob, 'write', watched_write)
    monkeypatch.setattr(VideoJob, 'finish', released_finish)
    inferencer = SSUInferencer(*tiny_ssu, device='cpu')
    paint = inferencer.painter.paint

    def gated_paint(frame, drawing):
        go.wait(timeout=60)
        return paint(frame, drawing)

    monkeypatch.setattr(inferencer.painter, 'paint', gated_paint)
    inferencer(video, out_dir=str(tmp_path / 'out'), batch_size=2)
    assert len(seen) == 6  # 12 windows of 5 s, 2 per batch
    rate = inferencer.audio_params.sample_rate
    for last, frames, audio, paints in seen:
        assert frames <= last + 2  # the window, and one held back at most
        # audio up to the window's last patch (+ 1 s of decoder chunks)
        assert audio <= (last + 1 + 1) * rate + 0.5 * rate
        # two queued batches of 10, the batch being painted and the held
        # drawing, not the video's 60
        assert paints <= 3 * 10 + 1
    assert decoded['frames'] == 60
    # the render thread was held back: at the 3rd write it has not
    # painted past batch 1 (one drawing of it at least) and the queue
    # holds batches 2 and 3
    assert max(paints for *_, paints in seen) >= 2 * 10 + 1


def test_render_thread_error_reaches_the_caller(tmp_path, inferencer,
                                                monkeypatch):
    """An error while painting or encoding (on the render thread) is raised
    by the call, the render thread is gone and what was written stays
    readable."""
    video = make_video(tmp_path / 'clip.mp4', 12, fps=4)
    painted = []

    def failing_paint(frame, paint):
        painted.append(1)
        if len(painted) == 30:
            raise ClipDataError('clip', video, 'cannot paint')
        return frame

    monkeypatch.setattr(inferencer.painter, 'paint', failing_paint)
    with pytest.raises(ClipDataError, match='cannot paint'):
        inferencer.infer_video(video, str(tmp_path / 'out'))
    assert not [t for t in threading.enumerate()
                if t.name.startswith('render ')]
    records = json.loads((tmp_path / 'out' / 'predictions.json').read_text())
    assert records['frames'] and len(painted) == 30
    written = list(iter_frames(str(tmp_path / 'out' / 'overlay.mp4'), 'out'))
    assert 0 < len(written) < 30


def test_render_error_on_the_last_paints_is_raised_by_finish(
        tmp_path, inferencer, monkeypatch):
    """The render thread fails on the last paints queued before
    ``finish``: ``finish`` raises the error instead of waiting forever for
    the thread (which used to skip the ``'finish'`` after an error)."""
    video = make_video(tmp_path / 'v.mp4', 2)
    info = probe_video(video, 'v')

    def failing_paint(frame, paint):
        raise ClipDataError('v', video, 'cannot paint')

    monkeypatch.setattr(inferencer.painter, 'paint', failing_paint)
    job = VideoJob(info, 'v', 1.0, inferencer.painter, StageTimer(),
                   paint=True)
    mask = np.zeros((info.height, info.width), np.uint8)
    job.add_paints({0: inferencer.painter.prepare(mask, None)})
    errors = []

    def finish():
        try:
            job.finish()
        except ClipDataError as err:
            errors.append(err)

    thread = threading.Thread(target=finish, daemon=True)
    thread.start()
    thread.join(20)
    assert not thread.is_alive() and 'cannot paint' in str(errors[0])
    job.close()


def test_folder_with_bad_files_continues(tmp_path, inferencer):
    folder = tmp_path / 'videos'
    folder.mkdir()
    make_video(folder / 'good.mp4', 3)
    make_video(folder / 'mute.mp4', 3, channels=0)
    make_video(folder / 'short.mp4', 0.5)
    (folder / 'corrupt.mp4').write_bytes(b'\x00\x01not a video' * 100)
    (folder / 'notes.txt').write_text('not a video')
    errors = {}
    out = inferencer(
        str(folder),
        out_dir=str(tmp_path / 'out'),
        on_error=lambda video, err: errors.update({video: err}))
    names = [p['video'].rsplit('/', 1)[1] for p in out['predictions']]
    assert names == ['corrupt.mp4', 'good.mp4', 'mute.mp4', 'short.mp4']
    assert set(errors) == {str(folder / n)
                           for n in ('corrupt.mp4', 'mute.mp4', 'short.mp4')}
    assert 'unreadable video' in str(errors[str(folder / 'corrupt.mp4')])
    assert 'no audio track' in str(errors[str(folder / 'mute.mp4')])
    assert 'too short' in str(errors[str(folder / 'short.mp4')])
    assert (tmp_path / 'out' / 'good' / 'overlay.mp4').is_file()
    assert len(out['predictions'][1]['frames']) == 3
    with pytest.raises(ClipDataError, match='no audio track'):
        inferencer(str(folder / 'mute.mp4'))
    silent = inferencer(str(folder / 'mute.mp4'), silent_if_no_audio=True)
    assert len(silent['predictions'][0]['frames']) == 3


def test_sample_fps_gives_denser_predictions(tmp_path, tiny_ssu):
    video = make_video(tmp_path / 'v.mp4', 3)
    inferencer = SSUInferencer(*tiny_ssu, device='cpu', sample_fps=4)
    frames = inferencer(video)['predictions'][0]['frames']
    np.testing.assert_allclose([r['time'] for r in frames],
                               np.arange(12) / 4)


@pytest.mark.parametrize('meta_mode', [None, 'semantic'])
def test_seg_mode_from_the_checkpoint_else_the_config(tmp_path, tiny_ssu,
                                                      meta_mode):
    """The checkpoint's ``dataset_meta`` (written by SSUDataset) names the
    mask mode; a checkpoint without it takes the config's test set's."""
    config, weights = tiny_ssu
    ckpt = torch.load(weights, weights_only=True)
    if meta_mode is not None:
        ckpt['meta']['dataset_meta']['seg_mode'] = meta_mode
    torch.save(ckpt, str(tmp_path / 'model.pth'))
    inferencer = SSUInferencer(config, str(tmp_path / 'model.pth'),
                               device='cpu')
    expected = meta_mode or Config.fromfile(
        config).test_dataloader.dataset.seg_mode
    assert inferencer.seg_mode == expected == \
        inferencer.visualizer.dataset_meta['seg_mode']


def test_streamed_window_equals_the_whole_video_decoded(tmp_path,
                                                        inferencer):
    """The last window of a 12 s video ([7, 12)), streamed, gives the same
    prediction as the model on that window cut from the fully decoded
    frames and audio."""
    from rassu_mm.apis import iter_audio, sample_frames
    video = make_video(tmp_path / 'v.mp4', 12)
    streamed = inferencer(video, return_datasamples=True)
    last = streamed['predictions'][0]['data_samples'][-1]
    assert last.frame_indices == list(range(7, 12))
    frames = sample_frames(video, 'v', fps=1)[7:12]
    rate = inferencer.audio_params.sample_rate
    wave = np.concatenate(list(iter_audio(video, 'v', rate)))
    window = dict(
        clip_id='v@7', video_path=video, frames=frames,
        waveform=wave[7 * rate:], fps=1.0, frame_indices=list(range(7, 12)),
        num_new=2, categories=[], dataset_name='SSU-Demo',
        seg_mode='binary')
    direct = inferencer.forward(
        inferencer.collate_fn([inferencer.pipeline(window)]))[0]
    np.testing.assert_array_equal(direct.pred_sem_seg.data.numpy(),
                                  last.pred_sem_seg.data.numpy())
    assert direct.pred_captions == last.pred_captions


def test_postprocess_records_of_the_new_frames(inferencer, monkeypatch):
    """Of a window [3, 6) with 2 new frames: records of frames 4 and 5,
    their masks and, for a semantic model, labels and class names (a
    label past the class list has no name)."""
    import torch
    from mmengine.structures import PixelData

    from rassu_mm.structures import SSUDataSample
    monkeypatch.setattr(inferencer, 'seg_mode', 'semantic')
    monkeypatch.setitem(inferencer.dataset_meta, 'classes', ('a', 'b', 'c'))
    masks = torch.tensor([[[1, 1], [1, 1]], [[0, 2], [255, 4]],
                          [[0, 0], [0, 0]]])
    sample = SSUDataSample(
        metainfo=dict(frame_indices=[3, 4, 5], num_new=2))
    sample.pred_sem_seg = PixelData(data=masks)
    sample.pred_captions = ['x', 'y', 'z']
    out = inferencer.postprocess([sample], None, return_datasamples=True)
    assert out['predictions'] == [
        dict(frame=4, time=4.0, caption='y', sounding_area=0.5,
             labels=[2, 4], classes=['b']),
        dict(frame=5, time=5.0, caption='z', sounding_area=0.0, labels=[],
             classes=[])]
    np.testing.assert_array_equal(out['masks'], masks[1:].numpy())
    assert out['visualization'] is None and out['data_samples'] == [sample]
