// prefaulted_memory.hpp - the pages of a large new buffer made present in
// one call, before it is first written.
//
// A buffer of a few MiB that is new (the largest panel's item matrices, the
// first time they are needed) takes one page fault per 4 KiB page on first
// touch, several microseconds each under virtualisation: a 240-panel TF-IDF
// analysis took 4,700 faults.  madvise(MADV_POPULATE_WRITE) (Linux 5.14)
// makes the pages present in one call; with it for the large buffers the
// analysis took 2,200 faults and about 5 % less time.  Where it is missing
// (older kernels, WebAssembly, other systems) nothing happens and the pages
// fault in as before: it changes no result.
// Thread-safe (no shared state).
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__linux__) && !defined(__EMSCRIPTEN__)
#include <sys/mman.h>
#include <unistd.h>
#endif

#include "kernel_namespace.hpp"

COE_KERNELS_BEGIN

// Smaller buffers are left to fault in (a few pages are not worth a call).
inline constexpr std::size_t prefault_threshold = std::size_t{256} << 10;

// Makes the whole pages inside [p, p + bytes) present and writable, when
// bytes >= prefault_threshold and the system can; their contents do not
// change (new pages read as zero, as they would on first touch).
inline void prefault_pages(void *p, std::size_t bytes) noexcept {
#if defined(__linux__) && !defined(__EMSCRIPTEN__) && defined(MADV_POPULATE_WRITE)
    if (p == nullptr || bytes < prefault_threshold) return;
    static const std::uintptr_t page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    const std::uintptr_t begin = (reinterpret_cast<std::uintptr_t>(p) + page - 1) & ~(page - 1);
    const std::uintptr_t end = (reinterpret_cast<std::uintptr_t>(p) + bytes) & ~(page - 1);
    if (end > begin) (void)::madvise(reinterpret_cast<void *>(begin), end - begin, MADV_POPULATE_WRITE);
#else
    (void)p;
    (void)bytes;
#endif
}

COE_KERNELS_END
