/* Sealed records (kms/seal.h): a round trip under the right key and generation, the format's
 * header, and refusals that leave the bytes as they were: another key, a changed byte anywhere,
 * a truncated record, a plaintext record. */
#include "core/common.h"
#include "kms/seal.h"
#include "test.h"

#include <string.h>

int main(void) {
    uint8_t key[32], other[32];
    CHECK(sl_kms_random(key, sizeof key));
    memcpy(other, key, sizeof other);
    other[0] ^= 1;
    sl_kms_sealer_t *sealer = NULL, *opener = NULL, *wrong = NULL;
    CHECK_EQ_INT(sl_kms_sealer_create(key, true, &sealer), 0);
    CHECK_EQ_INT(sl_kms_sealer_create(key, false, &opener), 0);
    CHECK_EQ_INT(sl_kms_sealer_create(other, false, &wrong), 0);

    static const char text[] = "a record of the buffer";
    size_t len = sizeof text - 1;
    uint8_t a[64 + SL_KMS_SEAL_OVERHEAD], b[64 + SL_KMS_SEAL_OVERHEAD], copy[sizeof a];
    CHECK(sl_kms_seal(sealer, 7, (const uint8_t *)text, len, a));
    CHECK(sl_kms_seal(sealer, 7, (const uint8_t *)text, len, b));
    size_t sealed_len = len + SL_KMS_SEAL_OVERHEAD;
    CHECK(memcmp(a, b, sealed_len) != 0); /* a new nonce per record */
    CHECK(memmem(a, sealed_len, "record", 6) == NULL);
    uint16_t gen = 0;
    CHECK(sl_kms_sealed(a, sealed_len, &gen));
    CHECK_EQ_INT(gen, 7);
    CHECK(!sl_kms_sealed((const uint8_t *)text, len, &gen));

    /* the wrong key, and a flipped bit in the nonce, the ciphertext or the tag, do not open; the
     * bytes stay (the generation is not authenticated: it selects the opener's key, as in the
     * Kinesis core's format) */
    memcpy(copy, a, sealed_len);
    size_t plain = 0;
    CHECK(!sl_kms_open(wrong, copy, sealed_len, &plain));
    CHECK(memcmp(copy, a, sealed_len) == 0);
    size_t spots[] = {6, 17, 20, sealed_len - 1};
    for (size_t i = 0; i < sizeof spots / sizeof spots[0]; i++) {
        memcpy(copy, a, sealed_len);
        copy[spots[i]] ^= 0x40;
        CHECK(!sl_kms_open(opener, copy, sealed_len, &plain));
    }
    memcpy(copy, a, sealed_len);
    CHECK(!sl_kms_open(opener, copy, sealed_len - 1, &plain));
    CHECK(!sl_kms_open(opener, copy, SL_KMS_SEAL_OVERHEAD - 1, &plain));

    /* the right key opens in place; an empty record too */
    memcpy(copy, a, sealed_len);
    CHECK(sl_kms_open(opener, copy, sealed_len, &plain));
    CHECK_EQ_INT(plain, len);
    CHECK(memcmp(copy, text, len) == 0);
    CHECK(sl_kms_seal(sealer, 1, NULL, 0, b));
    CHECK(sl_kms_open(opener, b, SL_KMS_SEAL_OVERHEAD, &plain));
    CHECK_EQ_INT(plain, 0);
    /* a sealer does not open and an opener does not seal */
    CHECK(!sl_kms_seal(opener, 1, (const uint8_t *)text, len, b));
    CHECK(!sl_kms_open(sealer, a, sealed_len, &plain));

    uint8_t d1[32], d2[32];
    uint8_t master[32] = {1, 2, 3};
    sl_kms_derive_key(master, "one", d1);
    sl_kms_derive_key(master, "two", d2);
    CHECK(memcmp(d1, d2, 32) != 0);
    sl_kms_sealer_destroy(sealer);
    sl_kms_sealer_destroy(opener);
    sl_kms_sealer_destroy(wrong);
    TEST_MAIN_END();
}
