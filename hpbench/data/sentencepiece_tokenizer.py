"""AlgoPerf's SentencePiece tokenizers (LibriSpeech's ``spm_model.vocab``, WMT's
``wmt_sentencepiece_model``), read with the ``sentencepiece`` package instead of tf-text.

AlgoPerf loads both with ``tftxt.SentencepieceTokenizer(add_bos=False, add_eos=True)``:
``tokenize`` appends EOS, ``detokenize`` maps ids back to text (control ids such as EOS
decode to nothing). Both models are trained by AlgoPerf with SentencePiece's defaults
(unigram, unk 0, bos 1, eos 2, no pad id), so padding 0 shares its id with unk.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import attrs
import numpy as np


class TokenizerError(ValueError):
    """A SentencePiece model file that is missing or unreadable."""


@attrs.frozen
class SentencePieceTokenizer:
    """A SentencePiece model held as its serialized bytes (picklable for grain workers);
    the processor is loaded once per process, on first use."""

    model: bytes = attrs.field(repr=False)
    source: str = ""
    _cache: dict = attrs.field(factory=dict, eq=False, repr=False)

    @classmethod
    def open(cls, path: str | Path) -> SentencePieceTokenizer:
        path = Path(path).expanduser()
        if not path.is_file():
            raise TokenizerError(
                f"{path}: no SentencePiece model (AlgoPerf's dataset_setup.py writes it there)"
            )
        tokenizer = cls(path.read_bytes(), str(path))
        tokenizer.vocab_size  # noqa: B018 - load now, so a corrupt file fails at build time
        return tokenizer

    def __getstate__(self):
        return {"model": self.model, "source": self.source}

    def __setstate__(self, state):
        object.__setattr__(self, "model", state["model"])
        object.__setattr__(self, "source", state["source"])
        object.__setattr__(self, "_cache", {})

    @property
    def processor(self):
        if "sp" not in self._cache:
            import sentencepiece

            processor = sentencepiece.SentencePieceProcessor()
            try:
                processor.LoadFromSerializedProto(self.model)
            except (RuntimeError, OSError) as error:
                raise TokenizerError(
                    f"{self.source}: not a SentencePiece model ({error})"
                ) from error
            self._cache["sp"] = processor
        return self._cache["sp"]

    @property
    def vocab_size(self) -> int:
        return int(self.processor.GetPieceSize())

    @property
    def eos_id(self) -> int:
        return int(self.processor.eos_id())

    def tokenize(self, text: str | bytes) -> np.ndarray:
        """int32 ids of ``text`` followed by EOS (tf-text's ``add_eos=True``)."""
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        return np.asarray([*self.processor.EncodeAsIds(text), self.eos_id], np.int32)

    def detokenize(self, ids: Iterable[int]) -> str:
        """The text of ``ids`` (control ids such as EOS contribute nothing)."""
        return self.processor.DecodeIds([int(i) for i in ids])


def train_model(lines: Sequence[str], path: str | Path, vocab_size: int) -> Path:
    """Train a SentencePiece model on ``lines`` with AlgoPerf's options (unigram, character
    coverage 1.0, SentencePiece's default special ids) and write it to ``path``."""
    import io

    import sentencepiece

    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.Train(
        sentence_iterator=iter(lines),
        model_writer=model,
        vocab_size=vocab_size,
        character_coverage=1.0,
        model_type="unigram",
        minloglevel=2,
    )
    path = Path(path)
    path.write_bytes(model.getvalue())
    return path
