// http_metrics.hpp - requests by route and status, latency histograms by
// route, connections and requests in flight, slow readers disconnected;
// Prometheus text.  Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace coe::serve {

class HttpMetrics {
public:
    // `route` is a known path or "other"; status 0: aborted.
    void record(const std::string &route, unsigned status, double seconds);
    std::atomic<std::int64_t> in_flight{0};
    std::atomic<std::uint64_t> slow_client_disconnects{0};  // readers too slow for the output limit
    // The metrics in the Prometheus text format; `open_connections` as a gauge.
    std::string prometheus(std::size_t open_connections) const;

private:
    static constexpr std::array<double, 10> bounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 1, 10, 60};
    struct Histogram {
        std::array<std::uint64_t, bounds.size()> buckets{};
        std::uint64_t count = 0;
        double sum = 0;
    };
    mutable std::mutex mutex_;
    std::map<std::pair<std::string, unsigned>, std::uint64_t> requests_;
    std::map<std::string, Histogram> latency_;
};

}  // namespace coe::serve
