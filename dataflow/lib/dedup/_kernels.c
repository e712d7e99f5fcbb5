/* Inner loops of the dedup kernels (MinHash minima, SimHash votes) in C.
 *
 * Each function computes exactly what the numpy code beside its Python caller computes (same integer
 * arithmetic, same results bit for bit; tests/lib/test_dedup_compiled.py compares them), in one pass
 * instead of one numpy pass per arithmetic step. Why C and not a JIT: numba gave the same speed but
 * costs ~145 MB of memory in every worker process that imports it, which alone breaks the pre-training
 * pipeline's 0.5 GB budget. GCC's target_clones compiles each loop for AVX-512, AVX2 and baseline x86-64
 * and picks one at load time, so a built wheel stays portable. The build is optional (setup.py): without
 * a compiler the numpy kernels run.
 *
 * Inputs come as buffers (numpy arrays, C-contiguous) and are checked before any write.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MERSENNE31 ((uint64_t)0x7FFFFFFFu)

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define DISPATCH __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define DISPATCH
#endif

/* out[run_doc[r]][k] = min(out[...][k], min over the run's reduced hashes h of (a_k*h + b_k) mod p).
 * The loop over the num_perm functions is innermost: it vectorises (32x32->64-bit multiplies, no
 * reduction chain) and the running minima stay in L1; with the shingle loop innermost it ran 4x slower. */
DISPATCH void dataflow_minhash_runs(const uint32_t *reduced, const int64_t *run_start, const int64_t *run_doc,
                                    Py_ssize_t n_runs, const uint32_t *a, const uint32_t *b, Py_ssize_t num_perm,
                                    uint32_t *out, uint32_t *best) {
    for (Py_ssize_t r = 0; r < n_runs; r++) {
        uint32_t *row = out + run_doc[r] * num_perm;
        memcpy(best, row, (size_t)num_perm * sizeof(uint32_t));
        for (int64_t i = run_start[r]; i < run_start[r + 1]; i++) {
            const uint64_t h = reduced[i];
            for (Py_ssize_t k = 0; k < num_perm; k++) {
                const uint64_t x = (uint64_t)a[k] * h + b[k]; /* < 2**62: exact */
                /* mod p: fold the high bits onto the low ones, then one conditional subtraction done in
                 * uint32 (s - p wraps above s when s < p), as the numpy kernel does. */
                const uint32_t s = (uint32_t)((x & MERSENNE31) + (x >> 31));
                const uint32_t t = s - (uint32_t)MERSENNE31;
                const uint32_t v = s < t ? s : t;
                best[k] = v < best[k] ? v : best[k];
            }
        }
        memcpy(row, best, (size_t)num_perm * sizeof(uint32_t));
    }
}

static inline uint64_t splitmix64(uint64_t x) {
    uint64_t z = x + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* MinHash of character n-gram shingles straight from normalised code points: document d is
 * codepoints[offsets[d]:offsets[d + 1]]. Each shingle's hash is shingles.py's _span_hashes (the polynomial
 * sum c_j * B**(j - start) mod 2**64, mixed with its length and splitmix64), reduced mod p, then the
 * MinHash loop; a non-empty document shorter than ngram is one shingle. No arrays of spans or hashes. */
DISPATCH void dataflow_minhash_chars(const uint32_t *cp, const int64_t *offsets, Py_ssize_t n_docs, Py_ssize_t ngram,
                                     const uint32_t *a, const uint32_t *b, Py_ssize_t num_perm, uint32_t *out,
                                     uint32_t *best, uint32_t *reduced) {
    const uint64_t base = 0x100000001B3ull, len_mix = 0xD6E8FEB86659FD93ull;
    for (Py_ssize_t d = 0; d < n_docs; d++) {
        const int64_t lo = offsets[d], length = offsets[d + 1] - offsets[d];
        if (length <= 0)
            continue;
        const int64_t count = length > ngram ? length - ngram + 1 : 1;
        for (int64_t s = 0; s < count; s++) {
            const int64_t span = length - s < ngram ? length - s : ngram;
            uint64_t h = 0;
            for (int64_t j = span - 1; j >= 0; j--)
                h = h * base + cp[lo + s + j];
            reduced[s] = (uint32_t)(splitmix64(h ^ ((uint64_t)span * len_mix)) % MERSENNE31);
        }
        int64_t run[2] = {0, count}, doc = d;
        dataflow_minhash_runs(reduced, run, &doc, 1, a, b, num_perm, out, best);
    }
}

/* votes[doc[i]][k] += +1 if bit k of hashes[i] is set, else -1. */
DISPATCH void dataflow_simhash_votes(const uint64_t *hashes, const int64_t *doc, Py_ssize_t n, Py_ssize_t bits,
                                     int64_t *votes) {
    for (Py_ssize_t i = 0; i < n; i++) {
        const uint64_t h = hashes[i];
        int64_t *row = votes + doc[i] * bits;
        for (Py_ssize_t k = 0; k < bits; k++)
            row[k] += (int64_t)((h >> k) & 1u) * 2 - 1;
    }
}

static int check_len(const Py_buffer *buf, Py_ssize_t items, Py_ssize_t itemsize, const char *name) {
    if (buf->len != items * itemsize) {
        PyErr_Format(PyExc_ValueError, "%s: expected %zd bytes, got %zd", name, items * itemsize, buf->len);
        return -1;
    }
    return 0;
}

static int check_rows(const int64_t *rows, Py_ssize_t n, Py_ssize_t limit, const char *name) {
    for (Py_ssize_t i = 0; i < n; i++) {
        if (rows[i] < 0 || rows[i] >= limit) {
            PyErr_Format(PyExc_IndexError, "%s[%zd] = %lld is outside [0, %zd)", name, i, (long long)rows[i], limit);
            return -1;
        }
    }
    return 0;
}

/* minhash_runs(reduced u32[m], run_start i64[R+1], run_doc i64[R], a u32[P], b u32[P], out u32[D*P] writable) */
static PyObject *py_minhash_runs(PyObject *self, PyObject *args) {
    Py_buffer reduced, start, doc, a, b, out;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*w*", &reduced, &start, &doc, &a, &b, &out))
        return NULL;
    PyObject *result = NULL;
    uint32_t *best = NULL;
    const Py_ssize_t m = reduced.len / 4, n_runs = doc.len / 8, num_perm = a.len / 4;
    const int64_t *starts = start.buf;
    if (check_len(&reduced, m, 4, "reduced") || check_len(&doc, n_runs, 8, "run_doc")
        || check_len(&start, n_runs + 1, 8, "run_start") || check_len(&b, num_perm, 4, "b") || num_perm < 1
        || out.len % (num_perm * 4) != 0)
        goto done;
    if (check_rows(doc.buf, n_runs, out.len / (num_perm * 4), "run_doc"))
        goto done;
    for (Py_ssize_t r = 0; r < n_runs; r++) {
        if (starts[r] < 0 || starts[r] > starts[r + 1] || starts[r + 1] > m) {
            PyErr_Format(PyExc_ValueError, "run_start is not a non-decreasing offset array within [0, %zd]", m);
            goto done;
        }
    }
    best = malloc((size_t)num_perm * sizeof(uint32_t));
    if (best == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    dataflow_minhash_runs(reduced.buf, starts, doc.buf, n_runs, a.buf, b.buf, num_perm, out.buf, best);
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    free(best);
    PyBuffer_Release(&reduced), PyBuffer_Release(&start), PyBuffer_Release(&doc);
    PyBuffer_Release(&a), PyBuffer_Release(&b), PyBuffer_Release(&out);
    return result;
}

/* minhash_chars(codepoints u32[m], offsets i64[D+1], ngram, a u32[P], b u32[P], out u32[D*P] writable) */
static PyObject *py_minhash_chars(PyObject *self, PyObject *args) {
    Py_buffer cp, offsets, a, b, out;
    Py_ssize_t ngram;
    if (!PyArg_ParseTuple(args, "y*y*ny*y*w*", &cp, &offsets, &ngram, &a, &b, &out))
        return NULL;
    PyObject *result = NULL;
    uint32_t *best = NULL, *reduced = NULL;
    const Py_ssize_t m = cp.len / 4, n_docs = offsets.len / 8 - 1, num_perm = a.len / 4;
    const int64_t *off = offsets.buf;
    int64_t longest = 1;
    if (check_len(&cp, m, 4, "codepoints") || n_docs < 0 || check_len(&offsets, n_docs + 1, 8, "offsets")
        || check_len(&b, num_perm, 4, "b") || num_perm < 1 || check_len(&out, n_docs * num_perm, 4, "out"))
        goto done;
    if (ngram < 1) {
        PyErr_SetString(PyExc_ValueError, "ngram must be >= 1");
        goto done;
    }
    for (Py_ssize_t d = 0; d < n_docs; d++) {
        if (off[d] < 0 || off[d] > off[d + 1] || off[d + 1] > m) {
            PyErr_Format(PyExc_ValueError, "offsets is not a non-decreasing offset array within [0, %zd]", m);
            goto done;
        }
        if (off[d + 1] - off[d] > longest)
            longest = off[d + 1] - off[d];
    }
    best = malloc((size_t)num_perm * sizeof(uint32_t));
    reduced = malloc((size_t)longest * sizeof(uint32_t));
    if (best == NULL || reduced == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    dataflow_minhash_chars(cp.buf, off, n_docs, ngram, a.buf, b.buf, num_perm, out.buf, best, reduced);
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    free(best), free(reduced);
    PyBuffer_Release(&cp), PyBuffer_Release(&offsets), PyBuffer_Release(&a), PyBuffer_Release(&b);
    PyBuffer_Release(&out);
    return result;
}

/* simhash_votes(hashes u64[n], doc i64[n], bits, votes i64[D*bits] writable) */
static PyObject *py_simhash_votes(PyObject *self, PyObject *args) {
    Py_buffer hashes, doc, votes;
    Py_ssize_t bits;
    if (!PyArg_ParseTuple(args, "y*y*nw*", &hashes, &doc, &bits, &votes))
        return NULL;
    PyObject *result = NULL;
    const Py_ssize_t n = hashes.len / 8;
    if (bits < 1 || bits > 64) {
        PyErr_SetString(PyExc_ValueError, "bits must be in [1, 64]");
        goto done;
    }
    if (check_len(&hashes, n, 8, "hashes") || check_len(&doc, n, 8, "doc") || votes.len % (bits * 8) != 0
        || check_rows(doc.buf, n, votes.len / (bits * 8), "doc"))
        goto done;
    Py_BEGIN_ALLOW_THREADS
    dataflow_simhash_votes(hashes.buf, doc.buf, n, bits, votes.buf);
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&hashes), PyBuffer_Release(&doc), PyBuffer_Release(&votes);
    return result;
}

static PyMethodDef methods[] = {
    {"minhash_runs", py_minhash_runs, METH_VARARGS, "Per-document minima of the MinHash functions."},
    {"minhash_chars", py_minhash_chars, METH_VARARGS, "MinHash of character n-grams from code points."},
    {"simhash_votes", py_simhash_votes, METH_VARARGS, "SimHash bit votes per document."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_kernels", "Dedup kernels in C.", -1, methods};

PyMODINIT_FUNC PyInit__kernels(void) { return PyModule_Create(&module); }
