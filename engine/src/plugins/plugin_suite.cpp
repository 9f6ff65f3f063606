#include "plugin_suite.hpp"

#include <cmath>
#include <functional>
#include <random>

#include "analysis/backend_ops.hpp"
#include "coe/error.hpp"
#include "features/word_table.hpp"
#include "plugin_loader.hpp"
#include "resilience/result_checks.hpp"

namespace coe::detail {
namespace {

const std::vector<std::string> &suite_texts() {
    static const std::vector<std::string> texts = {
        "Wrap the third-party API calls in a circuit breaker and retry with exponential backoff and jitter.",
        "Retry failed calls with exponential backoff; add a circuit breaker so the service fails fast.",
        "Use idempotency keys on payment requests so that a retry never charges twice!",
        "Honestly I would move off this vendor: sign with a second supplier that offers an uptime SLA.",
        "",
        "UPPER case, MiXeD case and lower case; numbers 42 and 3.14; caf\xc3\xa9 na\xc3\xafve "
        "\xe6\x97\xa5\xe6\x9c\xac.",
        "the and of to in (only stop words) a an",
        "Retries, retried, retrying: the same retry. Failures and failure. Charges, charged, charge.",
    };
    return texts;
}

std::string expect_refusal(const std::function<void()> &call, const std::string &what) {
    try {
        call();
    } catch (const Error &) {
        return {};
    }
    return "accepted " + what + " instead of refusing it";
}

// A small synthetic words' table for coe.embed_words/1: words of the suite's
// texts (ASCII, UTF-8, digits, a stop word, inflections) and some that are
// in none, random vectors, weights of all kinds including 0.  dims 7 is
// narrower than any vector register, 37 ends in a partial one.
WordTableData suite_word_table(std::uint32_t dims, std::uint32_t seed) {
    const std::vector<std::string> words = {
        "wrap",     "circuit", "breaker",  "retry",       "exponential",  "backoff",
        "jitter",   "payment", "charges",  "charge",      "idempotency",  "vendor",
        "supplier", "uptime",  "sla",      "upper",       "case",         "mixed",
        "numbers",  "42",      "14",       "caf\xc3\xa9", "na\xc3\xafve", "\xe6\x97\xa5\xe6\x9c\xac",
        "the",      "retries", "failures", "unused",      "words",        "absent",
        "from",     "texts"};
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal;
    std::vector<float> vectors(words.size() * dims);
    for (auto &x : vectors) x = normal(rng);
    WordTableData table = build_word_table(words, vectors, dims);
    std::uniform_real_distribution<float> weight(0.25f, 4.f);
    for (auto &w : table.weights) w = weight(rng);
    table.weights[2] = 0.f;  // "breaker": found, counted, adds nothing
    return table;
}

// Everything the operations are called with, computed once by the reference.
struct Suite {
    std::shared_ptr<Backend> reference_backend = builtin_scalar_backend().backend;
    BackendOps reference{*reference_backend};
    std::vector<std::string_view> texts{suite_texts().begin(), suite_texts().end()};
    FeaturizeOptions small;
    SparseRows rows;
    Matrix similarity;
    Clustering clusters;
    std::vector<float> dense = std::vector<float>(7 * 33);
    std::vector<float> weights = {1, 0.5f, 0.9f, 0.2f, 1, 1, 0.7f, 0.3f};
    std::vector<std::uint32_t> owner;  // items 0..n-1 as if stated by experts i % 3
    std::vector<float> experts = {1, 0.5f, 0.8f};
    WordTableData narrow_table = suite_word_table(7, 17), wide_table = suite_word_table(37, 19);

    Suite() {
        small.bucket_bits = 10;
        small.bigrams = false;
        rows = reference.featurize(texts, {});
        similarity = reference.similarity(rows);
        clusters = reference.cluster(similarity, 0.1f);
        std::mt19937 rng(5);
        std::normal_distribution<float> normal;
        for (auto &x : dense) x = normal(rng);
        for (std::uint32_t i = 0; i < texts.size(); ++i) owner.push_back(i % 3);
    }
};

const Suite &suite() {
    static const Suite s;
    return s;
}

// Equal within the cross-backend contract, unless comparing is off.
template <class R>
std::string compare(const R &got, const R &want, const std::string &what, bool skip) {
    if (skip || same_result(got, want)) return {};
    return what + ": does not match the scalar reference";
}

// "coe.featurize/2" -> ("coe.featurize", 2); a name without a revision is 1.
std::pair<std::string_view, std::uint32_t> split_operation(std::string_view name) {
    const std::size_t slash = name.rfind('/');
    if (slash == std::string_view::npos) return {name, 1};
    std::uint32_t revision = 0;
    for (char c : name.substr(slash + 1)) revision = c >= '0' && c <= '9' ? revision * 10 + (c - '0') : UINT32_MAX;
    return {name.substr(0, slash), revision};
}

std::string run_suite(const Backend &backend, std::string_view operation, SuiteMode mode) {
    const Suite &s = suite();
    const auto [op, revision] = split_operation(operation);
    const BackendOps plugin(backend, revision);
    const BackendOps ref(*s.reference_backend, revision);  // the same revision of the reference
    const bool conform = mode == SuiteMode::conform;
    const bool skip = !conform || backend.own_algorithm(op, revision);  // valid results are all that is asked

    if (op == COE_OP_FEATURIZE) {
        for (const auto &opt : {FeaturizeOptions{}, s.small}) {
            std::string why = compare(plugin.featurize(s.texts, opt), ref.featurize(s.texts, opt), "featurize", skip);
            if (!why.empty() || !conform) return why;
        }
        return compare(plugin.featurize({}, {}), ref.featurize({}, {}), "featurize of no texts", skip);
    }
    if (op == COE_OP_SIMILARITY) {
        std::string why = compare(plugin.similarity(s.rows), s.similarity, "sparse similarity", skip);
        if (why.empty())
            why = compare(plugin.similarity(s.dense.data(), 7, 33), ref.similarity(s.dense.data(), 7, 33),
                          "dense similarity", skip);
        if (why.empty() && conform) {
            std::vector<float> bad = s.dense;
            bad[5] = std::nanf("");
            why = expect_refusal([&] { plugin.similarity(bad.data(), 7, 33); }, "a vector with NaN");
        }
        return why;
    }
    if (op == COE_OP_CLUSTER) {
        for (float threshold : {0.0f, 0.1f, 0.3f, 1.1f}) {
            const std::string why = compare(plugin.cluster(s.similarity, threshold),
                                            ref.cluster(s.similarity, threshold), "clustering", skip);
            if (!why.empty()) return why + " at threshold " + std::to_string(threshold);
            if (!conform) break;
        }
        return {};
    }
    if (op == COE_OP_CONSENSUS) {
        std::string why =
            compare(plugin.consensus(s.similarity, s.weights, s.clusters, 3.5f, 1.0f),
                    ref.consensus(s.similarity, s.weights, s.clusters, 3.5f, 1.0f), "consensus metrics", skip);
        if (why.empty() && conform) {
            std::vector<float> zero_weight = s.weights;
            zero_weight[0] = 0.f;
            why = expect_refusal([&] { plugin.consensus(s.similarity, zero_weight, s.clusters, 3.5f, 1.0f); },
                                 "a zero weight");
        }
        return why;
    }
    if (op == COE_OP_AGGREGATE) {
        return compare(plugin.aggregate(s.similarity, s.clusters, s.owner, s.experts, 2, 1.0f),
                       ref.aggregate(s.similarity, s.clusters, s.owner, s.experts, 2, 1.0f), "aggregation", skip);
    }
    if (op == COE_OP_EMBED_WORDS) {
        for (const WordTableData *table : {&s.narrow_table, &s.wide_table}) {
            const coe_word_table view = table->view();
            std::string why = compare(plugin.embed_words(s.texts, view), ref.embed_words(s.texts, view),
                                      "word embeddings of " + std::to_string(view.dims) + " dimensions", skip);
            if (!why.empty() || !conform) return why;
        }
        std::string why = compare(plugin.embed_words({}, s.narrow_table.view()),
                                  ref.embed_words({}, s.narrow_table.view()), "word embeddings of no texts", skip);
        if (why.empty()) {
            coe_word_table bad = s.narrow_table.view();
            bad.slot_count -= 1;  // not a power of two
            why = expect_refusal([&] { plugin.embed_words(s.texts, bad); },
                                 "a table whose slot_count is not a power of two");
        }
        return why;
    }
    return "unknown operation " + std::string(op);
}

}  // namespace

const std::vector<std::string> &suite_operations() {
    static const std::vector<std::string> ops = [] {
        std::vector<std::string> names;
        for (const char *op : {COE_OP_FEATURIZE, COE_OP_SIMILARITY, COE_OP_CLUSTER, COE_OP_CONSENSUS, COE_OP_AGGREGATE,
                               COE_OP_EMBED_WORDS})
            for (std::uint32_t r = host_revision(op); r >= 1; --r) names.push_back(op + ("/" + std::to_string(r)));
        return names;
    }();
    return ops;
}

bool provides(const Backend &plugin, std::string_view operation) {
    const auto [op, revision] = split_operation(operation);
    return plugin.find(op, revision) != nullptr;
}

std::string passed_detail(const Backend &plugin, std::string_view operation) {
    const auto [op, revision] = split_operation(operation);
    return plugin.own_algorithm(op, revision) ? "own algorithm: valid results (numbers not compared with scalar)"
                                              : "matches the scalar reference";
}

std::string exercise_operation(const Backend &plugin, std::string_view operation, SuiteMode mode) {
    try {
        return run_suite(plugin, operation, mode);
    } catch (const std::exception &e) {
        return e.what();
    } catch (...) {
        return "threw an exception that is not a std::exception";
    }
}

}  // namespace coe::detail
