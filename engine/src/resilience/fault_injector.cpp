#include "fault_injector.hpp"

#include <cmath>

#include "coe/error.hpp"

namespace coe {

FaultSpec parse_fault_spec(const std::string &text) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (true) {
        const std::size_t end = text.find(':', start);
        parts.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
        if (end == std::string::npos) break;
        start = end + 1;
    }
    const std::string where = "fault '" + text + "'";
    auto kinds = [](const char *separator) {
        std::string list;
        for (const fault::KindName &k : fault::kind_names)
            list += (list.empty() ? "" : separator) + std::string(k.name);
        return list;
    };
    if (parts.size() < 2 || parts.size() > 4 || parts[0].empty())
        throw Error(where + ": expected <backend>:<" + kinds("|") + ">[:<rate>[:<ms>]]");
    FaultSpec f;
    f.backend = parts[0];
    f.kind = parts[1];
    if (fault::kind_from_name(f.kind.c_str()) == fault::Kind::none)
        throw Error(where + ": unknown kind '" + f.kind + "' (" + kinds(", ") + ")");
    auto number = [&](const std::string &s, const char *what) {
        std::size_t used = 0;
        double v = 0;
        try {
            v = std::stod(s, &used);
        } catch (const std::exception &) {
            used = 0;
        }
        if (used != s.size() || !std::isfinite(v)) throw Error(where + ": " + what + " '" + s + "' is not a number");
        return v;
    };
    if (parts.size() > 2) f.rate = number(parts[2], "rate");
    if (f.rate < 0 || f.rate > 1) throw Error(where + ": rate must be in [0, 1]");
    if (parts.size() > 3) f.delay_ms = number(parts[3], "delay");
    if (f.delay_ms < 0 || f.delay_ms > 60000) throw Error(where + ": delay must be in [0, 60000] ms");
    return f;
}

namespace detail {

double uniform_draw(std::uint64_t seed, std::uint64_t counter) {
    std::uint64_t x = seed ^ (counter * 0x9E3779B97F4A7C15ull);
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return static_cast<double>(x >> 11) * 0x1.0p-53;
}

FaultInjector::FaultInjector(std::vector<FaultSpec> faults, std::uint64_t seed)
    : faults_(std::move(faults)), seed_(seed) {}

FaultDecision FaultInjector::decide(const std::string &backend) const {
    for (const auto &f : faults_) {
        if (f.backend != backend) continue;
        if (uniform_draw(seed_, counter_.fetch_add(1, std::memory_order_relaxed)) < f.rate)
            return {fault::kind_from_name(f.kind.c_str()), f.delay_ms};
    }
    return {};
}

}  // namespace detail
}  // namespace coe
