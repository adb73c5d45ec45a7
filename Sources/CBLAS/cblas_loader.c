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
typedef void (*set_threads_fn)(int);
typedef int (*get_threads_fn)(void);
typedef char *(*config_fn)(void);

struct routing {
    sgemm_fn sgemm;
    sgemv_fn sgemv;
    set_threads_fn set_threads;
    get_threads_fn get_threads;
    config_fn config;
};

#define LINKED_ROUTING \
    { cblas_sgemm, cblas_sgemv, openblas_set_num_threads, openblas_get_num_threads, openblas_get_config }
static const struct routing linked = LINKED_ROUTING;
static struct routing current = LINKED_ROUTING;
static char loaded_path[4096];

static void *symbol(void *handle, const char *prefix, const char *name) {
    char full[128];
    snprintf(full, sizeof full, "%s%s", prefix, name);
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
    static const char *const prefixes[] = {"", "scipy_"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        const char *p = prefixes[i];
        struct routing r = {
            (sgemm_fn)symbol(handle, p, "cblas_sgemm"),
            (sgemv_fn)symbol(handle, p, "cblas_sgemv"),
            (set_threads_fn)symbol(handle, p, "openblas_set_num_threads"),
            (get_threads_fn)symbol(handle, p, "openblas_get_num_threads"),
            (config_fn)symbol(handle, p, "openblas_get_config"),
        };
        if (r.sgemm && r.sgemv && r.set_threads && r.get_threads && r.config) {
            current = r;
            strcpy(loaded_path, path);
            return 0;
        }
    }
    dlclose(handle);
    snprintf(error, capacity,
             "%s is not an OpenBLAS build: it lacks cblas_sgemm, cblas_sgemv, openblas_set_num_threads, "
             "openblas_get_num_threads or openblas_get_config (plain or with the scipy_ prefix)", path);
    return -1;
}

void mbt_blas_use_linked(void) {
    current = linked;
    loaded_path[0] = 0;
}

const char *mbt_blas_loaded_path(void) { return loaded_path[0] ? loaded_path : NULL; }

void mbt_blas_sgemm(int order, int transA, int transB, int m, int n, int k, float alpha, const float *a, int lda,
                    const float *b, int ldb, float beta, float *c, int ldc) {
    current.sgemm(order, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void mbt_blas_sgemv(int order, int transA, int m, int n, float alpha, const float *a, int lda, const float *x,
                    int incx, float beta, float *y, int incy) {
    current.sgemv(order, transA, m, n, alpha, a, lda, x, incx, beta, y, incy);
}

void mbt_blas_set_num_threads(int count) { current.set_threads(count); }

int mbt_blas_get_num_threads(void) { return current.get_threads(); }

const char *mbt_blas_config(void) { return current.config(); }
