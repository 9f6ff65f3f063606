#include "result_checks.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "triangle_blocks.hpp"

namespace coe::detail {
namespace {

constexpr float tolerance = 1e-5f;

bool all_finite(const std::vector<float> &v) {
    for (float x : v)
        if (!std::isfinite(x)) return false;
    return true;
}

bool close(const std::vector<float> &a, const std::vector<float> &b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (!(std::fabs(a[i] - b[i]) <= tolerance)) return false;
    return true;
}

bool close(float a, float b) { return std::fabs(a - b) <= tolerance; }

// Labels in 0..k-1, every cluster used, numbered by first member.
bool valid_labels(const std::vector<std::uint32_t> &labels, std::uint32_t k) {
    std::uint32_t next = 0;
    for (std::uint32_t l : labels) {
        if (l > next || l >= k) return false;
        if (l == next) ++next;
    }
    return next == k;
}

}  // namespace

std::string failure_class(const std::string &check) { return check.substr(0, check.find(':')); }

std::string check_output(const SparseRows &r, std::size_t texts) {
    if (r.row_offsets.size() != texts + 1 || r.indices.size() != r.values.size() ||
        r.row_offsets.back() != r.indices.size() || r.row_offsets.front() != 0)
        return "wrong_size: featurize rows do not match the texts";
    for (std::size_t i = 0; i < texts; ++i) {
        if (r.row_offsets[i + 1] < r.row_offsets[i]) return "wrong_size: featurize row offsets decrease";
        // the offsets rise to indices.size(): each fits std::size_t
        const auto begin = static_cast<std::size_t>(r.row_offsets[i]),
                   end = static_cast<std::size_t>(r.row_offsets[i + 1]);
        for (std::size_t k = begin; k < end; ++k) {
            if (r.indices[k] >= r.dimension || (k > begin && r.indices[k] <= r.indices[k - 1]))
                return "out_of_range: featurize indices unsorted or out of range";
        }
    }
    if (!all_finite(r.values)) return "non_finite: featurize produced NaN or Inf";
    return {};
}

std::string check_output(const WordEmbeddings &e, const std::vector<std::string_view> &texts, std::uint32_t dims) {
    const std::size_t n = texts.size();
    if (e.dims != dims || e.known_words.size() != n || e.vectors.size() != n * dims)
        return "wrong_size: embed_words rows do not match the texts";
    if (!all_finite(e.vectors)) return "non_finite: embed_words produced NaN or Inf";
    for (std::size_t i = 0; i < n; ++i) {
        const float *row = e.vectors.data() + i * dims;
        double sum = 0.0;  // of squares: 0 only for a row of zeros
        for (std::uint32_t d = 0; d < dims; ++d) sum += static_cast<double>(row[d]) * row[d];
        if (e.known_words[i] > (texts[i].size() + 1) / 3)
            return "out_of_range: embed_words found " + std::to_string(e.known_words[i]) + " words in text " +
                   std::to_string(i) + " of " + std::to_string(texts[i].size()) + " bytes";
        if (sum == 0.0) continue;
        if (!(std::fabs(std::sqrt(sum) - 1.0) <= 1e-4))
            return "out_of_range: embed_words row " + std::to_string(i) + " has norm " +
                   std::to_string(std::sqrt(sum)) + ", neither 1 nor 0";
        if (e.known_words[i] == 0)
            return "out_of_range: embed_words row " + std::to_string(i) + " is not zero but has no known word";
    }
    return {};
}

std::string check_output(const Matrix &m) {
    if (m.data.size() != static_cast<std::size_t>(m.rows) * m.cols || m.rows != m.cols)
        return "wrong_size: similarity matrix is not square";
    // branch-free passes the compiler vectorises; which check failed is
    // looked up only when one did
    std::uint32_t outside = 0;  // NaN fails the comparison too
    for (float v : m.data) outside += !(std::fabs(v) <= 1.f);
    if (outside > 0)
        return all_finite(m.data) ? "out_of_range: similarity outside [-1, 1]"
                                  : "non_finite: similarity has NaN or Inf";
    std::uint32_t asymmetric = 0;  // in blocks, so that the column reads stay in the L1 cache
    kernels::for_each_upper_pair_in_blocks(m.rows,
                                           [&](std::uint32_t i, std::uint32_t j) { asymmetric += m(i, j) != m(j, i); });
    if (asymmetric > 0) return "asymmetric: similarity matrix is not symmetric";
    return {};
}

std::string check_output(const Clustering &c, std::uint32_t count) {
    if (c.labels.size() != count || c.cluster_count > count || (count > 0 && c.cluster_count == 0))
        return "wrong_size: cluster labels do not match the items";
    if (!valid_labels(c.labels, c.cluster_count))
        return "invalid_labels: cluster labels are not 0..k-1 by first member";
    return {};
}

std::string check_output(const ConsensusOutputs &o, std::uint32_t count, std::uint32_t clusters) {
    if (o.centrality.size() != count || o.cluster_share.size() != clusters || o.medoid >= count ||
        o.majority_cluster >= clusters)
        return "wrong_size: consensus outputs do not match the panel";
    for (std::uint32_t r : o.cluster_representative)
        if (r >= count) return "invalid_labels: cluster representative out of range";
    if (!all_finite(o.centrality) || !all_finite(o.robust_z) || !all_finite(o.cluster_share) ||
        !all_finite(o.cluster_cohesion) || !std::isfinite(o.mean_agreement) || !std::isfinite(o.confidence) ||
        !std::isfinite(o.entropy) || !std::isfinite(o.margin))
        return "non_finite: consensus metrics have NaN or Inf";
    if (o.confidence < 0.f || o.confidence > 1.f || o.entropy < -tolerance || o.entropy > 1.f + tolerance)
        return "out_of_range: confidence or entropy outside [0, 1]";
    for (std::uint8_t flag : o.outlier)
        if (flag > 1) return "out_of_range: consensus outlier flag neither 0 nor 1";
    return {};
}

std::string check_output(const AggregateOutputs &o, const Clustering &grouping,
                         const std::vector<std::uint32_t> &item_expert, std::uint32_t quorum) {
    const std::uint32_t groups = grouping.cluster_count;
    const std::size_t items = grouping.labels.size();
    if (o.support.size() != groups || o.ranking.size() != groups || o.supporters.size() != groups ||
        o.confidence.size() != groups || o.representative.size() != groups || o.consensus.size() != groups)
        return "wrong_size: aggregate outputs";
    for (std::uint32_t g = 0; g < groups; ++g) {
        const std::uint32_t r = o.representative[g];
        if (r >= items || grouping.labels[r] != g) return "invalid_labels: aggregate representative outside its group";
    }
    // distinct experts per group (the most supporters it can have), from the
    // sorted (group, expert) pairs; the working vectors are kept per thread
    // (checks run on every call: they must not allocate)
    thread_local std::vector<std::uint64_t> pairs;
    thread_local std::vector<std::uint32_t> distinct_experts;
    thread_local std::vector<std::uint8_t> seen;
    pairs.resize(items);
    for (std::size_t i = 0; i < items; ++i) {
        if (grouping.labels[i] >= groups) return "invalid_labels: an item's group is out of range";
        pairs[i] = static_cast<std::uint64_t>(grouping.labels[i]) << 32 | item_expert[i];
    }
    std::sort(pairs.begin(), pairs.end());
    distinct_experts.assign(groups, 0);
    for (std::size_t k = 0; k < items; ++k)
        if (k == 0 || pairs[k] != pairs[k - 1]) ++distinct_experts[pairs[k] >> 32];
    for (std::uint32_t g = 0; g < groups; ++g) {
        const std::uint32_t distinct = distinct_experts[g];
        if (o.supporters[g] < 1 || o.supporters[g] > distinct)
            return "out_of_range: aggregate supporters " + std::to_string(o.supporters[g]) + " for a group stated by " +
                   std::to_string(distinct) + " experts";
        if (o.consensus[g] > 1) return "out_of_range: aggregate consensus flag neither 0 nor 1";
        if ((o.consensus[g] != 0) != (o.supporters[g] >= quorum))
            return "invalid_labels: aggregate consensus disagrees with supporters >= quorum";
    }
    seen.assign(groups, 0);
    for (std::uint32_t g : o.ranking) {
        if (g >= groups || seen[g]) return "invalid_labels: aggregate ranking is not a permutation";
        seen[g] = 1;
    }
    if (!all_finite(o.support) || !all_finite(o.confidence)) return "non_finite: aggregate support has NaN or Inf";
    for (float s : o.support)
        if (s < 0.f || s > 1.f + tolerance) return "out_of_range: support outside [0, 1]";
    for (float c : o.confidence)
        if (c < 0.f || c > 1.f + tolerance) return "out_of_range: aggregate confidence outside [0, 1]";
    return {};
}

bool same_result(const SparseRows &a, const SparseRows &b) {
    return a.row_offsets == b.row_offsets && a.indices == b.indices && a.values.size() == b.values.size() &&
           (a.values.empty() ||  // memcmp must not see the null data() of an empty vector
            std::memcmp(a.values.data(), b.values.data(), a.values.size() * sizeof(float)) == 0);
}

bool same_result(const WordEmbeddings &a, const WordEmbeddings &b) {
    return a.dims == b.dims && a.known_words == b.known_words && a.vectors.size() == b.vectors.size() &&
           (a.vectors.empty() ||  // memcmp must not see the null data() of an empty vector
            std::memcmp(a.vectors.data(), b.vectors.data(), a.vectors.size() * sizeof(float)) == 0);
}

bool same_result(const Matrix &a, const Matrix &b) { return a.rows == b.rows && close(a.data, b.data); }

bool same_value(float a, float b) { return close(a, b); }

bool same_result(const Clustering &a, const Clustering &b) {
    return a.cluster_count == b.cluster_count && a.labels == b.labels;
}

bool same_result(const ConsensusOutputs &a, const ConsensusOutputs &b) {
    return a.outlier == b.outlier && a.cluster_representative == b.cluster_representative && a.medoid == b.medoid &&
           a.majority_cluster == b.majority_cluster && close(a.centrality, b.centrality) &&
           close(a.cluster_share, b.cluster_share) && close(a.cluster_cohesion, b.cluster_cohesion) &&
           close(a.mean_agreement, b.mean_agreement) && close(a.entropy, b.entropy) && close(a.margin, b.margin) &&
           close(a.confidence, b.confidence);
}

bool same_result(const AggregateOutputs &a, const AggregateOutputs &b) {
    return a.supporters == b.supporters && a.representative == b.representative && a.ranking == b.ranking &&
           a.consensus == b.consensus && close(a.support, b.support) && close(a.confidence, b.confidence);
}

}  // namespace coe::detail
