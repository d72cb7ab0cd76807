"""AlgoPerf's LibriSpeech frontend: raw 16 kHz audio to normalised log-mel frames.

A port of ``MelFilterbankFrontend`` (algoperf/workloads/librispeech_conformer/
librispeech_jax/librispeech_preprocessor.py, after lingvo's ``asr/frontend.py``) with its
``LibrispeechPreprocessingConfig``: audio scaled by 2^-15, 25 ms frames of 401 samples
every 10 ms (no end padding), HTK pre-emphasis 0.97, a periodic Hann window of 400, a
512-point power spectrum, 80 mel bins over 125-7600 Hz (``tf.signal``'s weight matrix),
``log(max(mel, 1e-5))``, then normalised by AlgoPerf's fixed per-bin LibriSpeech mean and
standard deviation. Pure functions, no parameters.
"""

from __future__ import annotations

import math

import attrs
import jax
import jax.numpy as jnp
import numpy as np

# AlgoPerf's LIBRISPEECH_MEAN_VECTOR and LIBRISPEECH_STD_VECTOR (per mel bin, training set).
LIBRISPEECH_MEAN = (
    -7.6047816276550293, -7.1206226348876953, -6.8864245414733887, -6.8705768585205078,
    -6.9667720794677734, -7.1084094047546387, -6.9528026580810547, -6.783994197845459,
    -6.6195521354675293, -6.4876265525817871, -6.4120659828186035, -6.394047737121582,
    -6.4244871139526367, -6.3993711471557617, -6.5158271789550781, -6.7137999534606934,
    -6.8476877212524414, -6.9885001182556152, -6.9221386909484863, -7.146148681640625,
    -7.2040400505065918, -7.0537552833557129, -7.3140382766723633, -7.1223249435424805,
    -7.30251407623291, -7.1212143898010254, -7.2425732612609863, -7.1730537414550781,
    -7.0979413986206055, -7.088747501373291, -6.9849910736083984, -6.8787732124328613,
    -6.7602753639221191, -6.6300945281982422, -6.5145769119262695, -6.4245057106018066,
    -6.356513500213623, -6.31787633895874, -6.2660770416259766, -6.2468328475952148,
    -6.2821526527404785, -6.1908388137817383, -6.2484354972839355, -6.1472640037536621,
    -6.0924725532531738, -6.0171003341674805, -5.9250402450561523, -5.8535833358764648,
    -5.8209109306335449, -5.8118929862976074, -5.80783748626709, -5.7714629173278809,
    -5.7453732490539551, -5.7705655097961426, -5.7765641212463379, -5.7831673622131348,
    -5.7954087257385254, -5.7994823455810547, -5.8023476600646973, -5.8047118186950684,
    -5.8168182373046875, -5.8844799995422363, -5.9727106094360352, -6.0444660186767578,
    -6.1284866333007812, -6.2257585525512695, -6.3157496452331543, -6.39061164855957,
    -6.4928598403930664, -6.5498456954956055, -6.6054320335388184, -6.6508378982543945,
    -6.66917610168457, -6.6726889610290527, -6.684234619140625, -6.6974577903747559,
    -6.75471830368042, -6.7949142456054688, -6.8634209632873535, -6.94186544418335,
)  # fmt: skip
LIBRISPEECH_STD = (
    3.4353282451629639, 3.5962932109832764, 3.7012472152709961, 3.7369205951690674,
    3.7535104751586914, 3.693629264831543, 3.6922497749328613, 3.7641522884368896,
    3.8419716358184814, 3.8999848365783691, 3.9294240474700928, 3.9317409992218018,
    3.9139585494995117, 3.9031598567962646, 3.8691999912261963, 3.8155081272125244,
    3.7644970417022705, 3.7099106311798096, 3.6965086460113525, 3.6003766059875488,
    3.5493226051330566, 3.5465121269226074, 3.45003604888916, 3.4712812900543213,
    3.4084610939025879, 3.4408135414123535, 3.4104881286621094, 3.4217638969421387,
    3.4312851428985596, 3.4199209213256836, 3.4305806159973145, 3.4382665157318115,
    3.4580366611480713, 3.4817991256713867, 3.4958710670471191, 3.5036792755126953,
    3.5047574043273926, 3.4988734722137451, 3.493056058883667, 3.4822943210601807,
    3.459430456161499, 3.4612770080566406, 3.4559063911437988, 3.4755423069000244,
    3.4971549510955811, 3.5326557159423828, 3.5705199241638184, 3.5920312404632568,
    3.596907377243042, 3.5913500785827637, 3.5865931510925293, 3.5826809406280518,
    3.5837743282318115, 3.5895791053771973, 3.5819313526153564, 3.5837869644165039,
    3.5861184597015381, 3.5889589786529541, 3.592214822769165, 3.5939455032348633,
    3.5856630802154541, 3.5884113311767578, 3.5921022891998291, 3.5870490074157715,
    3.5806570053100586, 3.5731067657470703, 3.5617532730102539, 3.54980731010437,
    3.5527374744415283, 3.5475366115570068, 3.5387849807739258, 3.5256178379058838,
    3.5031836032867432, 3.4922726154327393, 3.4879646301269531, 3.4725594520568848,
    3.4558389186859131, 3.4351828098297119, 3.4284293651580811, 3.4299170970916748,
)  # fmt: skip


@attrs.frozen
class FrontendConfig:
    """AlgoPerf's ``LibrispeechPreprocessingConfig`` (the options its frontend uses)."""

    sample_rate: float = 16000.0
    frame_size_ms: float = 25.0
    frame_step_ms: float = 10.0
    preemph: float = 0.97
    num_bins: int = attrs.field(
        default=80, validator=attrs.validators.in_((len(LIBRISPEECH_MEAN),))
    )
    lower_edge_hertz: float = 125.0
    upper_edge_hertz: float = 7600.0
    output_floor: float = 1e-5
    input_scale: float = 2.0**-15  # int16 samples to [-1, 1) (``use_divide_stream``)

    @property
    def frame_step(self) -> int:
        return int(round(self.sample_rate * self.frame_step_ms / 1000.0))

    @property
    def frame_size(self) -> int:
        """Samples per frame: the window plus one for the pre-emphasis."""
        return int(round(self.sample_rate * self.frame_size_ms / 1000.0)) + 1

    @property
    def fft_size(self) -> int:
        return int(2 ** math.ceil(math.log2(self.frame_size)))


def num_frames(num_samples: int, config: FrontendConfig = FrontendConfig()) -> int:
    """Frames of a ``num_samples`` signal (frames must fit whole: no end padding)."""
    return max(0, (num_samples - config.frame_size) // config.frame_step + 1)


def _hertz_to_mel(hertz):
    return 1127.0 * jnp.log(1.0 + hertz / 700.0)


def mel_weight_matrix(num_spectrogram_bins: int, config: FrontendConfig) -> jax.Array:
    """(spectrogram bins, mel bins) triangular filters, linear in mel, DC bin zeroed
    (``tf.signal.linear_to_mel_weight_matrix`` as AlgoPerf ports it, float32)."""
    linear = jnp.linspace(0.0, config.sample_rate / 2.0, num_spectrogram_bins, dtype=jnp.float32)
    bins_mel = _hertz_to_mel(linear[1:])[:, None]
    edges = jnp.linspace(
        _hertz_to_mel(config.lower_edge_hertz),
        _hertz_to_mel(config.upper_edge_hertz),
        config.num_bins + 2,
        dtype=jnp.float32,
    )
    lower, center, upper = edges[:-2][None], edges[1:-1][None], edges[2:][None]
    rising = (bins_mel - lower) / (center - lower)
    falling = (upper - bins_mel) / (upper - center)
    return jnp.pad(jnp.maximum(0.0, jnp.minimum(rising, falling)), [[1, 0], [0, 0]])


def frame_paddings(paddings: jax.Array, config: FrontendConfig = FrontendConfig()) -> jax.Array:
    """1.0 for frames that hold only padding samples (AlgoPerf's min over each window)."""
    return jax.lax.reduce_window(
        paddings, 1.0, jax.lax.min, (1, config.frame_size), (1, config.frame_step), "valid"
    )


def power_spectrum(audio: jax.Array, config: FrontendConfig = FrontendConfig()) -> jax.Array:
    """(batch, frames, fft_size // 2 + 1) power spectra of pre-emphasised, Hann-windowed
    frames of ``audio`` (already scaled and masked)."""
    starts = np.arange(num_frames(audio.shape[1], config)) * config.frame_step
    frames = jnp.asarray(audio)[:, starts[:, None] + np.arange(config.frame_size)[None]]
    emphasised = jnp.concatenate(
        [
            frames[..., :1] * (1.0 - config.preemph),
            frames[..., 1:-1] - config.preemph * frames[..., :-2],
        ],
        axis=-1,
    )  # HTK flavour: the last sample of each frame is not used
    window_length = config.frame_size - 1
    if window_length % 2 == 0:  # periodic, as tf.signal.hann_window
        window = jnp.hanning(window_length + 1)[:-1]
    else:
        window = jnp.hanning(window_length)
    spectrum = jnp.fft.rfft(emphasised * window.astype(jnp.float32), config.fft_size, axis=-1)
    return jnp.abs(spectrum) ** 2.0


def log_mel(
    audio: jax.Array, paddings: jax.Array, config: FrontendConfig = FrontendConfig()
) -> tuple[jax.Array, jax.Array]:
    """AlgoPerf's normalised log-mel frames (batch, frames, bins) of (batch, samples)
    audio, and the frames' paddings."""
    audio = audio.astype(jnp.float32) * (1.0 - paddings) * config.input_scale
    spectrum = power_spectrum(audio, config)
    mel = spectrum @ mel_weight_matrix(spectrum.shape[-1], config)
    log = jnp.log(jnp.maximum(mel, config.output_floor))
    mean, std = np.asarray(LIBRISPEECH_MEAN, np.float32), np.asarray(LIBRISPEECH_STD, np.float32)
    if config.num_bins != len(mean):
        raise ValueError(
            f"the LibriSpeech normalisation has {len(mean)} bins, not {config.num_bins}"
        )
    return (log - mean) / std, frame_paddings(paddings, config)
