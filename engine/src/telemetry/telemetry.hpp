// telemetry.hpp - counters and latencies of every (backend, operation), the
// shadow timings, and the engine's availability.  Thread-safe; every record
// takes one short lock.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace coe::detail {

// Calls counted in one bucket per second over the last `seconds` seconds:
// fixed memory, nothing allocated per call.
struct RateWindow {
    static constexpr std::int64_t seconds = 60;
    std::array<std::uint64_t, seconds> count{};
    std::array<std::int64_t, seconds> second_plus_1{};  // the second (since start) each bucket counts, + 1

    void add(std::int64_t now_s);
    // Calls in the seconds (now_s - seconds, now_s].
    std::uint64_t total(std::int64_t now_s) const;
};

struct OperationStats {
    std::uint64_t calls = 0, successes = 0, slow = 0;
    std::map<std::string, std::uint64_t> failures;  // by class
    std::vector<double> latency_ms;                 // ring of the last samples
    std::size_t latency_next = 0;
    double max_ms = 0, total_ms = 0;
    RateWindow recent;  // successful calls in the last minute
    // shadow checks: this backend's time and the scalar reference's time
    // (estimated for spot checks, resilience/similarity_spot_check.hpp)
    std::uint64_t shadow_calls = 0, spot_calls = 0;
    double shadow_backend_ms = 0, shadow_scalar_ms = 0;
};

class Telemetry {
public:
    Telemetry();

    void record_success(const std::string &backend, const std::string &op, double ms, bool slow);
    void record_failure(const std::string &backend, const std::string &op, const std::string &failure_class);
    void record_shadow(const std::string &backend, const std::string &op, double backend_ms, double scalar_ms,
                       bool spot = false);
    // One finished pipeline call: answered with a valid report or not, and
    // the bytes of result buffers the engine allocated for it.
    void record_panel(bool answered, std::uint64_t buffer_bytes);
    // One operation result handed out, by an accelerated backend or by scalar.
    void record_served(bool accelerated);

    struct Snapshot {
        std::map<std::pair<std::string, std::string>, OperationStats> ops;
        std::uint64_t panels = 0, panels_answered = 0, panel_buffer_bytes = 0, served = 0, served_accelerated = 0;
        double uptime_s = 0;
    };
    Snapshot snapshot() const;

    static constexpr std::size_t latency_samples = 2048;
    static constexpr double rate_window_s = RateWindow::seconds;

private:
    OperationStats &stats(const std::string &backend, const std::string &op);

    mutable std::mutex mutex_;
    std::map<std::pair<std::string, std::string>, OperationStats> ops_;
    std::uint64_t panels_ = 0, panels_answered_ = 0, panel_buffer_bytes_ = 0, served_ = 0, served_accelerated_ = 0;
    const std::chrono::steady_clock::time_point start_;
};

}  // namespace coe::detail
