#ifndef CADAMREST_H
#define CADAMREST_H

// Dense Adam's resting steps (gradient zero, no decay) with AVX2, chosen at run time. Imported only by
// Kernels/SparseOptimizer+DenseAdam.swift.

/// Nonzero when this CPU has AVX2 (x86-64 only; 0 on every other architecture).
int cadamrest_available(void);

/// Row (theta, m, v) of `dim` floats takes `count` steps with gradient zero, step s with factor steps[s]:
/// m ← β₁·m + 0, v ← β₂·v + 0, θ ← θ − steps[s]·m / (√v + ε), in that order and float32, each operation rounded as
/// the portable Adam row rounds it (no fused multiply-add), so the results are bit for bit those of that row with a
/// zero gradient. Call only when `cadamrest_available()` is nonzero.
void cadamrest_steps(float *theta, float *m, float *v, long dim, const float *steps, long count, float beta1,
                     float beta2, float epsilon);

#endif
