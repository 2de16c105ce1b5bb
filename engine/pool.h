/* engine/pool.h -- objects kept for reuse (td_crypto's AEAD pool): while an
 * object waits in a pool its memory is poisoned for AddressSanitizer, so a
 * use after td_*_free is still reported (as use-after-poison) although the
 * memory was never given back to the allocator. No-ops without ASan. */
#ifndef TD_POOL_H
#define TD_POOL_H

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TD_POOL_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(TD_POOL_ASAN)
#define TD_POOL_ASAN 1
#endif

#ifdef TD_POOL_ASAN
#include <sanitizer/asan_interface.h>
#define TD_POOL_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define TD_POOL_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define TD_POOL_POISON(p, n) ((void)(p), (void)(n))
#define TD_POOL_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#endif
