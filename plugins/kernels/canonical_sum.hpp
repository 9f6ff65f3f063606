// canonical_sum.hpp - sums whose result does not depend on the order of the
// terms, so that permuting the experts changes nothing, bit for bit.
//
// canonical_sum (coe.consensus/1 and /2, coe.aggregate/1): the terms are
// sorted, then added in that order.
//
// ExactSum (coe.consensus/3, coe.aggregate/2): the exact sum of the terms,
// rounded once to the nearest double (ties to even).  That number has no
// order to depend on, and no sort is needed: the running sum is kept
// exactly as a few non-overlapping doubles (an expansion, Shewchuk 1997),
// each term is added into it with error-free additions, and the value is
// rounded once at the end.  Terms must be finite and the exact partial sums
// far from overflow (the kernels' terms are products of floats and numbers
// in [-1, 1] or logarithms: below 2^300 in magnitude).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernel_namespace.hpp"

COE_KERNELS_BEGIN

// Sorts `terms` (by value) and adds them up in that order.
inline double canonical_sum(std::vector<double> &terms) {
    std::sort(terms.begin(), terms.end());
    double s = 0.0;
    for (double t : terms) s += t;
    return s;
}

// The exact sum of the terms added, rounded once to double.  A value type
// (copy it to branch off a sum); no allocation.
class ExactSum {
public:
    void add(double x) {
        // x joins the expansion: each partial is added to it without error
        // (hi + lo == x + y exactly), the nonzero low parts stay, smallest first
        int kept = 0;
        for (int k = 0; k < count_; ++k) {
            double y = partial_[k];
            if (std::fabs(x) < std::fabs(y)) std::swap(x, y);
            const double hi = x + y;
            const double lo = y - (hi - x);
            if (lo != 0.0) partial_[kept++] = lo;
            x = hi;
        }
        partial_[kept++] = x;
        count_ = kept;
    }

    // The exact sum rounded to the nearest double, ties to even; +0 when it is 0.
    double value() const {
        if (count_ == 0) return 0.0;
        int k = count_ - 1;
        double hi = partial_[k], lo = 0.0;
        // add the partials from the largest down until a rounding error shows
        while (k > 0) {
            const double x = hi, y = partial_[--k];
            hi = x + y;
            lo = y - (hi - x);
            if (lo != 0.0) break;
        }
        // hi + lo is exact so far, and hi is lo's rounding; when lo is exactly
        // half an ulp of hi, the partials below (same sign as lo) decide the
        // tie: the sum is then beyond the half-way point, so round away
        if (k > 0 && ((lo < 0.0 && partial_[k - 1] < 0.0) || (lo > 0.0 && partial_[k - 1] > 0.0))) {
            const double twice = lo * 2.0;
            const double x = hi + twice;
            if (twice == x - hi) hi = x;
        }
        return hi + 0.0;  // -0 -> +0
    }

private:
    // non-overlapping, increasing in magnitude; finite doubles need at most
    // about 40 (2098 bits of exponent range over 53-bit significands)
    double partial_[64];
    int count_ = 0;
};

// The exact sum of `terms`, rounded once.
inline double exact_sum(const std::vector<double> &terms) {
    ExactSum s;
    for (double t : terms) s.add(t);
    return s.value();
}

COE_KERNELS_END
