// libFuzzer: random outputs of a fake coe.aggregate and coe.cluster.  The
// result checks must accept them or reject them; what they accept must hold
// every invariant the pipeline relies on (else the fuzzer traps).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <set>

#include "resilience/result_checks.hpp"

namespace {

struct Bytes {
    const std::uint8_t *p;
    std::size_t n;
    std::uint32_t u32() {
        std::uint32_t v = 0;
        const std::size_t k = n < 4 ? n : 4;
        std::memcpy(&v, p, k);
        p += k;
        n -= k;
        return v;
    }
    float f32() {
        const std::uint32_t bits = u32();
        float f;
        std::memcpy(&f, &bits, sizeof f);
        return f;
    }
};

void require(bool ok) {
    if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    using namespace coe::detail;
    Bytes in{data, size};
    const std::uint32_t items = 1 + in.u32() % 12, groups = 1 + in.u32() % items, experts = 1 + in.u32() % 6,
                        quorum = in.u32() % 8;
    Clustering grouping;
    grouping.cluster_count = groups;
    std::vector<std::uint32_t> item_expert(items);
    for (std::uint32_t i = 0; i < items; ++i) {
        grouping.labels.push_back(i < groups ? i : in.u32() % groups);  // every group has an item
        item_expert[i] = in.u32() % experts;
    }
    AggregateOutputs o;
    const std::uint32_t sizes = (in.u32() % 8 == 0) ? groups + 1 : groups;  // sometimes the wrong size
    for (std::uint32_t g = 0; g < sizes; ++g) {
        o.supporters.push_back(in.u32() % 10);
        o.representative.push_back(in.u32() % (items + 1));
        o.ranking.push_back(in.u32() % (groups + 1));
        o.support.push_back(in.f32());
        o.confidence.push_back(in.f32());
        o.consensus.push_back(static_cast<std::uint8_t>(in.u32() % 2));
    }
    if (!check_output(o, grouping, item_expert, quorum).empty()) return 0;
    // accepted: everything the report is built from is in range
    std::set<std::uint32_t> ranked;
    for (std::uint32_t g = 0; g < groups; ++g) {
        std::set<std::uint32_t> stated;
        for (std::uint32_t i = 0; i < items; ++i)
            if (grouping.labels[i] == g) stated.insert(item_expert[i]);
        require(o.supporters[g] >= 1 && o.supporters[g] <= stated.size());
        require((o.consensus[g] != 0) == (o.supporters[g] >= quorum));
        require(o.representative[g] < items && grouping.labels[o.representative[g]] == g);
        require(o.support[g] >= 0.f && o.support[g] <= 1.00001f);
        require(o.confidence[g] >= 0.f && o.confidence[g] <= 1.00001f);
        require(o.ranking[g] < groups && ranked.insert(o.ranking[g]).second);
    }
    // and a clustering is accepted only with labels that index its clusters
    Clustering c;
    c.cluster_count = in.u32() % 5;
    for (std::uint32_t i = 0; i < items; ++i) c.labels.push_back(in.u32() % 6);
    if (check_output(c, items).empty())
        for (std::uint32_t l : c.labels) require(l < c.cluster_count);
    return 0;
}
