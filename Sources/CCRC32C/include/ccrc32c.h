#ifndef CCRC32C_H
#define CCRC32C_H

#include <stddef.h>
#include <stdint.h>

/// Nonzero when this CPU has the SSE4.2 `crc32` instruction (x86-64 only; 0 on every other architecture).
int ccrc32c_hardware_available(void);

/// Continues the CRC-32C `crc` (a finished CRC, 0 to start) over `length` bytes at `bytes` with the `crc32`
/// instruction: `ccrc32c_hardware_update(ccrc32c_hardware_update(0, a, n), b, m)` is the CRC of a then b.
/// `bytes` may be NULL when `length` is 0. Call only when `ccrc32c_hardware_available()` is nonzero.
uint32_t ccrc32c_hardware_update(uint32_t crc, const void *bytes, size_t length);

#endif
