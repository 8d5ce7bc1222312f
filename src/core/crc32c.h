/* CRC32C (Castagnoli), used to checksum every record on disk. Uses the SSE4.2 instruction when the
 * CPU has it, a table otherwise. No Debian package provides a C CRC32C library, so it lives here.
 */
#ifndef SL_CORE_CRC32C_H
#define SL_CORE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extend `crc` (0 to start) over `len` bytes. sl_crc32c(0, "123456789", 9) == 0xE3069283. */
uint32_t sl_crc32c(uint32_t crc, const void *data, size_t len);
/* The same with the table method only (tests compare the two). */
uint32_t sl_crc32c_portable(uint32_t crc, const void *data, size_t len);
/* CRC-32 (IEEE, zlib's crc32): extend `crc` (0 to start). sl_crc32_ieee(0, "123456789", 9) ==
 * 0xCBF43926. */
uint32_t sl_crc32_ieee(uint32_t crc, const void *data, size_t len);

#endif
