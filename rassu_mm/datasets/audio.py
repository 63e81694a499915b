"""VGGish-style log-mel features per frame window, and their disk cache.

Frame ``k`` of a clip sampled at ``fps`` covers the audio
``[k / fps, (k + 1) / fps)``. Its feature is the VGGish input example that
starts at ``k / fps``: 96 log-mel frames (0.96 s, 10 ms hop, 25 ms periodic
Hann window, 512-point FFT magnitude) x 64 mel bands (125-7500 Hz, VGGish's
filterbank), ``log(mel + 0.01)``, computed from the audio decoded and
resampled to 16 kHz mono by librosa. Each patch is computed exactly as in
VGGish's ``waveform_to_examples`` (so pretrained VGGish weights apply), but
patch ``k`` starts at ``k / fps`` rather than ``k * 0.96`` s (VGGish,
AVSBench), so it stays aligned with frame ``k`` over long clips.
Audio shorter than the last window is zero-padded at the end, so frames
past the end of the recording see silence (``log(0.01)`` everywhere).
"""
import hashlib
import json
import os
import os.path as osp
import struct
import tempfile
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Optional

import numpy as np


@lru_cache(maxsize=8)
def _mel_matrix(sample_rate: int, n_fft: int, num_mel_bins: int, fmin: float,
                fmax: float) -> np.ndarray:
    """VGGish's mel filterbank ``[n_fft // 2 + 1, num_mel_bins]``: HTK mel
    scale, triangles in the mel domain, no weight on the DC bin."""
    def hz_to_mel(hz):
        return 1127.0 * np.log(1.0 + np.asarray(hz) / 700.0)

    bins_mel = hz_to_mel(np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1))
    edges = np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), num_mel_bins + 2)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bins_mel[:, None] - lower) / (center - lower)
    falling = (upper - bins_mel[:, None]) / (upper - center)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights[0] = 0.0
    return weights.astype(np.float32)


@dataclass(frozen=True)
class LogMelParams:
    """The parameters of :func:`log_mel_patches` (VGGish defaults).

    Args:
        sample_rate (int): Resampling rate in Hz. Defaults to 16000.
        window_sec (float): STFT window length. Defaults to 0.025.
        hop_sec (float): STFT hop. Defaults to 0.010.
        num_mel_bins (int): Mel bands. Defaults to 64.
        fmin (float): Lowest mel edge in Hz. Defaults to 125.
        fmax (float): Highest mel edge in Hz. Defaults to 7500.
        log_offset (float): Added before the log. Defaults to 0.01.
        patch_sec (float): Patch length per frame. Defaults to 0.96.
    """
    sample_rate: int = 16000
    window_sec: float = 0.025
    hop_sec: float = 0.010
    num_mel_bins: int = 64
    fmin: float = 125.0
    fmax: float = 7500.0
    log_offset: float = 0.01
    patch_sec: float = 0.96

    @property
    def win_length(self) -> int:
        return int(round(self.sample_rate * self.window_sec))

    @property
    def hop_length(self) -> int:
        return int(round(self.sample_rate * self.hop_sec))

    @property
    def n_fft(self) -> int:
        return 2**int(np.ceil(np.log2(self.win_length)))

    @property
    def patch_frames(self) -> int:
        return int(round(self.patch_sec / self.hop_sec))

    def to_dict(self) -> dict:
        return asdict(self)


def log_mel_patches(wave: np.ndarray, num_frames: int, fps: float,
                    params: LogMelParams) -> np.ndarray:
    """One log-mel patch per video frame.

    Args:
        wave (np.ndarray): Mono waveform ``[N]`` at ``params.sample_rate``.
        num_frames (int): ``T``, the clip's number of frames.
        fps (float): Annotated frames per second.
        params (LogMelParams): Feature parameters.

    Returns:
        np.ndarray: float32 ``[T, 1, patch_frames, num_mel_bins]``
        (``[T, 1, 96, 64]`` by default).
    """
    hop, win, patch = params.hop_length, params.win_length, params.patch_frames
    starts = [
        int(round(k / fps * params.sample_rate / hop))
        for k in range(num_frames)
    ]
    needed = (starts[-1] + patch - 1) * hop + win
    wave = np.asarray(wave, dtype=np.float32)[:needed]
    if wave.shape[0] < needed:
        wave = np.pad(wave, (0, needed - wave.shape[0]))
    # VGGish framing: periodic Hann over win samples, FFT zero-padded to
    # n_fft, magnitude (not power)
    frames = np.lib.stride_tricks.sliding_window_view(wave, win)[::hop]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win) / win)
    spec = np.abs(np.fft.rfft(frames * window, n=params.n_fft))
    mel = spec @ _mel_matrix(params.sample_rate, params.n_fft,
                             params.num_mel_bins, params.fmin, params.fmax)
    log_mel = np.log(mel + params.log_offset)
    patches = np.stack([log_mel[s:s + patch] for s in starts])
    return patches[:, None].astype(np.float32)


def check_wav_header(path: str) -> None:
    """Raise ``ValueError`` if a RIFF/WAVE file is shorter than its header
    says (a truncated download or copy). Other formats pass unchecked."""
    size = osp.getsize(path)
    with open(path, 'rb') as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b'RIFF' or head[8:12] != b'WAVE':
            if head[:4] == b'RIFF' or path.lower().endswith('.wav'):
                raise ValueError('not a valid RIFF/WAVE file')
            return
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                raise ValueError('truncated WAV: no data chunk')
            chunk_id, chunk_size = chunk[:4], struct.unpack('<I', chunk[4:])[0]
            if chunk_id == b'data':
                available = size - f.tell()
                # 0 and 0xFFFFFFFF mark streamed files of unknown length
                if chunk_size not in (0, 0xFFFFFFFF) and \
                        available < chunk_size:
                    raise ValueError(
                        f'truncated WAV: header declares {chunk_size} data '
                        f'bytes, file holds {available}')
                return
            f.seek(chunk_size + (chunk_size & 1), os.SEEK_CUR)


def load_waveform(path: str,
                  sample_rate: int,
                  silence_threshold: Optional[float] = None) -> np.ndarray:
    """Decode any librosa-readable file to mono float32 at ``sample_rate``.

    Args:
        path (str): The audio file.
        sample_rate (int): Resampling rate in Hz.
        silence_threshold (float, optional): Reject audio whose peak
            amplitude is below this; None accepts silence. Defaults to None.

    Raises:
        ValueError: The file is truncated or undecodable, holds no samples,
            non-finite samples, or its peak is below ``silence_threshold``.
    """
    import librosa
    check_wav_header(path)
    try:
        # decoded as stored: librosa's mixing and resampling refuse
        # non-finite samples with an unspecific error
        wave, rate = librosa.load(path, sr=None, mono=False)
    except Exception as err:  # decoders raise many unrelated types
        raise ValueError(f'unreadable audio: {type(err).__name__}: {err}')
    if wave.size == 0:
        raise ValueError('audio holds no samples')
    if not np.all(np.isfinite(wave)):
        raise ValueError('audio holds NaN or infinite samples')
    wave = librosa.to_mono(wave)
    if rate != sample_rate:
        wave = librosa.resample(wave, orig_sr=rate, target_sr=sample_rate)
    if silence_threshold is not None and \
            np.max(np.abs(wave)) < silence_threshold:
        raise ValueError(f'audio is silent (peak below {silence_threshold})')
    return wave


class AudioFeatureCache:
    """On-disk cache of per-clip audio features.

    The key hashes the audio file's bytes together with every parameter
    that changes the feature, so editing a wav or a parameter never returns
    stale features. Files are written atomically, so several dataloader
    workers (or processes) may share one cache folder.

    Args:
        cache_dir (str): Folder of the ``.npy`` files (created on demand).
    """

    def __init__(self, cache_dir: str) -> None:
        self.cache_dir = cache_dir

    @staticmethod
    def make_key(audio_path: str, params: dict) -> str:
        """SHA-1 of the file content and the JSON of ``params``."""
        digest = hashlib.sha1()
        with open(audio_path, 'rb') as f:
            for block in iter(lambda: f.read(1 << 20), b''):
                digest.update(block)
        digest.update(json.dumps(params, sort_keys=True).encode())
        return digest.hexdigest()

    def _path(self, key: str) -> str:
        return osp.join(self.cache_dir, key[:2], key + '.npy')

    def get(self, key: str) -> Optional[np.ndarray]:
        """The cached array, or None."""
        path = self._path(key)
        if not osp.isfile(path):
            return None
        try:
            return np.load(path)
        except (OSError, ValueError):  # unreadable entry: recompute it
            return None

    def put(self, key: str, value: np.ndarray) -> None:
        """Store ``value`` under ``key`` (atomic rename)."""
        path = self._path(key)
        os.makedirs(osp.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=osp.dirname(path), suffix='.tmp')
        with os.fdopen(fd, 'wb') as f:
            np.save(f, value)
        os.replace(tmp, path)
