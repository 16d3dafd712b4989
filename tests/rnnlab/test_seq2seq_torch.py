"""rnnlab.seq2seq_torch: its attention layers against rnnlab.attention, its contract."""

import numpy as np
import pytest
import torch

from rnnlab.attention import additive_attention_forward, dot_attention_forward
from rnnlab.seq2seq import (greedy_decode, make_batch, make_number_pairs, source_vocab,
                            target_vocab)
from rnnlab.seq2seq_torch import (AdditiveAttention, DotAttention, Seq2Seq,
                                  Seq2SeqConfig, exact_match, make_step, train_seq2seq,
                                  translate)


def _attention_problem(seed=0, S=5, N=3, H=4):
    rng = np.random.default_rng(seed)
    mask = np.ones((S, N))
    mask[3:, 1] = 0
    return rng.normal(size=(N, H)), rng.normal(size=(S, N, H)), mask


def test_additive_module_computes_rnnlab_attention():
    query, keys, mask = _attention_problem()
    module = AdditiveAttention(4, 4, 6).double()
    params = {"W_q": module.W_q.weight.detach().numpy(),
              "W_k": module.W_k.weight.detach().numpy(),
              "v": module.v.weight.detach().numpy()[0]}
    with torch.no_grad():
        c_t, w_t = module(torch.tensor(query), torch.tensor(keys), torch.tensor(mask))
    c, w, _ = additive_attention_forward(query, keys, params, mask)
    np.testing.assert_allclose(c_t.numpy(), c, rtol=1e-12)
    np.testing.assert_allclose(w_t.numpy(), w, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("scaled", [False, True])
@pytest.mark.parametrize("general", [False, True])
def test_dot_module_computes_rnnlab_attention(scaled, general):
    query, keys, mask = _attention_problem(1)
    module = DotAttention(4, 4, scaled) if general else DotAttention(scaled=scaled)
    module = module.double()
    with torch.no_grad():
        c_t, w_t = module(torch.tensor(query), torch.tensor(keys), torch.tensor(mask))
    if general:     # the "general" score is the dot product after the map W_q
        query = query @ module.W_q.weight.detach().numpy().T
    c, w, _ = dot_attention_forward(query, keys, mask, scaled=scaled)
    np.testing.assert_allclose(c_t.numpy(), c, rtol=1e-12)
    np.testing.assert_allclose(w_t.numpy(), w, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("attention", [None, "additive", "dot", "general"])
def test_encoder_ignores_padding_and_forward_has_one_logit_row_per_step(attention):
    torch.manual_seed(0)
    sv, tv = source_vocab(), target_vocab()
    pairs = make_number_pairs(6, 99_999, seed=0)
    model = Seq2Seq(len(sv), len(tv), Seq2SeqConfig(attention=attention)).eval()
    b = make_batch(pairs, sv, tv)
    src, mask = torch.as_tensor(b.src), torch.as_tensor(b.src_mask)
    with torch.no_grad():
        logits = model(src, mask, torch.as_tensor(b.tgt_in))
        keys, h = model.encode(src, mask)
        alone_keys, alone_h = model.encode(src[:, :1], mask[:, :1])
    assert logits.shape == (*b.tgt_in.shape, len(tv))
    # a sequence encodes the same alone or padded in a batch: the last state is at its
    # length
    L = int(b.src_mask[:, 0].sum())
    torch.testing.assert_close(h[:1], alone_h)
    torch.testing.assert_close(keys[:L, :1], alone_keys[:L])


def test_free_running_reads_its_own_predictions():
    # With teacher forcing off, the decoder inputs after the first are the model's
    # argmax, so changing the true targets beyond <bos> cannot change the logits.
    torch.manual_seed(0)
    sv, tv = source_vocab(), target_vocab()
    model = Seq2Seq(len(sv), len(tv), Seq2SeqConfig()).eval()
    b = make_batch(make_number_pairs(5, 9_999, seed=1), sv, tv)
    src, mask = torch.as_tensor(b.src), torch.as_tensor(b.src_mask)
    other = torch.as_tensor(b.tgt_in).clone()
    other[1:] = (other[1:] + 1) % len(tv)
    with torch.no_grad():
        free_a = model(src, mask, torch.as_tensor(b.tgt_in), teacher_forcing=False)
        free_b = model(src, mask, other, teacher_forcing=False)
        forced_b = model(src, mask, other, teacher_forcing=True)
    torch.testing.assert_close(free_a, free_b)
    assert not torch.allclose(free_a, forced_b)


def test_a_short_run_learns_and_translate_agrees_with_greedy():
    sv, tv = source_vocab(), target_vocab()
    train = make_number_pairs(300, 99, seed=0)
    test = make_number_pairs(40, 99, seed=1, split="test")
    config = Seq2SeqConfig(epochs=3, hidden=24, seed=0)
    model, history = train_seq2seq(train, sv, tv, config, valid=test)
    assert history["loss"][-1] < history["loss"][0]
    assert len(history["valid_acc"]) == 3
    preds = translate(model, test, sv, tv)
    assert exact_match(preds, test).mean() == pytest.approx(history["valid_acc"][-1])
    # beam width 1 is greedy decoding through the same step function
    assert translate(model, test, sv, tv, beam_width=1) == preds
    b = make_batch(test, sv, tv)
    with torch.no_grad():
        keys, h = model.encode(torch.as_tensor(b.src), torch.as_tensor(b.src_mask))
    seqs = greedy_decode(make_step(model, keys, torch.as_tensor(b.src_mask)), h, 4)
    assert ["".join(tv.decode(s)) if s else "" for s in seqs] == preds


def test_bad_attention_name():
    with pytest.raises(ValueError, match="config.attention"):
        Seq2Seq(10, 10, Seq2SeqConfig(attention="cosine"))
