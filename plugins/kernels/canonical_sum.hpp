// canonical_sum.hpp - sums whose result does not depend on the order of the
// terms: they are sorted first.  Used wherever a panel-level number adds up
// per-expert terms, so that permuting the experts changes nothing, bit for bit.
#pragma once

#include <algorithm>
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

COE_KERNELS_END
