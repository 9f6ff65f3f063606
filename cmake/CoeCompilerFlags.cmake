# Warnings, the floating-point policy and sanitizers, for every target.

add_compile_options(-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion)
# The kernels combine comparisons with & and | on purpose (no branch where
# the outcome is a coin toss); Clang (the WebAssembly build) would call
# each one a typo for && or ||.
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  add_compile_options(-Wno-bitwise-instead-of-logical)
endif()
if(COE_WARNINGS_AS_ERRORS)
  add_compile_options(-Werror)
endif()

# One explicit FP-contraction policy for every backend: no implicit fused
# multiply-add, so a*b+c rounds the same way in scalar and SIMD builds;
# kernels that want FMA ask for it explicitly.  Never -ffast-math.
add_compile_options(-ffp-contract=off -fno-fast-math)

if(COE_SANITIZE)
  add_compile_options(-fsanitize=${COE_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${COE_SANITIZE})
  if(COE_SANITIZE MATCHES "thread")
    # GCC warns that TSan cannot model std::atomic_thread_fence (used inside
    # Boost.Asio); the concurrency tests do not rely on fences.
    add_compile_options(-Wno-tsan)
  endif()
endif()
