// thread_scratch.hpp - a kernel's thread_local working memory, looked up once
// per call.
//
// In a loaded module every access to a thread_local is a call to
// __tls_get_addr, and GCC repeats it after any call in a loop (a push_back
// that may allocate is enough): in the kernels' loops that came to 6 % of a
// TF-IDF analysis.  A reference taken through a volatile pointer cannot be
// traced back to the thread_local, so the lookup happens once per call.
#pragma once

#include "kernel_namespace.hpp"

COE_KERNELS_BEGIN

template <class T>
T &thread_scratch(T &thread_local_object) {
    T *volatile opaque = &thread_local_object;
    return *opaque;
}

COE_KERNELS_END
