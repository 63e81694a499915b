"""End-to-end video inference: speed by stage and peak memory vs length.

Generates videos of several lengths (by default 30, 120 and 240 s of
1280x720 at 25 fps with 48 kHz stereo AAC audio: moving coloured shapes,
each with its tone), then runs :class:`SSUInferencer` with an output
folder on each (overlay at the source frame rate with audio, subtitles,
mask PNGs, JSON), every length in its own process so that the peak resident
set size (the process's since it started, ``PeakMemory`` of
``rassu_mm.utils.benchmarking``) of one run does not carry over to the
next.

Reported per length: seconds of video per second end to end, the time in
each stage of that run (``decode``: both decoding passes and the audio;
``preprocess``: the test pipeline; ``model``: ``model.test_step``;
``render``: painting and H.264-encoding the source frames on the render
thread, overlapping the other stages; ``encode``: the caller's share of the
writing: drawings, mask PNGs, subtitles, waiting for the render thread),
the model-only time (a second pass over the video without outputs, so
nothing competes with the model), the ratio of end-to-end to model-only
time and the model's share of the end-to-end time, the process RSS after
building the model and the peak RSS, and the peak RSS relative to the
shortest video's.

Weights are random unless ``--checkpoint`` is given; when the config's
caption tokenizer folder is missing, a small tokenizer is trained from the
synthetic demo captions into ``--work-dir``.

Example::

    python tools/analysis_tools/benchmark_video_inference.py \\
        --lengths 30 120 240 --out work_dirs/benchmark_video/results.json
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
from fractions import Fraction
from typing import List

import numpy as np

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default='configs/ssuformer_demo.py')
    parser.add_argument('--checkpoint', help='trained weights (optional)')
    parser.add_argument(
        '--lengths', type=float, nargs='+', default=[30, 120, 240],
        help='video lengths in seconds')
    parser.add_argument(
        '--size', default='1280x720', help='frame size WIDTHxHEIGHT')
    parser.add_argument('--fps', type=int, default=25)
    parser.add_argument('--audio-rate', type=int, default=48000)
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--threads', type=int, help='torch threads (default: torch\'s)')
    parser.add_argument(
        '--work-dir', default='work_dirs/benchmark_video',
        help='generated videos, outputs and tokenizer')
    parser.add_argument('--out', help='write the results as JSON')
    parser.add_argument('--worker', help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def generate_video(path: str, seconds: float, size: tuple, fps: int,
                   audio_rate: int) -> None:
    """A synthetic video streamed to ``path``: three shapes moving over a
    gradient, each with its own tone on one or both stereo channels
    (H.264 + AAC)."""
    import av
    import cv2
    width, height = size
    ramp = np.linspace(40, 120, width, dtype=np.float32)
    background = np.repeat(ramp[None, :, None], height, 0).repeat(3, 2)
    background = background.astype(np.uint8)
    shapes = [((0, 0, 230), 0.11, 220.0, (1.0, 0.3)),
              ((230, 80, 0), 0.07, 330.0, (0.3, 1.0)),
              ((0, 200, 80), 0.05, 495.0, (0.7, 0.7))]
    with av.open(path, mode='w') as out:
        video = out.add_stream('libx264', rate=Fraction(fps))
        video.width, video.height, video.pix_fmt = width, height, 'yuv420p'
        video.options = {'preset': 'ultrafast', 'crf': '23'}
        audio = out.add_stream('aac', rate=audio_rate, layout='stereo')
        per_frame = audio_rate // fps
        for i in range(int(round(seconds * fps))):
            t = i / fps
            img = background.copy()
            for j, (color, speed, _, _) in enumerate(shapes):
                cx = int((0.5 + 0.4 * np.sin(2 * np.pi * speed * t + j)) *
                         width)
                cy = int((0.3 + 0.2 * j) * height)
                cv2.circle(img, (cx, cy), height // 8, color, -1)
            out.mux(video.encode(av.VideoFrame.from_ndarray(img, 'bgr24')))
            n = np.arange(i * per_frame, (i + 1) * per_frame) / audio_rate
            wave = np.zeros((per_frame, 2), np.float32)
            for j, (_, _, freq, pan) in enumerate(shapes):
                # each shape sounds during its own third of every 6 s
                if int(t // 2) % 3 == j:
                    tone = 0.2 * np.sin(2 * np.pi * freq * n)
                    wave += tone[:, None] * np.array(pan, np.float32)
            frame = av.AudioFrame.from_ndarray(
                (wave * 32767).astype(np.int16).reshape(1, -1), 's16',
                'stereo')
            frame.sample_rate = audio_rate
            out.mux(audio.encode(frame))
        out.mux(video.encode())
        out.mux(audio.encode())


def demo_captions() -> list:
    """The captions of the synthetic demo data (a stand-in tokenizer's
    vocabulary when the config's tokenizer is missing)."""
    from rassu_mm.datasets.synthetic import caption_for, demo_classes
    names = [c[0] for c in demo_classes(4)]
    return [
        caption_for([f'{a} on the {side}'] + ([b] if b else []))
        for a in names for b in [None] + names for side in ('left', 'right')
    ] + [caption_for([])]


def run_one(args: argparse.Namespace) -> dict:
    """Worker: infer ``args.worker`` with outputs, return the figures."""
    import torch
    from mmengine.config import Config

    from rassu_mm.apis import SSUInferencer, probe_video
    from rassu_mm.testing import use_stand_in_tokenizer
    from rassu_mm.utils.benchmarking import PeakMemory, process_rss, timed
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = Config.fromfile(args.config)
    use_stand_in_tokenizer(cfg, osp.join(args.work_dir, 'tokenizer'),
                           demo_captions(), vocab_size=120)
    inferencer = SSUInferencer(cfg, args.checkpoint, device=args.device)
    rss_model = process_rss() / 2**20
    name = osp.splitext(osp.basename(args.worker))[0]
    total, result = timed(
        lambda: inferencer(
            args.worker,
            batch_size=args.batch_size,
            out_dir=osp.join(args.work_dir, 'outputs'))['predictions'][0])
    timings = dict(inferencer.timer.timings)
    inferencer.timer.timings.clear()
    inferencer(args.worker, batch_size=args.batch_size)  # no outputs
    model_only = inferencer.timer.timings['model']
    duration = probe_video(args.worker, name).duration
    return dict(
        video=args.worker,
        seconds=duration,
        predicted_frames=len(result['frames']),
        total_s=total,
        timings_s=timings,
        model_only_s=model_only,
        video_s_per_s=duration / total,
        end_to_end_over_model=total / model_only,
        model_share=model_only / total,
        rss_after_model_mib=rss_model,
        peak_rss_mib=PeakMemory().peak() / 2**20,  # since the start
        torch_threads=torch.get_num_threads())


def format_table(results: List[dict]) -> str:
    base = results[0]['peak_rss_mib']
    lines = [
        '| Video | Video s/s | End-to-end s | Decode s | Preprocess s | '
        'Model s | Render s (thread) | Encode s | Model alone s | '
        'End-to-end / model alone | Model share | RSS after model '
        '| Peak RSS | Peak vs shortest |', '|' + '---|' * 14
    ]
    for r in results:
        t = r['timings_s']
        lines.append(
            f'| {r["seconds"]:.0f} s | {r["video_s_per_s"]:.2f} | '
            f'{r["total_s"]:.1f} | '
            f'{t.get("decode", 0):.1f} | {t.get("preprocess", 0):.1f} | '
            f'{t.get("model", 0):.1f} | {t.get("render", 0):.1f} | '
            f'{t.get("encode", 0):.1f} | {r["model_only_s"]:.1f} | '
            f'{r["end_to_end_over_model"]:.2f} | {r["model_share"]:.0%} | '
            f'{r["rss_after_model_mib"]:.0f} MiB | '
            f'{r["peak_rss_mib"]:.0f} MiB | '
            f'{r["peak_rss_mib"] / base:.2f}x |')
    return '\n'.join(lines)


def main(argv=None) -> List[dict]:
    args = parse_args(argv)
    os.chdir(REPO)
    if args.worker:
        print(json.dumps(run_one(args)))
        return []
    size = tuple(int(v) for v in args.size.split('x'))
    os.makedirs(args.work_dir, exist_ok=True)
    results = []
    for seconds in args.lengths:
        video = osp.join(
            args.work_dir,
            f'video_{seconds:g}s_{args.size}_{args.fps}fps.mp4')
        if not osp.isfile(video):
            print(f'generating {video} ...', flush=True)
            generate_video(video, seconds, size, args.fps, args.audio_rate)
        print(f'inferring {video} ...', flush=True)
        cmd = [sys.executable, osp.abspath(__file__), '--worker', video]
        for key in ('config', 'checkpoint', 'batch_size', 'device',
                    'threads', 'work_dir'):
            value = getattr(args, key)
            if value is not None:
                cmd += [f'--{key.replace("_", "-")}', str(value)]
        proc = subprocess.run(cmd, check=True, capture_output=True,
                              text=True)
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(json.dumps(results[-1]), flush=True)
        if args.out:  # after every length: a cut-off run keeps its figures
            with open(args.out, 'w') as f:
                json.dump(results, f, indent=2)
    print(format_table(results))
    return results


if __name__ == '__main__':
    main()
