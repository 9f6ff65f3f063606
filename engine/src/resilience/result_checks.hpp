// result_checks.hpp - is an operation's output valid, and does it agree
// with the scalar reference?  Failures are classified from results, not
// only from status codes.
#pragma once

#include <string>

#include "analysis/backend_ops.hpp"

namespace coe::detail {

// Empty if the output is valid; otherwise "<class>: <detail>" where class is
// one of non_finite, out_of_range, asymmetric, wrong_size, invalid_labels.
std::string check_output(const SparseRows &r, std::size_t texts);
std::string check_output(const Matrix &m);
std::string check_output(const Clustering &c, std::uint32_t count);
std::string check_output(const ConsensusOutputs &o, std::uint32_t count, std::uint32_t clusters);
// Every field bounded by what the inputs allow: supporters between 1 and
// the distinct experts among the group's items, consensus exactly
// supporters >= quorum, representatives inside their group, shares and
// confidences in [0, 1].
std::string check_output(const AggregateOutputs &o, const Clustering &groups,
                         const std::vector<std::uint32_t> &item_expert, std::uint32_t quorum);

// Agreement with the reference within the cross-backend contract: discrete
// results equal, floats within 1e-5 (featurize: bit-identical).
bool same_result(const SparseRows &a, const SparseRows &b);
bool same_result(const Matrix &a, const Matrix &b);
bool same_result(const Clustering &a, const Clustering &b);
bool same_result(const ConsensusOutputs &a, const ConsensusOutputs &b);
bool same_result(const AggregateOutputs &a, const AggregateOutputs &b);

// The class part of a check_output() text ("non_finite: ..." -> "non_finite").
std::string failure_class(const std::string &check);

}  // namespace coe::detail
