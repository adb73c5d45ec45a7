// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) with the SSE4.2 `crc32` instruction.
//
// The instruction consumes 8 bytes per call but has a latency of about 3 cycles and a throughput of one per
// cycle, so a long buffer is cut into blocks of three equal streams whose CRCs are computed side by side and then
// combined: for consecutive byte strings A and B, crc(r, A B) = shift(crc(r, A), |B|) xor crc(0, B), where crc is
// the CRC register (before the final inversion) and shift(c, n) = c · x^(8n) mod P, a linear map of c that a
// table per block length evaluates with four lookups.
//
// Only the function attribute enables SSE4.2: the target is compiled for the baseline CPU, and callers ask
// ccrc32c_hardware_available() first.

#include "ccrc32c.h"

#if defined(__x86_64__)

#include <nmmintrin.h>
#include <pthread.h>
#include <string.h>

#define POLY 0x82F63B78u

// Stream lengths in bytes: a block is three streams. Long blocks for the bulk, short ones for what is left.
#define LONG_STREAM 8192
#define SHORT_STREAM 256

// shift tables (4, 256) per stream length: table[k][b] = (b << 8k) · x^(8 · length) mod P.
static uint32_t long_shift[4][256];
static uint32_t short_shift[4][256];
static pthread_once_t shift_tables_once = PTHREAD_ONCE_INIT;

// a · b mod P, reflected: bit 31 holds the coefficient of x^0, bit 0 that of x^31.
static uint32_t multiply_mod_p(uint32_t a, uint32_t b) {
    uint32_t product = 0;
    for (int i = 0; i < 32; i++) {
        if (a & (0x80000000u >> i)) product ^= b;   // a's x^i term
        b = (b & 1) ? (b >> 1) ^ POLY : b >> 1;     // b ← b · x
    }
    return product;
}

// x^(8 · length) mod P, reflected.
static uint32_t x_pow_bytes(size_t length) {
    uint32_t p = 0x80000000u;   // x^0
    for (size_t i = 0; i < 8 * length; i++) p = (p & 1) ? (p >> 1) ^ POLY : p >> 1;
    return p;
}

static void fill_shift_table(uint32_t table[4][256], size_t length) {
    uint32_t power = x_pow_bytes(length);
    for (int k = 0; k < 4; k++) {
        for (uint32_t b = 0; b < 256; b++) table[k][b] = multiply_mod_p(b << (8 * k), power);
    }
}

static void fill_shift_tables(void) {
    fill_shift_table(long_shift, LONG_STREAM);
    fill_shift_table(short_shift, SHORT_STREAM);
}

// crc · x^(8 · length) mod P for the length the table was filled for.
static inline uint32_t shift(const uint32_t table[4][256], uint32_t crc) {
    return table[0][crc & 0xFF] ^ table[1][(crc >> 8) & 0xFF] ^ table[2][(crc >> 16) & 0xFF] ^ table[3][crc >> 24];
}

static inline uint64_t load64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, 8);   // little-endian: the first byte is the low byte, the one crc32 takes first
    return v;
}

int ccrc32c_hardware_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2") ? 1 : 0;
}

// `length` bytes in three interleaved streams of `stream` bytes each, as many whole blocks as fit.
#define THREE_STREAMS(stream, table)                                                   \
    while (length >= 3 * (size_t)(stream)) {                                           \
        uint64_t c1 = 0, c2 = 0;                                                       \
        const unsigned char *end = next + (stream);                                    \
        do {                                                                           \
            c0 = _mm_crc32_u64(c0, load64(next));                                      \
            c1 = _mm_crc32_u64(c1, load64(next + (stream)));                           \
            c2 = _mm_crc32_u64(c2, load64(next + 2 * (stream)));                       \
            next += 8;                                                                 \
        } while (next < end);                                                          \
        c0 = shift(table, (uint32_t)c0) ^ (uint32_t)c1;                                \
        c0 = shift(table, (uint32_t)c0) ^ (uint32_t)c2;                                \
        next += 2 * (stream);                                                          \
        length -= 3 * (size_t)(stream);                                                \
    }

__attribute__((target("sse4.2")))
uint32_t ccrc32c_hardware_update(uint32_t crc, const void *bytes, size_t length) {
    const unsigned char *next = bytes;
    uint64_t c0 = ~crc;
    if (length == 0) return crc;
    // Single bytes up to an 8-byte boundary, so the wide loads below are aligned.
    while (length > 0 && ((uintptr_t)next & 7) != 0) {
        c0 = _mm_crc32_u8((uint32_t)c0, *next++);
        length--;
    }
    if (length >= 3 * SHORT_STREAM) {
        pthread_once(&shift_tables_once, fill_shift_tables);
        THREE_STREAMS(LONG_STREAM, long_shift)
        THREE_STREAMS(SHORT_STREAM, short_shift)
    }
    while (length >= 8) {
        c0 = _mm_crc32_u64(c0, load64(next));
        next += 8;
        length -= 8;
    }
    while (length > 0) {
        c0 = _mm_crc32_u8((uint32_t)c0, *next++);
        length--;
    }
    return ~(uint32_t)c0;
}

#else

int ccrc32c_hardware_available(void) { return 0; }

uint32_t ccrc32c_hardware_update(uint32_t crc, const void *bytes, size_t length) {
    (void)crc, (void)bytes, (void)length;
    __builtin_trap();   // callers check ccrc32c_hardware_available() first
}

#endif
