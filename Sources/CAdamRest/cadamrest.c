// Dense Adam's resting steps on eight lanes with AVX2. The portable row (`adamRow` in
// Kernels/SparseOptimizer.swift) computes, with g = 0 and no decay, g' = 0 + 0·θ = +0, m ← β₁·m + (1 − β₁)·(+0),
// v ← β₂·v + (1 − β₂)·(+0)·(+0), θ ← θ − s·m / (√v + ε): for a finite θ that is m ← β₁·m + 0 and v ← β₂·v + 0 with
// every product and sum rounded to float32, which is what this loop does, without the gradient's loads and
// products. The eight lanes' sqrt and division are the IEEE operations of the four-lane ones, so the lane width
// changes no bit either. No fused multiply-add: only the function attribute enables AVX2, and the intrinsics are
// separate multiplies and adds.

#include "cadamrest.h"

#if defined(__x86_64__)

#include <immintrin.h>

#pragma clang fp contract(off)

int cadamrest_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}

__attribute__((target("avx2")))
void cadamrest_steps(float *theta, float *m, float *v, long dim, const float *steps, long count, float beta1,
                     float beta2, float epsilon) {
    const __m256 b1 = _mm256_set1_ps(beta1), b2 = _mm256_set1_ps(beta2), eps = _mm256_set1_ps(epsilon);
    const __m256 zero = _mm256_setzero_ps();
    const long lanes = dim - dim % 8;
    for (long s = 0; s < count; s++) {
        const float step = steps[s];
        const __m256 st = _mm256_set1_ps(step);
        for (long j = 0; j < lanes; j += 8) {
            __m256 mj = _mm256_add_ps(_mm256_mul_ps(b1, _mm256_loadu_ps(m + j)), zero);
            __m256 vj = _mm256_add_ps(_mm256_mul_ps(b2, _mm256_loadu_ps(v + j)), zero);
            _mm256_storeu_ps(m + j, mj);
            _mm256_storeu_ps(v + j, vj);
            __m256 t = _mm256_loadu_ps(theta + j);
            __m256 move = _mm256_div_ps(_mm256_mul_ps(st, mj), _mm256_add_ps(_mm256_sqrt_ps(vj), eps));
            _mm256_storeu_ps(theta + j, _mm256_sub_ps(t, move));
        }
        for (long j = lanes; j < dim; j++) {
            const float mj = beta1 * m[j] + 0.0f;
            const float vj = beta2 * v[j] + 0.0f;
            m[j] = mj;
            v[j] = vj;
            theta[j] = theta[j] - step * mj / (__builtin_sqrtf(vj) + epsilon);
        }
    }
}

#else

int cadamrest_available(void) { return 0; }

void cadamrest_steps(float *theta, float *m, float *v, long dim, const float *steps, long count, float beta1,
                     float beta2, float epsilon) {
    (void)theta; (void)m; (void)v; (void)dim; (void)steps; (void)count; (void)beta1; (void)beta2; (void)epsilon;
    __builtin_trap();
}

#endif
