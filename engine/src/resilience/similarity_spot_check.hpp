// similarity_spot_check.hpp - the shadow check of a large coe.similarity
// call on part of its input.  The full scalar reference of an n x n matrix
// costs n (n + 1) / 2 dot products: at 10,000 vectors of 100 floats, several
// seconds beside a call the device or an AVX-512 core finishes in one, on
// each of a backend's first 64 calls (probation) and on every slow call.
// Every entry of the matrix depends on its two vectors alone (both
// revisions of coe.similarity are specified pair by pair), so the reference
// run on k of the vectors must give, for each pair of them, the entry the
// call wrote.  The k vectors: the first, the last (the edges of every
// blocked or tiled kernel) and k - 2 drawn at random, anew for each check.
//
// Threading: one object per call, used on the calling thread; its buffers
// are per thread, so a check allocates nothing once they are large enough.
#pragma once

#include <cstdint>

#include "coe/coe_plugin.h"
#include "coe/vectors.hpp"
#include "plugins/backend.hpp"

namespace coe::detail {

class SimilaritySpotCheck {
public:
    // `call`: the call's arguments (its input only is read, while the check
    // runs; they must outlive this object); `revision`: the one the chain
    // calls; `above_multiply_adds` and `vectors`: ResilienceOptions'
    // shadow_spot_multiply_adds (0: never applies) and shadow_spot_vectors.
    SimilaritySpotCheck(const coe_similarity_args &call, std::uint32_t revision, std::uint64_t above_multiply_adds,
                        std::uint32_t vectors);

    // The multiply-adds of the full reference (pairs x the dimension, or x
    // twice a sparse row's mean entries).
    static double full_multiply_adds(const coe_similarity_args &call);

    // True when this call is checked on a spot rather than in full.
    bool applies() const { return applies_; }

    // Runs `reference` on the spot's vectors, drawn with `seed`; true when
    // every pair of them matches `out` within the shadow checks' tolerance.
    // full_ms: the full reference's time, estimated from the spot's by the
    // ratio of pairs.  Throws coe::Error (BackendCallError) when the
    // reference fails.
    bool matches(const Backend &reference, const Matrix &out, double &full_ms, std::uint64_t seed) const;

private:
    const coe_similarity_args &call_;
    std::uint32_t revision_;
    std::uint32_t vectors_;
    bool applies_;
};

}  // namespace coe::detail
