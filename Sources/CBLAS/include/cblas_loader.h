#ifndef MBT_CBLAS_LOADER_H
#define MBT_CBLAS_LOADER_H

#include <stddef.h>

/// The BLAS functions the project calls, through pointers that start at the OpenBLAS this program is linked
/// with and can be pointed at another OpenBLAS build loaded at run time. Row-major only; the enums take the
/// CBLAS values (101 row-major, 111 no transpose, 112 transpose).

/// Loads the shared library at `path` (an OpenBLAS build, its symbols plain, with the `scipy_` prefix of the
/// scipy-openblas32 wheels, or the `scipy_…64_` names of an ILP64 build such as the one NumPy's wheels bundle) and
/// routes every call below to it. Returns 0, or -1 with a message in `error`
/// (at most `capacity` bytes, NUL-terminated); on failure the previous routing stays. Not thread-safe: call
/// it before any other thread uses BLAS.
int mbt_blas_load(const char *path, char *error, size_t capacity);

/// Routes every call back to the linked OpenBLAS.
void mbt_blas_use_linked(void);

/// The path of the loaded library, or NULL when the linked one is in use.
const char *mbt_blas_loaded_path(void);

void mbt_blas_sgemm(int order, int transA, int transB, int m, int n, int k, float alpha, const float *a, int lda,
                    const float *b, int ldb, float beta, float *c, int ldc);
void mbt_blas_sgemv(int order, int transA, int m, int n, float alpha, const float *a, int lda, const float *x,
                    int incx, float beta, float *y, int incy);
void mbt_blas_set_num_threads(int count);
int mbt_blas_get_num_threads(void);
/// OpenBLAS's build description, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64".
const char *mbt_blas_config(void);

#endif
