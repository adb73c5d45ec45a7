// e^x on eight lanes with AVX2 and FMA: Cody–Waite range reduction x = n·ln2 + r, |r| ≤ ln2/2, and a degree-5
// polynomial for e^r fitted for relative error (below 2e-7 in float32), each step a fused multiply-add. The same
// algorithm as `branchFreeExp` in Kernels/VectorMath.swift, which Swift cannot write with fused multiply-adds (it
// does not contract a·b + c, and an explicit fma is a library call on a CPU without the instruction), so it needs
// about twice the instructions.
//
// Only the function attributes enable AVX2 and FMA: the target is compiled for the baseline CPU, and callers ask
// cfastexp_available() first.

#include "cfastexp.h"

#if defined(__x86_64__)

#include <immintrin.h>

int cfastexp_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

__attribute__((target("avx2,fma")))
static inline __m256 exp8(__m256 x) {
    // Adding 1.5·2^23 rounds to an integer; the 127 more leaves n + 127, the biased exponent of 2^n, in the low
    // mantissa bits, so that shifting them up gives 2^n. Clamped at −88, where n + 127 is 0: 2^n is then +0, so
    // everything at or below about −87.7 (n = −127) gives 0 exactly, −∞ and NaN included (max takes −88 for NaN).
    const __m256 magic = _mm256_set1_ps(12583039.0f);
    x = _mm256_max_ps(x, _mm256_set1_ps(-88.0f));
    __m256 t = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504f), magic);
    __m256 n = _mm256_sub_ps(t, magic);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fmadd_ps(n, _mm256_set1_ps(2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(8.29031455e-3f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.18979296e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.66676362e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.99991495e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(9.99999707e-1f));
    __m256 y = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    return _mm256_mul_ps(y, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(t), 23)));
}

// The pass over one row; `in_place` (a constant where it is inlined) keeps the weights in `logits` instead of
// writing zeros there.
__attribute__((target("avx2,fma")))
static inline double exponentiate(float *logits, float *weights, long count, float shift, int in_place) {
    const __m256 s = _mm256_set1_ps(shift), zero = _mm256_setzero_ps();
    __m256 acc = zero;
    long i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 w = exp8(_mm256_sub_ps(_mm256_loadu_ps(logits + i), s));
        _mm256_storeu_ps(weights + i, w);
        if (!in_place) _mm256_storeu_ps(logits + i, zero);
        acc = _mm256_add_ps(acc, w);
    }
    if (i < count) {   // the last 1–7: lanes at or past the end are neither read nor written nor added
        __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(count - i)), lane);
        __m256 w = exp8(_mm256_sub_ps(_mm256_maskload_ps(logits + i, mask), s));
        w = _mm256_and_ps(w, _mm256_castsi256_ps(mask));
        _mm256_maskstore_ps(weights + i, mask, w);
        if (!in_place) _mm256_maskstore_ps(logits + i, mask, zero);
        acc = _mm256_add_ps(acc, w);
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, acc);
    float sum = 0;
    for (int k = 0; k < 8; k++) sum += lanes[k];
    return (double)sum;
}

__attribute__((target("avx2,fma")))
double cfastexp_row(float *logits, float *weights, long count, float shift) {
    return exponentiate(logits, weights, count, shift, 0);
}

__attribute__((target("avx2,fma")))
double cfastexp_row_in_place(float *row, long count, float shift) {
    return exponentiate(row, row, count, shift, 1);
}

#else

int cfastexp_available(void) { return 0; }

double cfastexp_row(float *logits, float *weights, long count, float shift) {
    (void)logits; (void)weights; (void)count; (void)shift;
    __builtin_trap();   // callers ask cfastexp_available() first
}

double cfastexp_row_in_place(float *row, long count, float shift) {
    (void)row; (void)count; (void)shift;
    __builtin_trap();
}

#endif
