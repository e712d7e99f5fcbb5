"""Tests for the vectorised near-duplicate kernels (dataflow.lib.dedup)."""

from __future__ import annotations

import random
import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from dataflow.lib import dedup as dk
from dataflow.lib.dedup import minhash, shingles
from dataflow.lib.dedup.minhash import _permutation_params
from dataflow.lib.dedup.shingles import _CLASS_SCAN_LIMIT, _shingle_chunks
from tests.operators.general_text.helpers import hotpot_paragraphs as _hotpot_paragraphs

REPO = Path(__file__).resolve().parents[2]


def word_shingles(text: str, n: int) -> set[str]:
    """Reference shingling written independently of the kernels (same documented semantics)."""
    words = dk.normalize_for_hash([text])[0].split()
    if not words:
        return set()
    return {" ".join(words[i : i + n]) for i in range(max(1, len(words) - n + 1))}


def char_shingles(text: str, n: int) -> set[str]:
    norm = dk.normalize_for_hash([text])[0]
    if not norm:
        return set()
    return {norm[i : i + n] for i in range(max(1, len(norm) - n + 1))}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def components_reference(n: int, pairs) -> np.ndarray:
    """Plain BFS connected components, labelled by their lowest index."""
    adjacency: dict[int, list[int]] = {i: [] for i in range(n)}
    for i, j in pairs:
        adjacency[int(i)].append(int(j))
        adjacency[int(j)].append(int(i))
    label = np.full(n, -1, dtype=np.int64)
    for root in range(n):
        if label[root] >= 0:
            continue
        label[root] = root
        stack = [root]
        while stack:
            node = stack.pop()
            for nxt in adjacency[node]:
                if label[nxt] < 0:
                    label[nxt] = root
                    stack.append(nxt)
    return label


# ---------------------------------------------------------------------------------------------------
# normalisation and exact hashes


def test_normalize_for_hash_edges():
    texts = [
        "Don't  STOP!\n",
        "",
        "   \t\n ",
        "Héllo, Wörld…  x\t\ty ",
        "a.b",
        "!!!",
        "\u00a0end\u2003 ",
        "«Quoted» — dash-word",
        "$5 + 3 = 8",
        "ΣΊΣΥΦΟΣ",
    ]
    assert dk.normalize_for_hash(texts) == [
        "dont stop",
        "",
        "",
        "héllo wörld x y",
        "ab",
        "",
        "end",
        "quoted dashword",
        "$5 + 3 = 8",  # symbols are not punctuation
        "σίσυφος",
    ]
    assert dk.normalize_for_hash([]) == []


def test_char_class_table_covers_all_of_unicode():
    # The table is only scanned below _CLASS_SCAN_LIMIT; nothing above may be punctuation/whitespace.
    for cp in range(_CLASS_SCAN_LIMIT, sys.maxunicode + 1):
        ch = chr(cp)
        assert not ch.isspace() and unicodedata.category(ch)[0] != "P", hex(cp)


def test_exact_hashes():
    texts = ["Hello,   World!", "hello world", "hello  world.", "hello there", "", "  "]
    h = dk.exact_hashes(texts)
    assert h.dtype == np.uint64 and h.shape == (6,)
    assert h[0] == h[1] == h[2]
    assert h[3] != h[0]
    assert h[4] == h[5] != h[0]
    raw = dk.exact_hashes(texts, normalize=False)
    assert len(set(raw.tolist())) == 6


# ---------------------------------------------------------------------------------------------------
# MinHash


def test_minhash_shape_dtype_and_identity():
    texts = [
        "the quick brown fox jumps over the lazy dog today",
        "The quick brown fox, jumps over the LAZY dog today!",
        "an entirely different sentence about minhash signatures and more",
    ]
    sig = dk.minhash_signatures(texts, num_perm=64)
    assert sig.shape == (3, 64) and sig.dtype == np.uint32
    assert np.array_equal(sig[0], sig[1])  # equal after normalisation
    assert (sig[0] == sig[2]).mean() < 0.2
    assert not np.array_equal(sig, dk.minhash_signatures(texts, num_perm=64, seed=7))
    # Hash functions are derived from (seed, index), so fewer permutations give a prefix.
    assert np.array_equal(sig[:, :32], dk.minhash_signatures(texts, num_perm=32))


def test_minhash_empty_and_short_documents():
    texts = ["", "   ", "!!", "hello world", "Hello, world!", "hello there", "x"]
    sig = dk.minhash_signatures(texts, num_perm=32, ngram=5)
    empty = np.full(32, dk.EMPTY_SIGNATURE_VALUE, dtype=np.uint32)
    for i in range(3):
        assert np.array_equal(sig[i], empty)
    # Fewer words than ngram: the whole text is one shingle.
    assert np.array_equal(sig[3], sig[4])
    assert (sig[3] == sig[5]).sum() == 0
    assert (sig[6] != dk.EMPTY_SIGNATURE_VALUE).all()
    char_sig = dk.minhash_signatures(["ab", "AB!", "abc"], num_perm=16, ngram=5, tokenize="char")
    assert np.array_equal(char_sig[0], char_sig[1]) and not np.array_equal(char_sig[0], char_sig[2])


def test_minhash_matches_scalar_reference():
    """Recompute every value with Python integers: min over shingles of (a*h + b) mod (2**31 - 1)."""
    texts = ["one two three four five six seven eight", "", "alpha beta", "zeta eta theta iota kappa"]
    num_perm, seed = 24, 3
    sig = dk.minhash_signatures(texts, num_perm=num_perm, ngram=3, seed=seed)
    a, b = _permutation_params(num_perm, seed)
    p = (1 << 31) - 1
    ((_, _, hashes, shingle_doc),) = list(_shingle_chunks(texts, 3, "word", True))
    assert np.bincount(shingle_doc, minlength=4).tolist() == [6, 0, 1, 3]
    for doc in (0, 2, 3):
        hs = [int(h) % p for h in hashes[shingle_doc == doc]]
        expected = [min((int(a[k]) * h + int(b[k])) % p for h in hs) for k in range(num_perm)]
        assert sig[doc].tolist() == expected


def test_minhash_estimates_jaccard():
    rng = random.Random(1)
    vocab = [f"w{i}" for i in range(5000)]
    base = rng.sample(vocab, 400)
    for overlap in (100, 250, 350):
        other = base[:overlap] + rng.sample([w for w in vocab if w not in base], 400 - overlap)
        a, b = " ".join(base), " ".join(other)
        true = jaccard(word_shingles(a, 1), word_shingles(b, 1))
        sig = dk.minhash_signatures([a, b], num_perm=512, ngram=1)
        estimate = (sig[0] == sig[1]).mean()
        assert abs(estimate - true) < 0.07, (overlap, estimate, true)


def test_minhash_independent_of_chunking(monkeypatch):
    """Documents split across normalisation chunks and broadcast blocks give the same signatures."""
    rng = random.Random(5)
    words = [f"tok{i}" for i in range(300)]
    texts = [" ".join(rng.choices(words, k=rng.randint(0, 120))) for _ in range(60)]
    singles = np.vstack([dk.minhash_signatures([t], num_perm=16, ngram=3) for t in texts])
    monkeypatch.setattr(shingles, "_CHUNK_CODEPOINTS", 500)
    monkeypatch.setattr(minhash, "_MINHASH_BLOCK_ELEMS", 16 * 7)
    assert np.array_equal(dk.minhash_signatures(texts, num_perm=16, ngram=3), singles)
    char_single = np.vstack([dk.minhash_signatures([t], num_perm=8, tokenize="char") for t in texts])
    assert np.array_equal(dk.minhash_signatures(texts, num_perm=8, tokenize="char"), char_single)


def test_hashes_deterministic_across_processes():
    code = (
        "from dataflow.lib import dedup as dk;"
        "t=['alpha beta gamma delta epsilon zeta', 'héllo wörld', ''];"
        "print(dk.minhash_signatures(t, num_perm=8).tobytes().hex());"
        "print(dk.exact_hashes(t).tobytes().hex());"
        "print(dk.simhash_fingerprints(t).tobytes().hex())"
    )
    outputs = set()
    for hash_seed in ("1", "2"):
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO,
            env={"PYTHONHASHSEED": hash_seed, "PATH": "/usr/bin:/bin"},
        )
        outputs.add(result.stdout)
    assert len(outputs) == 1
    # ... and pinned, so a silent change of the hash scheme is noticed.
    first_line = outputs.pop().splitlines()[0]
    here = dk.minhash_signatures(["alpha beta gamma delta epsilon zeta", "héllo wörld", ""], num_perm=8)
    assert first_line == here.tobytes().hex()


# ---------------------------------------------------------------------------------------------------
# LSH and clustering


def test_optimal_bands_rows():
    for threshold in (0.5, 0.7, 0.8, 0.9):
        bands, rows = dk.optimal_bands_rows(threshold, 128)
        assert bands * rows <= 128
        # The S-curve's steepest point (1/b)**(1/r) sits near the threshold.
        assert abs((1 / bands) ** (1 / rows) - threshold) < 0.1
    plain = dk.optimal_bands_rows(0.8, 128)
    recall = dk.optimal_bands_rows(0.8, 128, false_positive_weight=0.1, false_negative_weight=0.9)

    def p_candidate(br, s):
        return 1 - (1 - s ** br[1]) ** br[0]

    assert p_candidate(recall, 0.8) > p_candidate(plain, 0.8)
    with pytest.raises(ValueError):
        dk.optimal_bands_rows(1.0, 128)


def test_lsh_candidate_pairs_small():
    sig = np.array(
        [
            [1, 2, 3, 4, 5, 6],
            [1, 2, 9, 9, 9, 9],  # shares band 0 with doc 0
            [7, 7, 3, 4, 8, 8],  # shares band 1 with doc 0
            [0, 0, 0, 0, 0, 0],
            [5, 5, 5, 5, 6, 6],
        ],
        dtype=np.uint32,
    )
    pairs = dk.lsh_candidate_pairs(sig, bands=3, rows=2)
    assert pairs.tolist() == [[0, 1], [0, 2]]
    assert dk.lsh_candidate_pairs(sig, bands=1, rows=6).shape == (0, 2)
    with pytest.raises(ValueError):
        dk.lsh_candidate_pairs(sig, bands=4, rows=2)


def test_lsh_big_bucket_becomes_star():
    sig = np.zeros((100, 4), dtype=np.uint32)
    sig[50:, :] = 9
    pairs = dk.lsh_candidate_pairs(sig, bands=2, rows=2, max_bucket=10)
    assert len(pairs) == 49 + 49
    assert set(pairs[:, 0].tolist()) == {0, 50}
    cluster = dk.cluster_duplicates(100, pairs)
    assert cluster.tolist() == [0] * 50 + [50] * 50
    all_pairs = dk.lsh_candidate_pairs(sig[:20], bands=2, rows=2, max_bucket=64)
    assert len(all_pairs) == 20 * 19 // 2


def test_cluster_duplicates_matches_bfs():
    rng = np.random.default_rng(0)
    for n, m in ((1, 0), (10, 0), (50, 30), (2000, 1500), (2000, 4000)):
        pairs = rng.integers(0, n, size=(m, 2))
        expected = components_reference(n, pairs)
        assert np.array_equal(dk.cluster_duplicates(n, pairs), expected)
    # A long path in reverse order needs many hook rounds.
    path = np.stack((np.arange(1, 500), np.arange(0, 499)), axis=1)[::-1]
    assert (dk.cluster_duplicates(500, path) == 0).all()


def test_cluster_duplicates_verifies_with_signatures():
    sig = np.array([[1, 2, 3, 4], [1, 2, 3, 9], [1, 8, 8, 8], [1, 2, 3, 4]], dtype=np.uint32)
    pairs = np.array([[0, 1], [0, 2], [2, 3]])
    assert dk.cluster_duplicates(4, pairs).tolist() == [0, 0, 0, 0]
    # Estimated Jaccard: (0,1) 0.75, (0,2) 0.25, (2,3) 0.25.
    assert dk.cluster_duplicates(4, pairs, signatures=sig, threshold=0.7).tolist() == [0, 0, 2, 3]
    with pytest.raises(ValueError):
        dk.cluster_duplicates(4, pairs, signatures=sig)


# ---------------------------------------------------------------------------------------------------
# SimHash


LONG_TEXT = (
    "SimHash maps a document to a short fingerprint so that similar documents get fingerprints "
    "that differ in only a few bits. Every shingle votes on every bit of the fingerprint, and a "
    "bit is set when most shingles have it set. Small edits change few votes, so the fingerprint "
    "moves by a handful of bits at most, while unrelated documents differ in about half of them. "
    "This property makes it practical to find near duplicates among billions of web pages using "
    "permuted tables of fingerprint blocks, as described by Manku, Jain and Das Sarma in 2007."
)


def test_simhash_fingerprints():
    edited = LONG_TEXT.replace("handful", "couple")
    other = "A completely unrelated paragraph about cooking pasta with garlic, olive oil and chili."
    fps = dk.simhash_fingerprints([LONG_TEXT, LONG_TEXT.upper(), edited, other, "", "hi"])
    assert fps.dtype == np.uint64
    distance = [bin(int(fps[0]) ^ int(f)).count("1") for f in fps]
    assert distance[1] == 0
    assert distance[2] <= 8
    assert distance[3] >= 16
    assert fps[4] == 0 and fps[5] != 0
    small = dk.simhash_fingerprints([LONG_TEXT, other], bits=16)
    assert (small < (1 << 16)).all()


@pytest.mark.parametrize("max_distance,blocks", [(0, None), (3, None), (3, 6), (5, 8), (2, 3)])
def test_simhash_candidate_pairs_match_brute_force(max_distance, blocks):
    rng = np.random.default_rng(max_distance * 10 + (blocks or 0))
    base = rng.integers(0, 2**64, size=300, dtype=np.uint64)
    # Plant neighbours at distances 0..max_distance+2.
    planted = []
    for k in range(300):
        flips = rng.choice(64, size=int(rng.integers(0, max_distance + 3)), replace=False)
        mask = np.uint64(sum(1 << int(f) for f in flips))
        planted.append(base[k] ^ mask)
    fps = np.concatenate((base, np.array(planted, dtype=np.uint64)))
    got = dk.simhash_candidate_pairs(fps, max_distance=max_distance, blocks=blocks)
    diff = fps[:, None] ^ fps[None, :]
    dist = np.bitwise_count(diff)
    i, j = np.nonzero(np.triu(dist <= max_distance, k=1))
    assert got.tolist() == np.stack((i, j), axis=1).tolist()
    assert len(got) >= 50


def test_simhash_candidate_pairs_rejects_bad_blocks():
    with pytest.raises(ValueError):
        dk.simhash_candidate_pairs(np.zeros(3, dtype=np.uint64), max_distance=3, blocks=3)


# ---------------------------------------------------------------------------------------------------
# n-gram hash sets


def test_ngram_hash_signatures_are_sorted_sets():
    texts = ["a b c d a b c d", "", "one", "x y z"]
    sets = dk.ngram_hash_signatures(texts, ngram=2)
    sizes = np.diff(sets.offsets).tolist()
    assert sizes == [len(word_shingles(t, 2)) for t in texts] == [4, 0, 1, 2]
    for i in range(len(texts)):
        part = sets.hashes[sets.offsets[i] : sets.offsets[i + 1]]
        assert np.all(part[1:] > part[:-1])


def test_ngram_overlap_pairs_exact_on_text():
    rng = random.Random(3)
    words = [f"v{i}" for i in range(2000)]
    base = [" ".join(rng.sample(words, 60)) for _ in range(40)]
    texts = list(base)
    for k in range(0, 40, 2):  # near copies: replace a few words
        tokens = base[k].split()
        for pos in rng.sample(range(60), k // 4):
            tokens[pos] = "zz" + str(pos)
        texts.append(" ".join(tokens))
    texts += ["", "", "short"]
    for threshold in (0.5, 0.8):
        pairs, jac = dk.ngram_overlap_pairs(dk.ngram_hash_signatures(texts, ngram=3), threshold=threshold)
        expected = {}
        shingles = [word_shingles(t, 3) for t in texts]
        for i in range(len(texts)):
            for j in range(i + 1, len(texts)):
                if shingles[i] and shingles[j]:
                    value = jaccard(shingles[i], shingles[j])
                    if value >= threshold:
                        expected[(i, j)] = value
        assert {tuple(p) for p in pairs.tolist()} == set(expected)
        for (i, j), value in zip(pairs.tolist(), jac):
            assert value == pytest.approx(expected[(i, j)])
        assert len(expected) >= 5


def test_ngram_overlap_pairs_random_sets_brute_force():
    rng = np.random.default_rng(11)
    sets_py = []
    for _ in range(200):
        size = int(rng.integers(0, 40))
        sets_py.append(set(rng.integers(0, 120, size).tolist()))  # small universe: many overlaps
    for k in range(0, 200, 5):
        sets_py.append(set(sets_py[k]) | {1000 + k})
    sizes = [len(s) for s in sets_py]
    hashes = np.concatenate([np.array(sorted(s), dtype=np.uint64) for s in sets_py])
    offsets = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    for threshold in (0.3, 0.6, 0.9, 1.0):
        pairs, _ = dk.ngram_overlap_pairs(dk.NgramHashSets(hashes, offsets), threshold=threshold)
        expected = {
            (i, j)
            for i in range(len(sets_py))
            for j in range(i + 1, len(sets_py))
            if sets_py[i] and sets_py[j] and jaccard(sets_py[i], sets_py[j]) >= threshold - 1e-12
        }
        assert {tuple(p) for p in pairs.tolist()} == expected, threshold


# ---------------------------------------------------------------------------------------------------
# semantic


def test_semantic_duplicate_pairs_small():
    emb = np.array([[1.0, 0.0], [2.0, 0.01], [0.0, 1.0], [0.0, 0.0], [-1.0, 0.0]])
    pairs, sims = dk.semantic_duplicate_pairs(emb, 0.99, block=2, return_similarity=True)
    assert pairs.tolist() == [[0, 1]]
    assert sims[0] == pytest.approx(1.0, abs=1e-4)
    assert dk.semantic_duplicate_pairs(np.zeros((0, 4)), 0.9).shape == (0, 2)


def test_semantic_duplicate_pairs_blockwise_equals_full():
    rng = np.random.default_rng(2)
    emb = rng.normal(size=(300, 32))
    emb[150:200] = emb[:50] + rng.normal(scale=0.1, size=(50, 32))
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    i, j = np.nonzero(np.triu(unit @ unit.T >= 0.95, k=1))
    for block in (7, 64, 1000):
        got = dk.semantic_duplicate_pairs(emb, 0.95, block=block)
        assert got.tolist() == np.stack((i, j), axis=1).tolist()
    assert len(i) >= 45


# ---------------------------------------------------------------------------------------------------
# real data: planted near duplicates


def _char_edits(text: str, rate: float, rng: random.Random) -> str:
    """Apply round(rate * len) random substitutions / insertions / deletions of characters."""
    chars = list(text)
    for _ in range(max(1, round(rate * len(chars)))):
        pos = rng.randrange(len(chars))
        op = rng.random()
        if op < 0.5:
            chars[pos] = rng.choice("abcdefghijklmnopqrstuvwxyz ")
        elif op < 0.75:
            chars.insert(pos, rng.choice("abcdefghijklmnopqrstuvwxyz "))
        else:
            del chars[pos]
    return "".join(chars)


def test_minhash_dedup_finds_planted_near_duplicates():
    """~1,000 unique 3-paragraph Wikipedia documents plus ~700 planted near copies.

    Each copy has its paragraphs shuffled (half of them) and 0.5-5% random character edits. With
    character 5-gram shingles 2-5% edits alone put the true Jaccard at about 0.65-0.83, so the range
    starts at 0.5% to have plenty of copies on both sides of the 0.8 threshold; only copies whose
    true Jaccard (computed on the same shingles) is >= 0.8 count towards recall.

    MinHash has a soft threshold (128 permutations estimate J=0.8 with a standard error of ~0.035),
    so recall at J >= 0.8 needs banding tuned towards recall: false negatives weigh 0.9 in
    optimal_bands_rows and LSH candidates are linked without re-checking the estimate.
    """
    paragraphs = _hotpot_paragraphs()
    rng = random.Random(7)
    rng.shuffle(paragraphs)
    groups = [paragraphs[i : i + 3] for i in range(0, len(paragraphs) - 2, 3)]
    unique_docs = ["\n\n".join(g) for g in groups]
    planted, source = [], []
    for i, group in enumerate(groups):
        if rng.random() < 0.7:
            order = list(group)
            if rng.random() < 0.5:
                rng.shuffle(order)
            planted.append(_char_edits("\n\n".join(order), rng.uniform(0.005, 0.05), rng))
            source.append(i)
    docs = unique_docs + planted
    n_unique = len(unique_docs)

    true_j = np.array([jaccard(char_shingles(unique_docs[s], 5), char_shingles(p, 5)) for s, p in
                       zip(source, planted)])
    counted = true_j >= 0.8
    assert counted.sum() >= 150 and (true_j < 0.8).sum() >= 150

    sig = dk.minhash_signatures(docs, num_perm=128, ngram=5, tokenize="char")
    bands, rows = dk.optimal_bands_rows(0.8, 128, false_positive_weight=0.1, false_negative_weight=0.9)
    pairs = dk.lsh_candidate_pairs(sig, bands=bands, rows=rows)
    cluster = dk.cluster_duplicates(len(docs), pairs)
    found = np.array([cluster[n_unique + k] == cluster[s] for k, s in enumerate(source)])
    recall = found[counted].mean()
    unique_removed = (cluster[:n_unique] != np.arange(n_unique)).mean()
    assert recall >= 0.95, recall
    assert unique_removed < 0.01, unique_removed
    # The kept row of every found group is the original (lowest index).
    assert all(cluster[s] == s for s, f in zip(source, found) if f)

    # Re-checking candidates against the estimated Jaccard trades some recall for precision: pairs
    # far below the threshold are then never merged.
    verified = dk.cluster_duplicates(len(docs), pairs, signatures=sig, threshold=0.8)
    found_v = np.array([verified[n_unique + k] == verified[s] for k, s in enumerate(source)])
    assert found_v[counted].mean() >= 0.85
    assert not found_v[true_j < 0.65].any()
