// The conformance suite of `coe plugin check`.
#include "coe/plugin_check.hpp"

#include <cmath>
#include <functional>
#include <random>

#include "analysis/backend_ops.hpp"
#include "coe/cpu_features.hpp"
#include "coe/error.hpp"
#include "plugin_loader.hpp"
#include "resilience/result_checks.hpp"

namespace coe {

bool PluginCheck::passed() const {
    if (plugin.status == BackendStatus::rejected) return false;
    for (const auto &op : operations)
        if (op.provided && !op.passed) return false;
    return true;
}

namespace {

using detail::BackendOps;

const std::vector<std::string> &suite_texts() {
    static const std::vector<std::string> texts = {
        "Wrap the third-party API calls in a circuit breaker and retry with exponential backoff and jitter.",
        "Retry failed calls with exponential backoff; add a circuit breaker so the service fails fast.",
        "Use idempotency keys on payment requests so that a retry never charges twice!",
        "Honestly I would move off this vendor: sign with a second supplier that offers an uptime SLA.",
        "",
        "UPPER case, MiXeD case and lower case; numbers 42 and 3.14; caf\xc3\xa9 na\xc3\xafve \xe6\x97\xa5\xe6\x9c\xac.",
        "the and of to in (only stop words) a an",
        "Retries, retried, retrying: the same retry. Failures and failure. Charges, charged, charge.",
    };
    return texts;
}

// Runs `body`; a thrown error becomes a failed check with its message.
OperationCheck attempt(const std::string &op, const std::function<std::string()> &body) {
    OperationCheck c;
    c.operation = op + "/1";
    c.provided = true;
    try {
        const std::string problem = body();
        c.passed = problem.empty();
        c.detail = c.passed ? "matches the scalar reference" : problem;
    } catch (const std::exception &e) {
        c.passed = false;
        c.detail = e.what();
    }
    return c;
}

std::string expect_refusal(const std::function<void()> &call, const std::string &what) {
    try {
        call();
    } catch (const Error &) {
        return {};
    }
    return "accepted " + what + " instead of refusing it";
}

// Equal within the cross-backend contract, unless the operation declares an
// algorithm of its own: then valid output (checked by BackendOps) is enough.
template <class R>
std::string compare(const R &got, const R &want, const std::string &what, bool own_algorithm) {
    if (own_algorithm || detail::same_result(got, want)) return {};
    return what + ": does not match the scalar reference";
}

}  // namespace

PluginCheck check_plugin(const std::filesystem::path &file) {
    PluginCheck result;
    detail::LoadOutcome loaded = detail::load_plugin({file, "api"}, probe_cpu_features(), {});
    result.plugin = loaded.info;
    if (!loaded.backend) return result;
    const detail::LoadOutcome reference_outcome = detail::builtin_scalar_backend();
    const BackendOps plugin(*loaded.backend), reference(*reference_outcome.backend);

    const std::vector<std::string_view> texts(suite_texts().begin(), suite_texts().end());
    FeaturizeOptions small;
    small.bucket_bits = 10;
    small.bigrams = false;
    const SparseRows ref_rows = reference.featurize(texts, {});
    const Matrix ref_sim = reference.similarity(ref_rows);
    std::mt19937 rng(5);
    std::normal_distribution<float> normal;
    std::vector<float> dense(7 * 33);
    for (auto &x : dense) x = normal(rng);
    const auto n = static_cast<std::uint32_t>(texts.size());
    const std::vector<float> weights = {1, 0.5f, 0.9f, 0.2f, 1, 1, 0.7f, 0.3f};

    auto provides = [&](const char *op) { return loaded.backend->find(op, 1) != nullptr; };
    bool own = false;  // the operation under test declares COE_OPERATION_OWN_ALGORITHM
    auto run = [&](const char *op, const std::function<std::string()> &body) {
        own = loaded.backend->own_algorithm(op, 1);
        if (provides(op)) {
            result.operations.push_back(attempt(op, body));
            if (own && result.operations.back().passed)
                result.operations.back().detail = "own algorithm: valid results (numbers not compared with scalar)";
        } else {
            result.operations.push_back({std::string(op) + "/1", false, false, "not provided"});
        }
    };

    run(COE_OP_FEATURIZE, [&] {
        for (const auto &opt : {FeaturizeOptions{}, small}) {
            const std::string why =
                compare(plugin.featurize(texts, opt), reference.featurize(texts, opt), "featurize", own);
            if (!why.empty()) return why;
        }
        return compare(plugin.featurize({}, {}), reference.featurize({}, {}), "featurize of no texts", own);
    });
    run(COE_OP_SIMILARITY, [&] {
        std::string why = compare(plugin.similarity(ref_rows), ref_sim, "sparse similarity", own);
        if (why.empty())
            why = compare(plugin.similarity(dense.data(), 7, 33), reference.similarity(dense.data(), 7, 33),
                                   "dense similarity", own);
        if (why.empty()) {
            std::vector<float> bad = dense;
            bad[5] = std::nanf("");
            why = expect_refusal([&] { plugin.similarity(bad.data(), 7, 33); }, "a vector with NaN");
        }
        return why;
    });
    run(COE_OP_CLUSTER, [&] {
        for (float threshold : {0.0f, 0.1f, 0.3f, 1.1f}) {
            const std::string why =
                compare(plugin.cluster(ref_sim, threshold), reference.cluster(ref_sim, threshold), "clustering",
                        own);
            if (!why.empty()) return why + " at threshold " + std::to_string(threshold);
        }
        return std::string();
    });
    run(COE_OP_CONSENSUS, [&] {
        const detail::Clustering clusters = reference.cluster(ref_sim, 0.1f);
        std::string why = compare(plugin.consensus(ref_sim, weights, clusters, 3.5f, 1.0f),
                                  reference.consensus(ref_sim, weights, clusters, 3.5f, 1.0f), "consensus metrics", own);
        if (why.empty()) {
            std::vector<float> zero_weight = weights;
            zero_weight[0] = 0.f;
            why = expect_refusal([&] { plugin.consensus(ref_sim, zero_weight, clusters, 3.5f, 1.0f); },
                                 "a zero weight");
        }
        return why;
    });
    run(COE_OP_AGGREGATE, [&] {
        // items 0..n-1 as if stated by experts i % 3, merged as the clustering says
        const detail::Clustering groups = reference.cluster(ref_sim, 0.1f);
        std::vector<std::uint32_t> owner(n);
        for (std::uint32_t i = 0; i < n; ++i) owner[i] = i % 3;
        const std::vector<float> experts = {1, 0.5f, 0.8f};
        return compare(plugin.aggregate(ref_sim, groups, owner, experts, 2, 1.0f),
                       reference.aggregate(ref_sim, groups, owner, experts, 2, 1.0f), "aggregation", own);
    });
    return result;
}

}  // namespace coe
