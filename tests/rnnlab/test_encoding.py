import numpy as np
import pytest
import torch

from rnnlab.encoding import Vocab, embedding_backward, embedding_forward, one_hot
from rnnlab.gradcheck import numerical_gradient

torch.set_num_threads(1)


def test_vocab_order_unk_specials_then_frequency_ties_alphabetical():
    # "hello": l twice, then e, h, o once each (alphabetical among ties).
    vocab = Vocab("hello", specials=("<pad>",))
    assert vocab.itos == ["<unk>", "<pad>", "l", "e", "h", "o"]
    assert vocab.unk_index == 0
    assert all(vocab.stoi[t] == i for i, t in enumerate(vocab.itos))
    assert len(vocab) == 6
    assert "l" in vocab and "z" not in vocab


def test_vocab_is_independent_of_token_order():
    words = "leave for dalian on tuesday leave dalian arrive in dalian".split()
    rng = np.random.default_rng(0)
    shuffled = [words[i] for i in rng.permutation(len(words))]
    assert Vocab(words).itos == Vocab(shuffled).itos


def test_vocab_matches_the_notes_dictionary_without_unknown_slot():
    vocab = Vocab("hello", unk=None)
    assert sorted(vocab.itos) == ["e", "h", "l", "o"]
    assert vocab.unk_index is None
    with pytest.raises(ValueError, match="tokens.*'z'"):
        vocab.encode("hez")


def test_unknown_tokens_encode_to_the_other_slot():
    vocab = Vocab("leave for dalian".split())
    idx = vocab.encode(["leave", "for", "taipei"])
    assert idx.dtype == np.int64
    assert idx[2] == vocab.unk_index == 0
    assert vocab.decode(idx) == ["leave", "for", "<unk>"]


def test_min_freq_drops_rare_tokens():
    vocab = Vocab(["a", "a", "b", "c", "c", "c"], min_freq=2)
    assert vocab.itos == ["<unk>", "c", "a"]
    assert vocab.encode(["b"])[0] == vocab.unk_index


def test_encode_decode_round_trip():
    text = "the kitten likes to eat fish"
    vocab = Vocab(text)
    assert "".join(vocab.decode(vocab.encode(text))) == text


def test_one_hot_matches_torch():
    rng = np.random.default_rng(0)
    idx = rng.integers(0, 7, size=(5, 3))
    got = one_hot(idx, 7)
    want = torch.nn.functional.one_hot(torch.from_numpy(idx), 7).double().numpy()
    assert got.shape == (5, 3, 7) and got.dtype == np.float64
    np.testing.assert_array_equal(got, want)


def test_embedding_matches_torch_and_one_hot_matmul():
    rng = np.random.default_rng(1)
    V, E, T, N = 6, 4, 5, 3
    W = rng.normal(size=(V, E))
    idx = rng.integers(0, V, size=(T, N))
    idx[0, 0] = idx[1, 2] = idx[4, 1] = 2  # make sure rows repeat
    dout = rng.normal(size=(T, N, E))

    out, cache = embedding_forward(idx, W)
    dW = embedding_backward(dout, cache)

    emb = torch.nn.Embedding(V, E).double()
    with torch.no_grad():
        emb.weight.copy_(torch.from_numpy(W))
    out_t = emb(torch.from_numpy(idx))
    out_t.backward(torch.from_numpy(dout))
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-10, atol=0)
    np.testing.assert_allclose(dW, emb.weight.grad.numpy(), rtol=1e-10, atol=1e-12)

    # The same thing as a one-hot matrix product (the notes' view of the layer).
    W_t = torch.from_numpy(W).requires_grad_(True)
    (torch.from_numpy(one_hot(idx, V)) @ W_t).backward(torch.from_numpy(dout))
    np.testing.assert_allclose(dW, W_t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_embedding_backward_by_centred_differences():
    rng = np.random.default_rng(2)
    W = rng.normal(size=(5, 3))
    idx = np.array([[0, 4], [4, 4], [1, 0]])
    dout = rng.normal(size=(3, 2, 3))
    _, cache = embedding_forward(idx, W)
    num = numerical_gradient(lambda w: np.sum(embedding_forward(idx, w)[0] * dout), W)
    np.testing.assert_allclose(embedding_backward(dout, cache), num, rtol=1e-7, atol=1e-9)


def test_embedding_cache_does_not_alias_indices():
    W = np.eye(3)
    idx = np.array([[0, 1]])
    _, cache = embedding_forward(idx, W)
    idx[0, 0] = 2
    dW = embedding_backward(np.ones((1, 2, 3)), cache)
    np.testing.assert_array_equal(dW.sum(axis=1), [3.0, 3.0, 0.0])


@pytest.mark.parametrize("bad", [-1, 7])
def test_index_outside_vocabulary_raises(bad):
    idx = np.array([[0, bad]])
    with pytest.raises(ValueError, match=r"indices.*\[0, 7\)"):
        one_hot(idx, 7)
    with pytest.raises(ValueError, match="indices"):
        embedding_forward(idx, np.zeros((7, 2)))
    with pytest.raises(ValueError, match="indices"):
        Vocab("abc").decode([0, bad])


def test_bad_embedding_inputs_name_the_argument():
    with pytest.raises(ValueError, match=r"W_emb must be a 2-D array \(V, E\).*\(6,\)"):
        embedding_forward(np.zeros((2, 1), dtype=int), np.zeros(6))
    with pytest.raises(ValueError, match="indices must be an integer"):
        embedding_forward(np.zeros((2, 1)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="W_emb.*NaN"):
        embedding_forward(np.zeros((2, 1), dtype=int), np.full((3, 2), np.nan))
    _, cache = embedding_forward(np.zeros((2, 1), dtype=int), np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"dout must have shape \(T, N, E\) = \(2, 1, 2\).*\(2, 2\)"):
        embedding_backward(np.zeros((2, 2)), cache)
    with pytest.raises(ValueError, match="dout.*NaN"):
        embedding_backward(np.full((2, 1, 2), np.inf), cache)


def test_bad_vocab_arguments():
    with pytest.raises(ValueError, match="min_freq"):
        Vocab("abc", min_freq=0)
    with pytest.raises(ValueError, match="tokens must be strings"):
        Vocab([1, 2])
    with pytest.raises(ValueError, match="V must be"):
        one_hot(np.zeros(2, dtype=int), 0)
