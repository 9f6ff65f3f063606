// thread_scratch.hpp - a kernel's per-thread working memory: the
// thread_local looked up once per call, and the allocator of its buffers.
//
// In a loaded module every access to a thread_local is a call to
// __tls_get_addr, and GCC repeats it after any call in a loop (a push_back
// that may allocate is enough): in the kernels' loops that came to 6 % of a
// TF-IDF analysis.  A reference taken through a volatile pointer cannot be
// traced back to the thread_local, so the lookup happens once per call.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#include "kernel_namespace.hpp"
#include "prefaulted_memory.hpp"

COE_KERNELS_BEGIN

template <class T>
T &thread_scratch(T &thread_local_object) {
    T *volatile opaque = &thread_local_object;
    return *opaque;
}

// An allocator whose resize() leaves new elements of a trivially
// constructible type unwritten instead of zeroing them.  For scratch whose
// every element is written before it is read: the kernels' buffers change
// size from call to call (a panel's answers, then its items), and zeroing
// the new part each time came to 7 % of a TF-IDF analysis.  assign(n, v)
// and push_back still write what they are given.  Large blocks have their
// pages made present at once (prefaulted_memory.hpp).
template <class T>
struct uninitialized_allocator : std::allocator<T> {
    template <class U>
    struct rebind {
        using other = uninitialized_allocator<U>;
    };
    uninitialized_allocator() = default;
    template <class U>
    uninitialized_allocator(const uninitialized_allocator<U> &) noexcept {}
    T *allocate(std::size_t n) {
        T *p = std::allocator<T>::allocate(n);
        prefault_pages(p, n * sizeof(T));
        return p;
    }
    template <class U>
    void construct(U *p) noexcept(std::is_nothrow_default_constructible_v<U>) {
        ::new (static_cast<void *>(p)) U;
    }
    template <class U, class... Args>
    void construct(U *p, Args &&...args) {
        ::new (static_cast<void *>(p)) U(std::forward<Args>(args)...);
    }
};

template <class T>
using scratch_vector = std::vector<T, uninitialized_allocator<T>>;

COE_KERNELS_END
