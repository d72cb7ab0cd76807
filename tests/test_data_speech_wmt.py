"""Full-size LibriSpeech and WMT from AlgoPerf's prepared data: tiny datasets written in the
real layouts (librispeech_preprocess.py's npy files and csvs; TFDS's wmt directories of
TFRecord shards; SentencePiece models trained here), read back through the workloads."""

from __future__ import annotations

import time
from pathlib import Path

import attrs
import numpy as np
import pytest

from hpbench.data import librispeech_npy, tfrecord, wmt_tfds
from hpbench.data.order import batch_indices
from hpbench.data.packing import PACKING_KEYS
from hpbench.data.sentencepiece_tokenizer import SentencePieceTokenizer, TokenizerError, train_model
from hpbench.data.stream import (
    ONE_HOST,
    HostShard,
    StepStream,
    stages,
    stream,
    valid_batches,
)
from hpbench.workloads import metrics
from hpbench.workloads.registry import load_workload

pytest.importorskip("sentencepiece")
pytest.importorskip("grain")

ENGLISH = [
    "HE HOPED THERE WOULD BE STEW FOR DINNER",
    "TURNIPS AND CARROTS AND BRUISED POTATOES",
    "OPEN SOURCE ROCKS",
    "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG",
    "STUFF IT INTO YOU HIS BELLY COUNSELLED HIM",
    "AFTER EARLY NIGHTFALL THE YELLOW LAMPS WOULD LIGHT UP",
]
GERMAN = [
    "er hoffte es gäbe eintopf zum abendessen",
    "rüben und karotten und zerdrückte kartoffeln",
    "offene software ist großartig",
    "der schnelle braune fuchs springt über den faulen hund",
    "stopf es in dich hinein riet ihm sein bauch",
    "nach der frühen dämmerung gingen die gelben lampen an",
]


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    """$DATA/librispeech as dataset_setup.py leaves it: utterances in every split AlgoPerf
    reads, int64 audio of random lengths, targets tokenized with EOS."""
    data = tmp_path_factory.mktemp("data")
    root = data / "librispeech"
    root.mkdir()
    train_model(ENGLISH * 3, root / librispeech_npy.TOKENIZER, vocab_size=60)
    tokenizer = SentencePieceTokenizer.open(root / librispeech_npy.TOKENIZER)
    rng = np.random.default_rng(0)
    truth = {}
    subsets = [s for split in librispeech_npy.SPLITS.values() for s in split]
    for number, subset in enumerate(subsets):
        examples = {}
        for i in range(2 + number % 2):
            text = ENGLISH[(number + i) % len(ENGLISH)]
            audio = rng.integers(-(2**15), 2**15, rng.integers(50, 4000))
            examples[f"{19 + number}-198-{i:04d}"] = (audio, tokenizer.tokenize(text))
            truth[f"{subset}/{19 + number}-198-{i:04d}"] = (audio, tokenizer.tokenize(text), text)
        librispeech_npy.write_split(root, subset, examples)
    return data, root, truth


def wmt_pairs(count: int, offset: int) -> list[tuple[str, str]]:
    return [(GERMAN[(i + offset) % 6], ENGLISH[(i + offset) % 6].lower()) for i in range(count)]


LONG = (" ".join(["kartoffeln"] * 300), "potatoes")  # over 256 tokens: AlgoPerf filters it


@pytest.fixture(scope="module")
def wmt(tmp_path_factory):
    """$DATA/wmt: wmt17 (train) and wmt14 (validation, test) TFDS directories and the
    SentencePiece model, as dataset_setup.py --wmt leaves them."""
    data = tmp_path_factory.mktemp("data")
    root = data / "wmt"
    train = wmt_pairs(13, 0) + [LONG]
    valid = wmt_pairs(4, 2)[:2] + [LONG] + wmt_pairs(4, 2)[2:]
    wmt_tfds.write_dataset(root, "wmt17_translate", {"train": train}, num_shards=3)
    wmt_tfds.write_dataset(root, "wmt14_translate", {"validation": valid, "test": valid[:2]})
    lines = [text for pair in wmt_pairs(6, 0) for text in pair]
    train_model(lines * 3, root / wmt_tfds.TOKENIZER, vocab_size=90)
    return data, root, train, valid


# --- the tokenizer -------------------------------------------------------------------------


def test_tokenizer_appends_eos_and_detokenizes_back(speech, tmp_path):
    _, root, _ = speech
    tokenizer = SentencePieceTokenizer.open(root / librispeech_npy.TOKENIZER)
    ids = tokenizer.tokenize("OPEN SOURCE ROCKS")  # AlgoPerf's own tokenizer check
    assert ids.dtype == np.int32 and ids[-1] == tokenizer.eos_id == 2  # SentencePiece's default
    assert tokenizer.detokenize(ids) == "OPEN SOURCE ROCKS"
    for text in ENGLISH:
        assert tokenizer.detokenize(tokenizer.tokenize(text)) == text
    restored = __import__("pickle").loads(__import__("pickle").dumps(tokenizer))
    assert np.array_equal(restored.tokenize(ENGLISH[0]), tokenizer.tokenize(ENGLISH[0]))
    (tmp_path / "bad").write_bytes(b"not a model")
    with pytest.raises(TokenizerError, match="not a SentencePiece model"):
        SentencePieceTokenizer.open(tmp_path / "bad")
    with pytest.raises(TokenizerError, match="dataset_setup.py"):
        SentencePieceTokenizer.open(tmp_path / "missing")


# --- LibriSpeech ---------------------------------------------------------------------------


def expected_example(truth, example_id):
    audio, targets, _ = truth[example_id]
    padded = np.zeros(320_000, np.float32)
    padded[: len(audio)] = audio
    labels = np.zeros(256, np.int32)
    labels[: len(targets)] = targets
    return {
        "audio": padded,
        "audio_paddings": (np.arange(320_000) >= len(audio)).astype(np.float32),
        "labels": labels,
        "label_paddings": (np.arange(256) >= len(targets)).astype(np.float32),
    }


def assert_rows(batch, truth, example_ids):
    for row, example_id in enumerate(example_ids):
        for key, value in expected_example(truth, example_id).items():
            assert batch[key].dtype == value.dtype, key
            np.testing.assert_array_equal(batch[key][row], value, err_msg=f"{key} {example_id}")


def test_librispeech_csv_is_pandas_to_csv(speech):
    _, root, _ = speech
    lines = (root / "dev-clean.csv").read_text().splitlines()
    assert lines[:2] == [",id", "0,22-198-0000"]  # DataFrame(ids, columns=["id"]).to_csv()


def test_librispeech_validation_is_dev_clean_then_dev_other_padded(speech):
    _, root, truth = speech
    reader = librispeech_npy.LibriSpeechReader.open(root, batch_size=4)
    ids = [i for i in truth if i.split("/")[0] in ("dev-clean", "dev-other")]
    assert list(reader.valid.ids) == ids
    assert_rows(reader.valid_batch(slice(0, len(ids))), truth, ids)
    train = [i for i in truth if i.startswith("train-")]
    assert list(reader.train.ids) == train  # clean-100, clean-360, other-500, csv order


def test_librispeech_training_batches_are_pure_resumable_and_split_by_host(speech):
    _, root, truth = speech
    reader = librispeech_npy.LibriSpeechReader.open(root, batch_size=4)
    stream = StepStream(reader)
    batches = [stream.batch(3, step) for step in range(4)]
    for step, batch in enumerate(batches):  # epochs of seeded permutations
        rows = batch_indices(3, step, len(reader.train), 4)
        assert_rows(batch, truth, [reader.train.ids[r] for r in rows])
    resumed = StepStream(reader)
    for step in (2, 3):
        for key in librispeech_npy.KEYS:
            np.testing.assert_array_equal(resumed.batch(3, step)[key], batches[step][key])
    halves = [
        librispeech_npy.LibriSpeechReader.open(root, 4, HostShard(i, 2))(3, 1) for i in (0, 1)
    ]
    for key in librispeech_npy.KEYS:
        np.testing.assert_array_equal(np.concatenate([h[key] for h in halves]), batches[1][key])


@attrs.frozen
class Logged:
    """A reader that appends each step it reads to ``log`` (picklable for grain's workers)."""

    reader: object
    log: Path

    def __call__(self, seed: int, step: int):
        with open(self.log, "a") as file:
            file.write(f"{step}\n")
        return self.reader(seed, step)


@pytest.mark.slow  # two grain worker processes start: ~5 s on an idle machine
def test_librispeech_through_two_workers_is_the_readers_batches_read_a_few_ahead(
    speech, tmp_path, monkeypatch
):
    _, root, _ = speech
    reader = librispeech_npy.LibriSpeechReader.open(root, batch_size=4)
    log = tmp_path / "steps"
    load, expand = stages(reader)  # the workers send compact int16 utterances; padded here
    assert load == reader.compact and expand(load(3, 2))["audio"].dtype == np.float32
    batches = stream(Logged(load, log), 3, 2, worker_count=2, prefetch=1, expand=expand)
    try:
        for step in (2, 3, 4):
            got = next(batches)
            for key, value in reader(3, step).items():
                np.testing.assert_array_equal(got[key], value, err_msg=f"step {step} {key}")
        time.sleep(1.0)  # the workers fill their buffers
        read = sorted(map(int, log.read_text().split()))
    finally:
        batches.close()
    # each worker reads one step at a time, a few ahead (its buffer of one, the one it waits
    # to put, grain's interleave buffer in this process); grain's default would read 500
    # steps ahead on 16 threads per worker (41 GB of full-size LibriSpeech batches)
    assert read[:3] == [2, 3, 4] and len(read) <= 3 + 2 * 5, read
    monkeypatch.setenv("HPBENCH_DATA_WORKERS", "2")  # validation: compact through workers too
    total = len(reader.valid)
    for start, got in zip(range(0, total, 3), valid_batches(reader, total, 3), strict=True):
        for key, value in reader.valid_batch(slice(start, min(start + 3, total))).items():
            np.testing.assert_array_equal(got.rest[key], value, err_msg=f"rows {start}+ {key}")


def test_librispeech_compact_utterances_pad_to_algoperfs_examples(speech, tmp_path):
    _, root, truth = speech
    ids = [i for i in truth if i.startswith("dev-")]
    compact = librispeech_npy.read_compact(root, ids)
    assert compact["audio"].dtype == np.int16  # 16-bit samples: 2 bytes each, not 4 + 4
    assert_rows(librispeech_npy.pad_compact(compact), truth, ids)
    loud = {"loud": (np.array([40_000, -(2**15), 7]), [5, 2])}  # not 16-bit: kept exact
    librispeech_npy.write_split(tmp_path, "dev-clean", loud)
    compact = librispeech_npy.read_compact(tmp_path, ["dev-clean/loud"])
    assert compact["audio"].dtype == np.float32
    padded = librispeech_npy.pad_compact(compact)
    np.testing.assert_array_equal(padded["audio"][0, :4], [40_000.0, -32_768.0, 7.0, 0.0])
    np.testing.assert_array_equal(padded["labels"][0, :3], [5, 2, 0])


def test_librispeech_bad_files_are_named(speech, tmp_path):
    _, root, _ = speech
    with pytest.raises(librispeech_npy.LibriSpeechDataError, match="dev-clean.csv"):
        librispeech_npy.LibriSpeechReader.open(tmp_path, 4)
    librispeech_npy.write_split(tmp_path, "dev-clean", {"u": (np.zeros(320_001), [5, 2])})
    librispeech_npy.write_split(tmp_path, "dev-other", {"v": (np.zeros(10), [5, 2])})
    split = librispeech_npy.LibriSpeechSplit.open(tmp_path, "validation")
    with pytest.raises(librispeech_npy.LibriSpeechDataError, match="u_audio.npy.*320000"):
        split.read([0])
    (tmp_path / "dev-other.csv").write_text("id\nv\n")
    with pytest.raises(librispeech_npy.LibriSpeechDataError, match="dev-other.csv.*header"):
        librispeech_npy.read_ids(tmp_path, "dev-other")


def test_librispeech_full_reads_algoperf_dir_from_the_data_cache(speech, monkeypatch):
    data, _, truth = speech
    monkeypatch.setenv("HPBENCH_DATA_DIR", str(data))
    monkeypatch.setenv("HPBENCH_DATA_WORKERS", "0")
    workload = load_workload("librispeech_conformer", size="full", batch_size=4)
    assert workload.reader is not None and workload.data == {}
    batch = workload.batch(0, 0)
    rows = batch_indices(0, 0, len(workload.reader.train), 4)
    assert_rows(batch, truth, [workload.reader.train.ids[r] for r in rows])
    total, batches = workload.valid_batches()
    assert total == sum(i.startswith("dev-") for i in truth)
    assert sum(len(b.rest["labels"]) for b in batches) == total  # one host reads all
    example_id = workload.reader.train.ids[rows[0]]
    label = batch["labels"][0][batch["label_paddings"][0] == 0]
    # the WER reads AlgoPerf's transcript of the detokenised text (its str() quirk)
    assert workload.words(label) == metrics.algoperf_transcript(truth[example_id][2])


# --- WMT -------------------------------------------------------------------------------------


def test_text_examples_are_tf_train_example_on_the_wire():
    # Example{features{feature{key: "de" value{bytes_list{value: "Hallo"}}}}}, by hand
    wire = bytes([0x0A, 0x11, 0x0A, 0x0F, 0x0A, 0x02]) + b"de" + bytes([0x12, 0x09, 0x0A, 0x07])
    wire += bytes([0x0A, 0x05]) + b"Hallo"
    assert tfrecord.encode_example({"de": "Hallo"}) == wire
    assert tfrecord.parse_example(wire)["de"].tolist() == [b"Hallo"]


def test_wmt_splits_read_back_in_order_with_algoperf_keys(wmt):
    _, root, train, valid = wmt
    pairs = wmt_tfds.TextPairs.open(root, "train")
    assert pairs.keys == ("de", "en") and len(pairs) == len(train)
    assert [pairs.text(i) for i in range(len(pairs))] == [
        (de.encode(), en.encode()) for de, en in train
    ]
    old_style = {"supervisedKeys": {"input": "de", "output": "en"}}
    assert wmt_tfds.supervised_keys(old_style, root) == ("de", "en")


def tokenized(tokenizer, pair, length=256):
    rows = np.zeros((2, length), np.int32)
    for row, text in enumerate(pair):
        ids = tokenizer.tokenize(text)
        if max(len(tokenizer.tokenize(t)) for t in pair) <= 256:
            rows[row, : len(ids)] = ids
    return rows


def test_wmt_validation_is_tokenized_filtered_and_padded(wmt):
    _, root, _, valid = wmt
    reader = wmt_tfds.WMTReader.open(root, batch_size=4)
    tokenizer = reader.tokenizer
    assert len(tokenizer.tokenize(LONG[0])) > 256
    kept = [pair for pair in valid if pair != LONG]
    batch = reader.valid_batch(slice(0, len(kept)))
    assert batch["inputs"].shape == (len(kept), 256) and batch["inputs"].dtype == np.int32
    for row, pair in enumerate(kept):
        expected = tokenized(tokenizer, pair)
        np.testing.assert_array_equal(batch["inputs"][row], expected[0])
        np.testing.assert_array_equal(batch["targets"][row], expected[1])
        assert reader.detokenize(batch["targets"][row]) == pair[1]


@pytest.fixture(scope="module")
def wmt_long(wmt, tmp_path_factory):
    """The wmt fixture with training pairs of 1-6 sentences (~25-150 tokens a side), so
    that packed 256-token rows fill up and break, and the over-long pair among them."""
    import shutil

    _, root, _, _ = wmt
    copy = tmp_path_factory.mktemp("data") / "wmt"
    shutil.copytree(root / "wmt14_translate", copy / "wmt14_translate")
    shutil.copy(root / wmt_tfds.TOKENIZER, copy / wmt_tfds.TOKENIZER)
    train = []
    for i in range(20):
        picked = [(i + j) % 6 for j in range(1 + (7 * i) % 6)]
        train.append(
            (" ".join(GERMAN[j] for j in picked), " ".join(ENGLISH[j].lower() for j in picked))
        )
    train.insert(7, LONG)
    wmt_tfds.write_dataset(copy, "wmt17_translate", {"train": train}, num_shards=3)
    return copy, train


def packed_reader(root, batch_size=4, shard=ONE_HOST):
    """Windows of 2 rows x 3 pairs: 6 pairs of ~25-150 tokens fill about 2 rows."""
    reader = wmt_tfds.WMTReader.open(root, batch_size, shard)
    return __import__("attrs").evolve(reader, window_rows=2, examples_per_row=3)


def expected_rows(reader, train, seed, window):
    """The pairs of each row of ``window``, by hand: the window's pairs in permutation
    order, the over-long one skipped, a new row when a side would pass 256 tokens."""
    rows, lengths = [[]], [0, 0]
    for index in batch_indices(seed, window, len(train), 6):
        pair = [reader.tokenizer.tokenize(text) for text in train[index]]
        if max(map(len, pair)) > 256:
            assert train[index] == LONG
            continue
        if any(n + len(ids) > 256 for n, ids in zip(lengths, pair, strict=True)):
            if len(rows) == 2:
                break
            rows, lengths = [*rows, []], [0, 0]
        rows[-1].append(pair)
        lengths = [n + len(ids) for n, ids in zip(lengths, pair, strict=True)]
    return rows + [[]] * (2 - len(rows))


def test_wmt_training_rows_are_packed_pairs_of_their_window(wmt_long):
    root, train = wmt_long
    reader = packed_reader(root)
    per_row = []
    for step in range(3):
        batch = reader(5, step)
        assert set(batch) == {"inputs", "targets", *PACKING_KEYS}
        assert all(v.shape == (4, 256) and v.dtype == np.int32 for v in batch.values())
        rows = [r for w in (2 * step, 2 * step + 1) for r in expected_rows(reader, train, 5, w)]
        for row, pairs in enumerate(rows):
            per_row.append(len(pairs))
            for side, key in enumerate(("inputs", "targets")):
                parts = [pair[side] for pair in pairs]
                n = sum(map(len, parts))
                tokens = np.concatenate([*parts, np.zeros(256 - n, np.int32)])
                pad = np.zeros(256 - n)
                segments = np.concatenate(
                    [*(np.full(len(p), i + 1) for i, p in enumerate(parts)), pad]
                )
                positions = np.concatenate([*(np.arange(len(p)) for p in parts), pad])
                np.testing.assert_array_equal(batch[key][row], tokens)
                np.testing.assert_array_equal(batch[f"{key}_segmentation"][row], segments)
                np.testing.assert_array_equal(batch[f"{key}_position"][row], positions)
    windows = np.reshape(per_row, (-1, 2)).sum(axis=1)
    assert min(per_row) >= 2 and min(windows) < 6  # rows share; a break left pairs unread


@pytest.mark.slow
def test_wmt_packed_training_step_equals_the_unpacked_pairs(wmt_long):
    """Loss and gradients of a small Transformer on a packed batch equal those on the same
    pairs one per row (start token EOS, so that a later segment, which starts from the
    previous segment's EOS as in AlgoPerf, starts like a lone pair), and a step lowers it.
    Slow: ~20 s of compiling a 256-token Transformer twice on 2 loaded cores."""
    import jax

    from hpbench.workloads import wmt as wmt_workload
    from hpbench.workloads.registry import get_workload

    root, train = wmt_long
    reader = packed_reader(root)
    config = wmt_workload.ModelConfig(
        vocab_size=90, emb_dim=16, num_heads=2, num_layers=1, mlp_dim=32, max_length=256,
        bos_id=reader.tokenizer.eos_id,
    )  # fmt: skip
    workload = wmt_workload.WMTWorkload(
        info=get_workload("wmt"), size="full", variant="base", config=config, data={}
    )
    packed = reader(5, 1)
    pairs = [pair for w in (2, 3) for row in expected_rows(reader, train, 5, w) for pair in row]
    unpacked = {
        key: wmt_tfds.pad_rows([pair[side] for pair in pairs])
        for side, key in enumerate(("inputs", "targets"))
    }
    params, _ = workload.init(jax.random.key(0))

    def loss(params, batch):
        return workload.loss(params, {}, batch, jax.random.key(1), dropout=0.0,
                             label_smoothing=0.1)[0]  # fmt: skip

    value_and_grad = jax.jit(jax.value_and_grad(loss))
    value, grads = value_and_grad(params, packed)
    alone, alone_grads = value_and_grad(params, unpacked)
    np.testing.assert_allclose(value, alone, rtol=1e-5)
    for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves(alone_grads), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    stepped = jax.tree.map(lambda p, g: p - 0.5 * g, params, grads)
    assert value_and_grad(stepped, packed)[0] < value
    assert len(pairs) > len(packed["inputs"])


def test_wmt_packed_batches_are_pure_resumable_and_split_by_host(wmt_long):
    root, _ = wmt_long
    reader = packed_reader(root)
    stream = StepStream(reader)
    batches = [stream.batch(5, step) for step in range(4)]
    resumed = StepStream(reader)
    for step in (2, 3):
        for key, value in resumed.batch(5, step).items():
            np.testing.assert_array_equal(value, batches[step][key], err_msg=key)
    assert not np.array_equal(batches[0]["targets"], batches[1]["targets"])
    halves = [packed_reader(root, shard=HostShard(i, 2))(5, 3) for i in (0, 1)]
    for key, value in batches[3].items():
        np.testing.assert_array_equal(np.concatenate([h[key] for h in halves]), value)
    odd = __import__("attrs").evolve(reader, window_rows=4, shard=HostShard(1, 2))
    with pytest.raises(ValueError, match="blocks of 4"):
        odd(5, 0)


def test_wmt_detokenize_cuts_at_the_first_eos_as_algoperf(wmt):
    _, root, _, _ = wmt
    reader = wmt_tfds.WMTReader.open(root, batch_size=4)
    ids = reader.tokenizer.tokenize("offene software ist großartig")
    first = reader.tokenizer.detokenize(ids[:1])
    junk = reader.tokenizer.tokenize("der hund")[:-1]
    assert reader.detokenize(np.r_[ids, junk, 0, 0]) == "offene software ist großartig"
    assert reader.detokenize(ids[:-1]) == first  # no EOS: np.argmax is 0, one token kept


def test_wmt_training_offsets_are_walked_once_per_shard_file(wmt, tmp_path, monkeypatch):
    _, root, train, _ = wmt
    index = tmp_path / "index"
    first = wmt_tfds.WMTReader.open(root, batch_size=4, cache=index)
    assert len(list(index.glob("*.npy"))) == 5  # one per shard (3 train, 2 validation)

    def no_walk(path):
        raise AssertionError(f"{path}: headers walked again")

    with monkeypatch.context() as patched:
        patched.setattr(tfrecord, "record_offsets", no_walk)
        again = wmt_tfds.WMTReader.open(root, batch_size=4, cache=index)
        assert [again.train.text(i) for i in range(len(train))] == [
            (de.encode(), en.encode()) for de, en in train
        ]
        np.testing.assert_array_equal(again.train.offsets, first.train.offsets)
    copy = tmp_path / "wmt"  # a rewritten shard (other size and mtime) is walked anew
    wmt_tfds.write_dataset(copy, "wmt17_translate", {"train": train[:5]}, num_shards=1)
    assert len(wmt_tfds.TextPairs.open(copy, "train", index)) == 5
    wmt_tfds.write_dataset(copy, "wmt17_translate", {"train": train[:7]}, num_shards=1)
    assert len(wmt_tfds.TextPairs.open(copy, "train", index)) == 7
    assert len(list(index.glob("*.npy"))) == 7


def test_wmt_corrupt_shards_are_refused(wmt, tmp_path):
    _, root, train, _ = wmt
    copy = tmp_path / "wmt"
    wmt_tfds.write_dataset(copy, "wmt17_translate", {"train": train[:3]}, num_shards=1)
    shard = next((copy / "wmt17_translate" / "de-en" / "1.0.0").glob("*.tfrecord-*"))
    data = bytearray(shard.read_bytes())
    data[20] ^= 0xFF
    shard.write_bytes(bytes(data))
    pairs = wmt_tfds.TextPairs.open(copy, "train")
    with pytest.raises(tfrecord.TfdsError, match=rf"{shard.name} record 2: no text 'fr'"):
        attrs.evolve(pairs, keys=("de", "fr")).text(1)
    with pytest.raises(tfrecord.TfdsError, match="CRC mismatch"):
        pairs.text(0)
    shard.write_bytes(bytes(data[:-3]))
    with pytest.raises(tfrecord.TfdsError, match="truncated"):
        wmt_tfds.TextPairs.open(copy, "train")


def test_wmt_full_reads_algoperf_dir_from_the_data_cache(wmt, monkeypatch):
    data, _, _, valid = wmt
    monkeypatch.setenv("HPBENCH_DATA_DIR", str(data))
    monkeypatch.setenv("HPBENCH_DATA_WORKERS", "0")
    workload = load_workload("wmt", size="full", batch_size=4)
    assert workload.reader is not None and workload.data == {}
    reader = __import__("attrs").evolve(workload.reader, batch_size=4)
    np.testing.assert_array_equal(workload.batch(0, 0)["inputs"], reader(0, 0)["inputs"])
    total, batches = workload.valid_batches()
    assert total == len(valid) - 1 == sum(len(b.rest["inputs"]) for b in batches)
    first = next(workload.valid_batches()[1])
    assert workload.word_splitter()(first.rest["targets"][0]) == valid[0][1].split()


@pytest.mark.slow
def test_wmt_full_evaluates_from_algoperf_dir(wmt, monkeypatch):
    """Evaluation end to end on the reader's data (a small model: ~30 s of compiling the
    256-step greedy decode on 2 cores)."""
    import attrs
    import jax

    from hpbench.workloads import wmt as wmt_workload

    _, root, _, _ = wmt
    monkeypatch.setenv("HPBENCH_DATA_WORKERS", "0")
    workload = load_workload("wmt", size="full", data=str(root), batch_size=4)
    small = wmt_workload.ModelConfig(
        vocab_size=90, emb_dim=16, num_heads=2, num_layers=1, mlp_dim=32, max_length=256
    )
    workload = attrs.evolve(workload, config=small)
    params, state = workload.init(jax.random.PRNGKey(0))
    result = workload.evaluate(params, state)
    assert np.isfinite(result["loss"]) and 0.0 <= result["bleu"] <= 100.0


def test_algoperf_speech_and_wmt_without_the_extra_say_what_to_install(speech, wmt, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "sentencepiece", None)  # not installed
    with pytest.raises(ImportError, match=r"sentencepiece.*hpbench\[algoperf-data\]"):
        load_workload("librispeech_deepspeech", size="full", data=str(speech[1]))
    with pytest.raises(ImportError, match=r"sentencepiece.*hpbench\[algoperf-data\]"):
        load_workload("wmt", size="full", data=str(wmt[1]))


def test_incomplete_algoperf_dirs_stop_the_build_naming_the_file(tmp_path):
    from hpbench.workloads.userdata import DataError

    speech = tmp_path / "librispeech"
    for subset in librispeech_npy.SPLITS["validation"]:
        librispeech_npy.write_split(speech, subset, {"u": (np.zeros(10), [5, 2])})
    with pytest.raises(DataError, match=r"librispeech_conformer \(size full\).*train-clean-100"):
        load_workload("librispeech_conformer", size="full", data=str(speech))
    wmt = tmp_path / "wmt"
    for name in ("wmt17_translate", "wmt14_translate"):
        wmt_tfds.write_dataset(wmt, name, {"validation": [("a", "b")]})
    with pytest.raises(DataError, match=r"wmt \(size full\).*wmt_sentencepiece_model"):
        load_workload("wmt", size="full", data=str(wmt))


@pytest.mark.slow  # compiles a (tiny) Conformer and DeepSpeech over 320,000-sample audio
@pytest.mark.parametrize("name", ["librispeech_conformer", "librispeech_deepspeech"])
def test_librispeech_full_trains_and_scores_from_algoperf_dir(name, speech, monkeypatch):
    """The seam between the reader and AlgoPerf's model: raw audio from the npy files
    through the in-model frontend, a training step, and the WER of AlgoPerf's transcripts
    of the tokenizer's detokenised text."""
    import attrs
    import workload_checks as checks
    from test_librispeech_algoperf import TINY

    data, _, _ = speech
    monkeypatch.setenv("HPBENCH_DATA_DIR", str(data))
    monkeypatch.setenv("HPBENCH_DATA_WORKERS", "0")
    workload = load_workload(name, size="full", batch_size=2)
    assert workload.reader is not None and workload.tokenizer is workload.reader.tokenizer
    workload = attrs.evolve(workload, config=TINY[workload.architecture], eval_batch_size=4)
    params, state, losses = checks.train(workload, steps=1, learning_rate=1e-3)
    assert np.isfinite(losses).all()
    result = checks.check_evaluate(workload, params, state)
    assert result["wer"] >= 0.0 and np.isfinite(result["loss"])
    label = workload.batch(0, 0)["labels"][0]
    assert workload.words(label[label > 0]).startswith("tf.Tensor(b")  # AlgoPerf's transcript
