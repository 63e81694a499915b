"""Segment the sounding regions of videos and caption every sampled frame.

Example::

    python tools/demo.py my_video.mp4 configs/ssuformer_demo.py \\
        work_dirs/ssuformer_demo/iter_1500.pth --out-dir outputs

    python tools/demo.py my_videos/ configs/ssuformer_demo.py \\
        work_dirs/ssuformer_demo/iter_1500.pth --out-dir outputs

writes, for every video, ``outputs/<video name>/`` with ``overlay.mp4``
(every source frame with its mask and caption, the original sound),
``captions.srt`` and ``captions.vtt``, ``masks/<k>.png``,
``predictions.json`` and ``index.html``, a page that plays the overlay with
the captions as a track and lists the predicted frames (see
docs/inference.md). A video that cannot be used
(unreadable, no video stream, no audio track without
``--silent-if-no-audio``, too short) is reported in one line, the others
still run, and the exit status is 1. ``--debug`` shows tracebacks instead.
"""
import argparse
import sys

from rassu_mm.apis import SSUInferencer, list_videos
from rassu_mm.visualization import write_video_page


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        'inputs', nargs='+', help='video files and/or folders of videos')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out-dir', required=True,
        help='output folder (one sub-folder per video)')
    parser.add_argument('--device', help='e.g. cpu or cuda:0')
    parser.add_argument(
        '--sample-fps', type=float, help='predicted frames per second '
        '(default: the config\'s fps); higher is denser')
    parser.add_argument(
        '--num-frames', type=int, help='frames per window (default: the '
        'config\'s num_frames)')
    parser.add_argument(
        '--batch-size', type=int, default=1, help='windows per forward pass')
    parser.add_argument(
        '--overlay-preset',
        default='ultrafast',
        choices=[
            'ultrafast', 'superfast', 'veryfast', 'faster', 'fast',
            'medium', 'slow', 'slower', 'veryslow'
        ],
        help='x264 preset of overlay.mp4: slower ones give smaller files '
        '(default: ultrafast)')
    parser.add_argument(
        '--silent-if-no-audio',
        action='store_true',
        help='treat a video without an audio track as silent')
    parser.add_argument(
        '--show', action='store_true', help='show the painted frames')
    parser.add_argument(
        '--debug', action='store_true', help='show tracebacks of errors')
    return parser.parse_args(argv)


def error_line(video: str, err: Exception) -> str:
    """``error: <file>: <problem>`` for one unusable video."""
    reason = getattr(err, 'reason', None) or str(err)
    return f'error: {video}: {reason}'


def run(args) -> int:
    """Run the inferencer on every input; returns the exit status."""
    inferencer = SSUInferencer(
        args.config,
        args.checkpoint,
        device=args.device,
        num_frames=args.num_frames,
        sample_fps=args.sample_fps,
        overlay_preset=args.overlay_preset)
    videos, failed = [], 0
    for item in args.inputs:
        found = list_videos(item)
        if not found:
            print(f'error: {item}: no video files in this folder',
                  file=sys.stderr)
            failed += 1
        videos += found

    def on_error(video, err):
        if args.debug:
            raise err
        print(error_line(video, err), file=sys.stderr, flush=True)

    results = inferencer(
        videos,
        batch_size=args.batch_size,
        out_dir=args.out_dir,
        show=args.show,
        silent_if_no_audio=args.silent_if_no_audio,
        on_error=on_error,
        progress=True)['predictions']
    for result in results:
        if 'error' in result:
            failed += 1
        else:
            page = write_video_page(result['out_dir'])
            print(f'{result["video"]}: {len(result["frames"])} predicted '
                  f'frames -> {result["out_dir"]} (open {page})')
    if failed:
        print(f'{failed} of {len(videos)} videos failed', file=sys.stderr)
    return 1 if failed or not videos else 0


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except Exception as err:  # one line for users, the traceback in --debug
        if args.debug:
            raise
        print(f'error: {type(err).__name__}: {err}', file=sys.stderr)
        return 1


if __name__ == '__main__':
    sys.exit(main())
