#include "telemetry.hpp"

#include <algorithm>

namespace coe::detail {

void RateWindow::add(std::int64_t now_s) {
    const auto slot = static_cast<std::size_t>(now_s % seconds);
    if (second_plus_1[slot] != now_s + 1) {  // a bucket of an earlier minute: start it again
        second_plus_1[slot] = now_s + 1;
        count[slot] = 0;
    }
    ++count[slot];
}

std::uint64_t RateWindow::total(std::int64_t now_s) const {
    std::uint64_t sum = 0;
    for (std::size_t slot = 0; slot < count.size(); ++slot)
        if (second_plus_1[slot] > now_s + 1 - seconds && second_plus_1[slot] <= now_s + 1) sum += count[slot];
    return sum;
}

Telemetry::Telemetry() : start_(std::chrono::steady_clock::now()) {}

OperationStats &Telemetry::stats(const std::string &backend, const std::string &op) { return ops_[{backend, op}]; }

void Telemetry::record_success(const std::string &backend, const std::string &op, double ms, bool slow) {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> lock(mutex_);
    OperationStats &s = stats(backend, op);
    ++s.calls;
    ++s.successes;
    s.slow += slow;
    if (s.latency_ms.size() < latency_samples) {
        s.latency_ms.reserve(latency_samples);  // once: the ring never reallocates
        s.latency_ms.push_back(ms);
    } else {
        s.latency_ms[s.latency_next] = ms;
        s.latency_next = (s.latency_next + 1) % latency_samples;
    }
    s.max_ms = std::max(s.max_ms, ms);
    s.total_ms += ms;
    s.recent.add(std::chrono::duration_cast<std::chrono::seconds>(now - start_).count());
}

void Telemetry::record_failure(const std::string &backend, const std::string &op, const std::string &failure_class) {
    std::lock_guard<std::mutex> lock(mutex_);
    OperationStats &s = stats(backend, op);
    ++s.calls;
    ++s.failures[failure_class];
}

void Telemetry::record_shadow(const std::string &backend, const std::string &op, double backend_ms, double scalar_ms,
                              bool spot) {
    std::lock_guard<std::mutex> lock(mutex_);
    OperationStats &s = stats(backend, op);
    ++s.shadow_calls;
    s.spot_calls += spot;
    s.shadow_backend_ms += backend_ms;
    s.shadow_scalar_ms += scalar_ms;
}

void Telemetry::record_panel(bool answered, std::uint64_t buffer_bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++panels_;
    panels_answered_ += answered;
    panel_buffer_bytes_ += buffer_bytes;
}

void Telemetry::record_served(bool accelerated) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++served_;
    served_accelerated_ += accelerated;
}

Telemetry::Snapshot Telemetry::snapshot() const {
    std::lock_guard<std::mutex> lock(mutex_);
    Snapshot s;
    s.ops = ops_;
    s.panels = panels_;
    s.panels_answered = panels_answered_;
    s.panel_buffer_bytes = panel_buffer_bytes_;
    s.served = served_;
    s.served_accelerated = served_accelerated_;
    s.uptime_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    return s;
}

}  // namespace coe::detail
