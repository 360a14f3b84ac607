/* SHA-256 (FIPS 180-4) for content digests (image blobs) and cache keys
 * (compiled seccomp filters).  Small and dependency-free: ward-runtime does
 * not link a crypto library for this one function. */
#ifndef WARD_COMMON_SHA256_H
#define WARD_COMMON_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct
{
  uint32_t state[8];
  uint64_t total_len;
  uint8_t block[64];
  size_t block_len;
} ward_sha256_t;

void ward_sha256_init (ward_sha256_t *ctx);
void ward_sha256_update (ward_sha256_t *ctx, const void *data, size_t len);
void ward_sha256_final (ward_sha256_t *ctx, uint8_t digest[32]);

/* One-shot digest as 64 lowercase hex characters plus NUL. */
void ward_sha256_hex (const void *data, size_t len, char hex[65]);
void ward_sha256_to_hex (const uint8_t digest[32], char hex[65]);

#endif
