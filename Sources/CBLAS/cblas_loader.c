#include "cblas_loader.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

// The linked OpenBLAS (libopenblas-dev). The enum parameters of cblas.h are ints in the C ABI.
extern void cblas_sgemm(int, int, int, int, int, int, float, const float *, int, const float *, int, float,
                        float *, int);
extern void cblas_sgemv(int, int, int, int, float, const float *, int, const float *, int, float, float *, int);
extern void openblas_set_num_threads(int);
extern int openblas_get_num_threads(void);
extern char *openblas_get_config(void);

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float,
                         float *, int);
typedef void (*sgemv_fn)(int, int, int, int, float, const float *, int, const float *, int, float, float *, int);
// The same two routines of an ILP64 build (64-bit integer arguments; the enums stay ints), such as the
// `scipy_…64_` symbols of the OpenBLAS that NumPy's wheels bundle.
typedef void (*sgemm64_fn)(int, int, int, long long, long long, long long, float, const float *, long long,
                           const float *, long long, float, float *, long long);
typedef void (*sgemv64_fn)(int, int, long long, long long, float, const float *, long long, const float *, long long,
                           float, float *, long long);
typedef void (*set_threads_fn)(int);
typedef int (*get_threads_fn)(void);
typedef char *(*config_fn)(void);

struct routing {
    sgemm_fn sgemm;
    sgemv_fn sgemv;
    set_threads_fn set_threads;
    get_threads_fn get_threads;
    config_fn config;
    sgemm64_fn sgemm64;   // set instead of sgemm and sgemv for an ILP64 build
    sgemv64_fn sgemv64;
};

#define LINKED_ROUTING \
    { cblas_sgemm, cblas_sgemv, openblas_set_num_threads, openblas_get_num_threads, openblas_get_config, NULL, NULL }
static const struct routing linked = LINKED_ROUTING;
static struct routing current = LINKED_ROUTING;
static char loaded_path[4096];

static void *symbol(void *handle, const char *prefix, const char *name, const char *suffix) {
    char full[128];
    snprintf(full, sizeof full, "%s%s%s", prefix, name, suffix);
    return dlsym(handle, full);
}

int mbt_blas_load(const char *path, char *error, size_t capacity) {
    if (strlen(path) >= sizeof loaded_path) {
        snprintf(error, capacity, "BLAS library path is longer than %zu bytes", sizeof loaded_path - 1);
        return -1;
    }
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        snprintf(error, capacity, "cannot load BLAS library %s: %s", path, dlerror());
        return -1;
    }
    // Plain symbols, the scipy-openblas32 prefix, and the scipy-openblas64 names (prefix and suffix). Whether the
    // integers are 64-bit (ILP64) is read from the build's configuration, since an ILP64 build may also use
    // plain names (Debian's libopenblas64).
    static const struct { const char *prefix, *suffix; } names[] = {{"", ""}, {"scipy_", ""}, {"scipy_", "64_"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *p = names[i].prefix, *x = names[i].suffix;
        void *gemm = symbol(handle, p, "cblas_sgemm", x), *gemv = symbol(handle, p, "cblas_sgemv", x);
        struct routing r = {
            NULL, NULL,
            (set_threads_fn)symbol(handle, p, "openblas_set_num_threads", x),
            (get_threads_fn)symbol(handle, p, "openblas_get_num_threads", x),
            (config_fn)symbol(handle, p, "openblas_get_config", x),
            NULL, NULL,
        };
        int routines = gemm && gemv;
        if (routines && r.config) {
            const char *config = r.config();
            if (config && strstr(config, "USE64BITINT")) {
                r.sgemm64 = (sgemm64_fn)gemm;
                r.sgemv64 = (sgemv64_fn)gemv;
            } else {
                r.sgemm = (sgemm_fn)gemm;
                r.sgemv = (sgemv_fn)gemv;
            }
        }
        if (routines && r.set_threads && r.get_threads && r.config) {
            current = r;
            strcpy(loaded_path, path);
            return 0;
        }
    }
    dlclose(handle);
    snprintf(error, capacity,
             "%s is not an OpenBLAS build: it lacks cblas_sgemm, cblas_sgemv, openblas_set_num_threads, "
             "openblas_get_num_threads or openblas_get_config (plain, with the scipy_ prefix, or as the "
             "scipy_…64_ names of an ILP64 build)", path);
    return -1;
}

void mbt_blas_use_linked(void) {
    current = linked;
    loaded_path[0] = 0;
}

const char *mbt_blas_loaded_path(void) { return loaded_path[0] ? loaded_path : NULL; }

void mbt_blas_sgemm(int order, int transA, int transB, int m, int n, int k, float alpha, const float *a, int lda,
                    const float *b, int ldb, float beta, float *c, int ldc) {
    if (current.sgemm64) {
        current.sgemm64(order, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    } else {
        current.sgemm(order, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }
}

void mbt_blas_sgemv(int order, int transA, int m, int n, float alpha, const float *a, int lda, const float *x,
                    int incx, float beta, float *y, int incy) {
    if (current.sgemv64) {
        current.sgemv64(order, transA, m, n, alpha, a, lda, x, incx, beta, y, incy);
    } else {
        current.sgemv(order, transA, m, n, alpha, a, lda, x, incx, beta, y, incy);
    }
}

void mbt_blas_set_num_threads(int count) { current.set_threads(count); }

int mbt_blas_get_num_threads(void) { return current.get_threads(); }

const char *mbt_blas_config(void) { return current.config(); }
