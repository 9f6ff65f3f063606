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
// One row of `dims` per text, every value finite, each row of unit L2 norm
// (within 1e-4) or all zero; a row that is not zero has a known word, and no
// text has more known words than tokens fit in it (a token is two bytes or
// more, and tokens are apart).
std::string check_output(const WordEmbeddings &e, const std::vector<std::string_view> &texts, std::uint32_t dims);

// Agreement with the reference within the cross-backend contract: discrete
// results equal, floats within 1e-5 (featurize and embed_words:
// bit-identical).
bool same_result(const SparseRows &a, const SparseRows &b);
bool same_result(const WordEmbeddings &a, const WordEmbeddings &b);
bool same_result(const Matrix &a, const Matrix &b);
// One entry of a shadow check: the tolerance same_result() allows.
bool same_value(float a, float b);
bool same_result(const Clustering &a, const Clustering &b);
bool same_result(const ConsensusOutputs &a, const ConsensusOutputs &b);
bool same_result(const AggregateOutputs &a, const AggregateOutputs &b);

// The class part of a check_output() text ("non_finite: ..." -> "non_finite").
std::string failure_class(const std::string &check);

}  // namespace coe::detail
