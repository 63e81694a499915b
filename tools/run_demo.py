"""``make demo``: generate the demo data, train, test, render a video.

Each step is skipped when its output exists (delete ``--work-dir`` to
retrain, ``--data-root`` to regenerate the data):

1. the synthetic demo set (tools/dataset_converters/make_synthetic.py);
2. the caption tokenizer, when the config has a caption head
   (tools/build_tokenizer.py on the training captions);
3. training (tools/train.py);
4. testing on the test split with mask PNGs, captions.json, painted
   clips and the results browser ``index.html`` (tools/test.py --out
   --show-dir), then the metrics table;
5. an overlay video: a few test clips joined into one video with sound,
   run through tools/demo.py's SSUInferencer.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def parse_args():
    parser = argparse.ArgumentParser(description='Run the end-to-end demo')
    parser.add_argument('--data-root', default='data/demo')
    parser.add_argument('--config', default='configs/ssuformer_demo.py')
    parser.add_argument('--work-dir', default='work_dirs/ssuformer_demo')
    parser.add_argument(
        '--video-clips', type=int, default=3,
        help='test clips joined into the demo video')
    return parser.parse_args()


def run(*cmd):
    print('+', ' '.join(cmd), flush=True)
    subprocess.run([sys.executable, *cmd], cwd=REPO, check=True)


def tokenizer_dir(cfg):
    head = cfg.model.get('caption_head')
    return None if head is None else head.get('tokenizer')


def latest_checkpoint(work_dir):
    last = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(last):
        return None
    with open(last) as f:
        path = f.read().strip()
    return path if osp.isfile(path) else None


def make_demo_video(data_root, num_clips, out_path):
    """Join the first test clips (frames shown 1/fps s each + their audio)
    into one video with sound."""
    import cv2
    import numpy as np
    import soundfile as sf
    from rassu_mm.apis import write_video
    with open(osp.join(data_root, 'annotations', 'test.json')) as f:
        ann = json.load(f)
    fps = ann['metainfo'].get('fps', 1)
    frames, audio, rate = [], [], None
    for clip in ann['clips'][:num_clips]:
        clip_frames = [
            cv2.imread(osp.join(data_root, fr['image']))
            for fr in clip['frames']
        ]
        wave, rate = sf.read(osp.join(data_root, clip['audio']),
                             dtype='int16')
        wave = wave if wave.ndim == 1 else wave.mean(axis=1).astype('int16')
        wave = np.pad(wave, (0, max(0, int(len(clip_frames) / fps * rate) -
                                    len(wave))))
        frames += clip_frames
        audio.append(wave[:int(len(clip_frames) / fps * rate)])
    write_video(frames, fps, out_path, np.concatenate(audio), rate)


def print_metrics(metrics):
    width = max(len(k) for k in metrics)
    print('\n' + '=' * (width + 12))
    print(f'{"metric":<{width}}  {"value":>8}')
    print('-' * (width + 12))
    for key, value in metrics.items():
        if isinstance(value, (int, float)):
            print(f'{key:<{width}}  {value:>8.4f}')
    print('=' * (width + 12))


def main():
    args = parse_args()
    os.chdir(REPO)
    from mmengine.config import Config
    cfg = Config.fromfile(args.config)

    if not osp.isfile(osp.join(args.data_root, 'annotations', 'test.json')):
        run('tools/dataset_converters/make_synthetic.py', '--out-dir',
            args.data_root)
    tok = tokenizer_dir(cfg)
    if tok and not osp.isdir(tok):
        run('tools/build_tokenizer.py',
            osp.join(args.data_root, 'annotations', 'train.json'), tok)

    ckpt = latest_checkpoint(args.work_dir)
    if ckpt is None:
        run('tools/train.py', args.config, '--work-dir', args.work_dir)
        ckpt = latest_checkpoint(args.work_dir)
    else:
        print(f'Using the trained {ckpt} (delete {args.work_dir} to '
              'retrain).')

    out_dir = osp.join(args.work_dir, 'test_outputs')
    from mmengine.runner import Runner
    import rassu_mm  # noqa: F401
    from rassu_mm.visualization import add_results_page
    test_cfg = cfg.copy()
    test_cfg.work_dir = args.work_dir
    test_cfg.load_from = ckpt
    test_cfg.test_evaluator['output_dir'] = out_dir
    test_cfg.default_hooks.visualization['draw'] = True
    test_cfg.visualizer['save_dir'] = osp.join(out_dir, 'painted')
    add_results_page(test_cfg, out_dir)
    metrics = Runner.from_cfg(test_cfg).test()

    video = osp.join(args.work_dir, 'demo_video.mp4')
    make_demo_video(args.data_root, args.video_clips, video)
    video_out = osp.join(args.work_dir, 'demo_video_outputs')
    run('tools/demo.py', video, args.config, ckpt, '--out-dir', video_out)

    print_metrics(metrics)
    print(f'test masks and captions: {out_dir}')
    print(f'results browser: {osp.join(out_dir, "index.html")}')
    print('rendered overlay video, subtitles and masks: '
          f'{osp.join(video_out, "demo_video")}')


if __name__ == '__main__':
    main()
