"""Peer for Kotodama's GPU numbers: sentence-transformers and PyTorch on the same GPU.

Run on the GPU machine, from the repository root (needs torch with CUDA,
transformers and sentence-transformers; nothing is downloaded):

  python3 cuda/testdata/peer/st_gpu.py setup DIR [N]
      Writes a BERT-base (12 x 768, random weights, seed 0) in the
      sentence-transformers layout to DIR -- the bert-base-uncased tokenizer
      from testdata/golden, mean pooling, max_seq_length 128 -- and DIR/texts.txt:
      N texts (default 8192) of 200 words, so every text is cut to exactly 128
      tokens. Kotodama loads the same directory.

  python3 cuda/testdata/peer/st_gpu.py forward DIR BATCH [SEQ] [--tf32]
      The model's forward pass alone (sentence-transformers' own
      transformers BertModel, fp32, inference mode) on the token ids of
      `kotodama bench bert` (an LCG from 12345), full attention mask:
      compare with `kotodama bench bert -model DIR -batch BATCH -seq SEQ -device cuda`.

  python3 cuda/testdata/peer/st_gpu.py encode DIR BATCH [--tf32]
      SentenceTransformer.encode over DIR/texts.txt (tokenize, forward,
      pool): compare with `kotodama bench encode -model DIR -texts DIR/texts.txt
      -batch BATCH -device cuda`.

  python3 cuda/testdata/peer/st_gpu.py search N DIM QUERIES K
      Exact top-k by inner product in PyTorch on the GPU (uniform random
      data in [-0.5, 0.5) as `kotodama bench search`): the corpus resident
      in GPU memory, queries x corpus blocks by matmul, torch.topk per
      block, merged: compare with `kotodama bench search -device cuda`.

--tf32 sets torch.backends.cuda.matmul.allow_tf32 (compare with
-device cuda:tf32). Each measurement prints one JSON line. Timings are
the median (forward) or best (encode, search) after a warm-up, with
torch.cuda.synchronize() around every timed call.
"""
import json
import os
import random
import shutil
import statistics
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
TOKENIZER = os.path.join(HERE, "..", "..", "..", "testdata", "golden", "tokenizers", "bert-base-uncased")


def setup(out, n):
    from transformers import BertConfig, BertModel

    os.makedirs(os.path.join(out, "1_Pooling"), exist_ok=True)
    cfg = BertConfig(vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                     intermediate_size=3072, max_position_embeddings=512, type_vocab_size=2,
                     hidden_act="gelu", layer_norm_eps=1e-12, initializer_range=0.02)
    torch.manual_seed(0)
    model = BertModel(cfg)
    model.save_pretrained(out, safe_serialization=True)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(TOKENIZER, f), os.path.join(out, f))
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ]
    json.dump(modules, open(os.path.join(out, "modules.json"), "w"), indent=2)
    json.dump({"max_seq_length": 128, "do_lower_case": False}, open(os.path.join(out, "sentence_bert_config.json"), "w"))
    json.dump({"word_embedding_dimension": 768, "pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True,
               "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False},
              open(os.path.join(out, "1_Pooling", "config.json"), "w"), indent=2)
    # Words that are whole tokens of the vocabulary, so 200 words make
    # 200 tokens, well over 128.
    vocab = json.load(open(os.path.join(TOKENIZER, "tokenizer.json")))["model"]["vocab"]
    words = sorted(w for w in vocab if w.isascii() and w.isalpha() and w.islower() and len(w) >= 3)
    r = random.Random(0)
    with open(os.path.join(out, "texts.txt"), "w") as f:
        for _ in range(n):
            f.write(" ".join(r.choice(words) for _ in range(200)) + "\n")
    print(json.dumps({"model_dir": out, "texts": n, "params": sum(p.numel() for p in model.parameters())}))


def lcg_ids(batch, seq, vocab):
    # The ids of `kotodama bench bert` (and of ort_bench.mjs).
    ids, x = [], 12345
    for _ in range(batch * seq):
        x = (x * 1103515245 + 12345) % 2147483648
        ids.append((5 + x % 30000) % vocab)
    return torch.tensor(ids, dtype=torch.long).view(batch, seq)


def forward(d, batch, seq, min_time=10.0):
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(d, device="cuda")
    model = st[0].auto_model.eval()
    ids = lcg_ids(batch, seq, model.config.vocab_size).cuda()
    mask, types = torch.ones_like(ids), torch.zeros_like(ids)
    times = []
    with torch.inference_mode():
        model(input_ids=ids, attention_mask=mask, token_type_ids=types)  # warm-up
        torch.cuda.synchronize()
        t_start = time.perf_counter()
        while len(times) < 3 or (time.perf_counter() - t_start < min_time and len(times) < 200):
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            model(input_ids=ids, attention_mask=mask, token_type_ids=types)
            torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(json.dumps({"peer": "torch-" + torch.__version__, "what": "forward", "batch": batch, "seq": seq,
                      "tf32": torch.backends.cuda.matmul.allow_tf32, "median_s": med, "seq_per_s": batch / med,
                      "runs": len(times), "gpu": torch.cuda.get_device_name()}))


def encode(d, batch, repeat=3):
    from sentence_transformers import SentenceTransformer

    texts = [l.rstrip("\n") for l in open(os.path.join(d, "texts.txt"))]
    st = SentenceTransformer(d, device="cuda")
    st.encode(texts[:batch], batch_size=batch, convert_to_numpy=True, show_progress_bar=False)  # warm-up
    best = None
    for _ in range(repeat):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        st.encode(texts, batch_size=batch, convert_to_numpy=True, show_progress_bar=False)
        torch.cuda.synchronize()
        s = time.perf_counter() - t0
        best = s if best is None else min(best, s)
    import sentence_transformers
    print(json.dumps({"peer": "sentence-transformers-" + sentence_transformers.__version__, "what": "encode",
                      "texts": len(texts), "batch": batch, "max_seq_length": st.max_seq_length,
                      "tf32": torch.backends.cuda.matmul.allow_tf32, "seconds": best, "texts_per_s": len(texts) / best,
                      "gpu": torch.cuda.get_device_name()}))


def search(n, dim, nq, k, repeat=3, block=1 << 20):
    g = torch.Generator(device="cuda").manual_seed(1)
    x = torch.rand(n, dim, device="cuda", generator=g) - 0.5
    q = torch.rand(nq, dim, device="cuda", generator=g) - 0.5

    def topk():
        best_s = torch.full((nq, k), float("-inf"), device="cuda")
        best_i = torch.full((nq, k), -1, dtype=torch.long, device="cuda")
        for lo in range(0, n, block):
            s = q @ x[lo:lo + block].T
            v, i = torch.topk(s, min(k, s.shape[1]), dim=1)
            cat_s, cat_i = torch.cat([best_s, v], 1), torch.cat([best_i, i + lo], 1)
            best_s, j = torch.topk(cat_s, k, dim=1)
            best_i = torch.gather(cat_i, 1, j)
        return best_s, best_i

    topk()  # warm-up
    best = None
    for _ in range(repeat):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        topk()
        torch.cuda.synchronize()
        s = time.perf_counter() - t0
        best = s if best is None else min(best, s)
    print(json.dumps({"peer": "torch-" + torch.__version__, "what": "search", "n": n, "dim": dim, "queries": nq,
                      "k": k, "tf32": torch.backends.cuda.matmul.allow_tf32, "seconds": best, "qps": nq / best,
                      "gflops": 2 * n * dim * nq / best / 1e9, "gpu": torch.cuda.get_device_name()}))


def main():
    args = [a for a in sys.argv[1:] if a != "--tf32"]
    torch.backends.cuda.matmul.allow_tf32 = "--tf32" in sys.argv[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    cmd = args[0]
    if cmd == "setup":
        setup(args[1], int(args[2]) if len(args) > 2 else 8192)
    elif cmd == "forward":
        forward(args[1], int(args[2]), int(args[3]) if len(args) > 3 else 128)
    elif cmd == "encode":
        encode(args[1], int(args[2]))
    elif cmd == "search":
        search(int(args[1]), int(args[2]), int(args[3]), int(args[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
