# Copyright (c) OpenMMLab. All rights reserved. Adapted for rassu-mm.
"""Plot training curves and report training speed from MMEngine json logs
(MMSegmentation's / MMDetection's ``tools/analysis_tools/analyze_logs.py``).

The runner writes one json object per line to
``<work_dir>/<timestamp>/vis_data/scalars.json`` (and ``<timestamp>.json``
next to it): training lines carry ``loss``, ``loss_*``, ``lr``, ``time``,
``data_time`` and ``step``; validation lines the metrics (``mIoU``,
``F-score``, ``BLEU-4``, ...) and ``step``::

    python tools/analysis_tools/analyze_logs.py plot_curve \
        work_dirs/demo/*/vis_data/scalars.json --keys loss mIoU \
        --out curves.png
    python tools/analysis_tools/analyze_logs.py cal_train_time \
        work_dirs/demo/*/vis_data/scalars.json

``plot_curve`` also prints the last and the best value of every key.
"""
import argparse
import json
from collections import defaultdict
from typing import Dict, List, Tuple

import numpy as np

#: keys where smaller is better (everything else: larger is better)
LOWER_IS_BETTER = ('loss', 'time', 'data_time', 'memory')

Series = Dict[str, List[Tuple[int, float]]]


def load_json_log(path: str) -> Series:
    """``{key: [(step, value), ...]}`` of one json log, in file order.

    Lines that are not json objects with a ``step`` are an error naming the
    file and line.
    """
    series: Series = defaultdict(list)
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                log = json.loads(line)
                step = int(log['step'])
            except (ValueError, KeyError, TypeError):
                raise ValueError(f'{path}:{lineno}: not an MMEngine json log '
                                 'line (a json object with "step")') from None
            for key, value in log.items():
                if key != 'step' and isinstance(value, (int, float)):
                    series[key].append((step, float(value)))
    return dict(series)


def summarize(series: Series, keys: List[str]) -> List[str]:
    """One line per key: last and best value with their steps."""
    lines = []
    for key in keys:
        steps, values = zip(*series[key])
        lower = key.startswith(LOWER_IS_BETTER)
        best = int(np.argmin(values) if lower else np.argmax(values))
        lines.append(f'{key}: last {values[-1]:.4f} (step {steps[-1]}), '
                     f'best {values[best]:.4f} (step {steps[best]})')
    return lines


def plot_curve(logs: List[Series], args) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    legends = args.legend or [
        f'{path}: {key}' for path in args.json_logs for key in args.keys
    ]
    if len(legends) != len(logs) * len(args.keys):
        raise ValueError(f'--legend needs {len(logs) * len(args.keys)} '
                         f'names (logs x keys), got {len(legends)}')
    fig, axes = plt.subplots(
        len(args.keys), 1, figsize=(8, 3 * len(args.keys)), squeeze=False)
    for i, (path, series) in enumerate(zip(args.json_logs, logs)):
        missing = [k for k in args.keys if k not in series]
        if missing:
            raise KeyError(f'{path} has no {missing}; it has '
                           f'{sorted(series)}')
        print(f'{path}:')
        print('\n'.join('  ' + line
                        for line in summarize(series, args.keys)))
        for j, key in enumerate(args.keys):
            steps, values = zip(*series[key])
            axes[j, 0].plot(
                steps, values, label=legends[i * len(args.keys) + j],
                marker='o' if len(steps) < 20 else None)
            axes[j, 0].set_xlabel('iteration')
            axes[j, 0].set_ylabel(key)
            axes[j, 0].legend()
    if args.title:
        fig.suptitle(args.title)
    fig.tight_layout()
    if args.out:
        fig.savefig(args.out)
        print(f'saved {args.out}')
    else:
        plt.show()
    plt.close(fig)


def cal_train_time(logs: List[Series], args) -> None:
    """Mean, slowest and fastest seconds per logged training iteration."""
    for path, series in zip(args.json_logs, logs):
        if 'time' not in series or 'loss' not in series:
            raise KeyError(f'{path} has no training lines ("loss", "time")')
        train_steps = {step for step, _ in series['loss']}
        times = np.array(
            [t for step, t in series['time'] if step in train_steps])
        steps = [step for step, _ in series['time'] if step in train_steps]
        print(f'{path}:')
        print(f'  slowest logged iteration: step {steps[times.argmax()]} '
              f'({times.max():.4f} s)')
        print(f'  fastest logged iteration: step {steps[times.argmin()]} '
              f'({times.min():.4f} s)')
        print(f'  time std over logged iterations: {times.std():.4f} s')
        print(f'  average iteration time: {times.mean():.4f} s/iter')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Analyze json logs')
    sub = parser.add_subparsers(dest='task', required=True)
    plot = sub.add_parser('plot_curve', help='plot curves of keys')
    plot.add_argument('json_logs', nargs='+', help='json logs')
    plot.add_argument(
        '--keys', nargs='+', default=['loss'], help='keys to plot')
    plot.add_argument('--legend', nargs='+', help='one name per log and key')
    plot.add_argument('--title', help='figure title')
    plot.add_argument('--out', help='image file (default: show a window)')
    speed = sub.add_parser('cal_train_time', help='training speed')
    speed.add_argument('json_logs', nargs='+', help='json logs')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    logs = [load_json_log(path) for path in args.json_logs]
    {'plot_curve': plot_curve, 'cal_train_time': cal_train_time}[args.task](
        logs, args)


if __name__ == '__main__':
    main()
