#ifndef CFASTEXP_H
#define CFASTEXP_H

// The softmax kernels' exp-and-sum pass with AVX2 and FMA, chosen at run time. Imported only by
// Kernels/VectorMath.swift.

/// Nonzero when this CPU has AVX2 and FMA (x86-64 only; 0 on every other architecture).
int cfastexp_available(void);

/// weights[i] = e^(logits[i] - shift) and logits[i] = 0 for i < count; returns the sum of the weights (float32
/// lanes, added up in float64 at the end). Arguments after the shift must be at most about 1; at or below
/// about -87.7 (including -infinity), and NaN, they give 0. Call only when `cfastexp_available()` is nonzero.
double cfastexp_row(float *logits, float *weights, long count, float shift);

/// row[i] = e^(row[i] - shift) for i < count; returns their sum, as `cfastexp_row` does.
double cfastexp_row_in_place(float *row, long count, float shift);

#endif
