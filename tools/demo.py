"""Segment the sounding regions of a video and caption every frame.

Example::

    python tools/demo.py my_video.mp4 configs/ssuformer_demo.py \
        work_dirs/ssuformer_demo/iter_1500.pth --out-dir outputs/my_video

writes ``overlay.mp4`` (masks and captions drawn, original sound),
``masks/<k>.png`` and ``captions.json`` into ``--out-dir``.
"""
import argparse
import os.path as osp

from rassu_mm.apis import SSUInferencer


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('video', help='any video file PyAV can decode')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument('--device', help='e.g. cpu or cuda:0')
    parser.add_argument(
        '--fps', type=float, help='sampled frames per second (default: '
        'the config\'s fps)')
    parser.add_argument(
        '--num-frames', type=int, help='frames per window (default: the '
        'config\'s num_frames)')
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument(
        '--silent-if-no-audio',
        action='store_true',
        help='treat a video without an audio track as silent')
    return parser.parse_args()


def main():
    args = parse_args()
    inferencer = SSUInferencer(
        args.config,
        args.checkpoint,
        device=args.device,
        num_frames=args.num_frames,
        fps=args.fps,
        batch_size=args.batch_size)
    result = inferencer(
        args.video,
        out_dir=args.out_dir,
        silent_if_no_audio=args.silent_if_no_audio)
    for k, (time, caption) in enumerate(
            zip(result['times'], result['captions'])):
        share = float((result['masks'][k] > 0).mean())
        print(f'[{time:6.1f}s] sounding area {share:6.1%}  {caption or ""}')
    print(f'overlay video: {osp.join(args.out_dir, "overlay.mp4")}')


if __name__ == '__main__':
    main()
