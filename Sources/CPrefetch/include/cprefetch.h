#ifndef CPREFETCH_H
#define CPREFETCH_H

// Software prefetch hints (the compiler builtin; a no-op where the target has none). Imported only by
// Kernels/Prefetch.swift.

/// Asks for the cache line holding `address` to be loaded into every cache level, for reading.
static inline void cprefetch_read(const void *address) { __builtin_prefetch(address, 0, 3); }

/// The same, for a line that is about to be written.
static inline void cprefetch_write(const void *address) { __builtin_prefetch(address, 1, 3); }

#endif
