#include "performance_report.hpp"
#include "coe/internal/prometheus.hpp"
#include "coe/json_text.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include <boost/json.hpp>

namespace coe::detail {
namespace {

struct Derived {
    double p50 = 0, p95 = 0, p99 = 0, mean = 0, rate = 0;
    bool has_shadow = false;
    double speedup = 0, time_saved_ms = 0;
};

double percentile(std::vector<double> v, double q) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const std::size_t i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size()))) - 1;
    return v[std::min(i, v.size() - 1)];
}

// Percentiles over the recent latency samples; the time saved against scalar
// is the time this backend spent, scaled by how much slower scalar was on the
// shadow-checked calls: total_ms * (scalar_ms / backend_ms - 1).
Derived derive(const OperationStats &s, double uptime_s) {
    Derived d;
    d.p50 = percentile(s.latency_ms, 0.50);
    d.p95 = percentile(s.latency_ms, 0.95);
    d.p99 = percentile(s.latency_ms, 0.99);
    d.mean = s.successes ? s.total_ms / static_cast<double>(s.successes) : 0;
    const auto now_s = static_cast<std::int64_t>(uptime_s);  // whole seconds, as the window counts them
    d.rate = static_cast<double>(s.recent.total(now_s)) / std::max(1e-3, std::min(Telemetry::rate_window_s, uptime_s));
    if (s.shadow_calls > 0 && s.shadow_backend_ms > 0) {
        d.has_shadow = true;
        d.speedup = s.shadow_scalar_ms / s.shadow_backend_ms;
        d.time_saved_ms = s.total_ms * (d.speedup - 1.0);
    }
    return d;
}

double round3(double x) { return std::round(x * 1000.0) / 1000.0; }

// The peak resident set of this process's own address space (VmHWM): unlike
// getrusage's ru_maxrss it does not carry over what the parent had resident
// when it forked the process that exec'd this program.
std::uint64_t peak_rss_bytes() {
    if (std::FILE *f = std::fopen("/proc/self/status", "r")) {
        char line[256];
        unsigned long long kib = 0;
        bool found = false;
        while (!found && std::fgets(line, sizeof line, f)) found = std::sscanf(line, "VmHWM: %llu kB", &kib) == 1;
        std::fclose(f);
        if (found) return static_cast<std::uint64_t>(kib) * 1024u;
    }
    rusage u{};
    if (getrusage(RUSAGE_SELF, &u) != 0) return 0;
    return static_cast<std::uint64_t>(u.ru_maxrss) * 1024u;  // Linux reports KiB
}

bool is_scalar(const std::string &backend) { return backend == "scalar"; }

}  // namespace

std::string performance_report_json(const Telemetry::Snapshot &s, const std::vector<BreakerView> &breakers,
                                    const std::vector<BackendInfo> &backends) {
    boost::json::array ops;
    double saved_total = 0;
    bool saved_known = false;
    for (const auto &[key, st] : s.ops) {
        const Derived d = derive(st, s.uptime_s);
        boost::json::object failures;
        std::uint64_t failed = 0;
        for (const auto &[cls, n] : st.failures) {
            failures[cls] = n;
            failed += n;
        }
        boost::json::object o{{"backend", key.first},
                              {"operation", key.second},
                              {"calls", st.calls},
                              {"successes", st.successes},
                              {"failures", failed},
                              {"failures_by_class", std::move(failures)},
                              {"slow_calls", st.slow},
                              {"latency_ms", boost::json::object{{"p50", round3(d.p50)},
                                                                 {"p95", round3(d.p95)},
                                                                 {"p99", round3(d.p99)},
                                                                 {"max", round3(st.max_ms)},
                                                                 {"mean", round3(d.mean)}}},
                              {"ops_per_second", round3(d.rate)}};
        if (d.has_shadow && !is_scalar(key.first)) {
            o["shadow"] = boost::json::object{{"calls", st.shadow_calls},
                                              {"spot_calls", st.spot_calls},
                                              {"backend_ms", round3(st.shadow_backend_ms)},
                                              {"scalar_ms", round3(st.shadow_scalar_ms)},
                                              {"speedup_vs_scalar", round3(d.speedup)}};
            o["time_saved_ms"] = round3(d.time_saved_ms);
            saved_total += d.time_saved_ms;
            saved_known = true;
        }
        ops.push_back(std::move(o));
    }
    boost::json::array breaker_list;
    const auto now = Clock::now();
    for (const auto &b : breakers) {
        boost::json::array history;
        for (const auto &t : b.transitions)
            history.push_back(
                boost::json::object{{"seconds_ago", round3(std::chrono::duration<double>(now - t.at).count())},
                                    {"from", to_string(t.from)},
                                    {"to", to_string(t.to)},
                                    {"after_calls", t.calls},
                                    {"reason", t.reason}});
        boost::json::object o{{"backend", b.backend},
                              {"operation", b.operation},
                              {"state", to_string(b.state)},
                              {"transition_count", b.transition_count},
                              {"probation_calls_left", b.probation_left},
                              {"transitions", std::move(history)}};
        if (b.slow_threshold_ms > 0) o["slow_threshold_ms"] = round3(b.slow_threshold_ms);
        breaker_list.push_back(std::move(o));
    }
    std::string active;
    boost::json::array isolated;
    for (const auto &b : backends) {
        if (b.status == BackendStatus::active) active = b.name;
        if (b.isolation == "process" && b.status != BackendStatus::rejected)
            isolated.push_back(boost::json::object{{"backend", b.name}, {"worker_restarts", b.worker_restarts}});
    }
    const double panels = static_cast<double>(s.panels);
    boost::json::object root{
        {"active_backend", active},
        {"uptime_s", round3(s.uptime_s)},
        {"panels",
         boost::json::object{
             {"analysed", s.panels},
             {"answered", s.panels_answered},
             {"availability", s.panels ? round3(static_cast<double>(s.panels_answered) / panels) : 1.0},
             {"buffer_bytes_per_panel", s.panels ? round3(static_cast<double>(s.panel_buffer_bytes) / panels) : 0.0}}},
        {"results",
         boost::json::object{
             {"served", s.served},
             {"accelerated", s.served_accelerated},
             {"accelerated_share",
              s.served ? round3(static_cast<double>(s.served_accelerated) / static_cast<double>(s.served)) : 0.0}}},
        {"time_saved_vs_scalar_ms", saved_known ? boost::json::value(round3(saved_total)) : boost::json::value()},
        {"peak_rss_bytes", peak_rss_bytes()},
        {"operations", std::move(ops)},
        {"breakers", std::move(breaker_list)},
        {"isolated_backends", std::move(isolated)},
    };
    return coe::json_text(root);
}

std::string performance_report_prometheus(const Telemetry::Snapshot &s, const std::vector<BreakerView> &breakers,
                                          const std::vector<BackendInfo> &backends) {
    std::ostringstream out;
    out << "# HELP coe_plugin_worker_restarts_total Worker processes of an isolated backend started after the "
           "first.\n# TYPE coe_plugin_worker_restarts_total counter\n";
    for (const auto &b : backends)
        if (b.isolation == "process" && b.status != BackendStatus::rejected)
            out << "coe_plugin_worker_restarts_total{backend=\"" << internal::prometheus_label(b.name) << "\"} "
                << b.worker_restarts << "\n";
    auto labels = [](const std::string &backend, const std::string &op) {
        return "backend=\"" + internal::prometheus_label(backend) + "\",operation=\"" + internal::prometheus_label(op) +
               "\"";
    };
    out << "# HELP coe_operation_calls_total Operation calls per backend.\n# TYPE coe_operation_calls_total counter\n";
    for (const auto &[k, st] : s.ops)
        out << "coe_operation_calls_total{" << labels(k.first, k.second) << "} " << st.calls << "\n";
    out << "# HELP coe_operation_failures_total Failed calls by class.\n# TYPE coe_operation_failures_total counter\n";
    for (const auto &[k, st] : s.ops)
        for (const auto &[cls, n] : st.failures)
            out << "coe_operation_failures_total{" << labels(k.first, k.second) << ",class=\"" << cls << "\"} " << n
                << "\n";
    out << "# HELP coe_operation_latency_ms Latency of recent successful calls.\n# TYPE coe_operation_latency_ms "
           "summary\n";
    for (const auto &[k, st] : s.ops) {
        const Derived d = derive(st, s.uptime_s);
        for (auto [q, v] : {std::pair<const char *, double>{"0.5", d.p50}, {"0.95", d.p95}, {"0.99", d.p99}})
            out << "coe_operation_latency_ms{" << labels(k.first, k.second) << ",quantile=\"" << q << "\"} " << v
                << "\n";
        out << "coe_operation_latency_ms_sum{" << labels(k.first, k.second) << "} " << st.total_ms << "\n";
        out << "coe_operation_latency_ms_count{" << labels(k.first, k.second) << "} " << st.successes << "\n";
    }
    out << "# HELP coe_operation_rate_per_second Calls per second over the last minute.\n"
           "# TYPE coe_operation_rate_per_second gauge\n";
    for (const auto &[k, st] : s.ops)
        out << "coe_operation_rate_per_second{" << labels(k.first, k.second) << "} " << derive(st, s.uptime_s).rate
            << "\n";
    out << "# HELP coe_time_saved_vs_scalar_ms Time saved against scalar, from shadow timings.\n"
           "# TYPE coe_time_saved_vs_scalar_ms gauge\n";
    for (const auto &[k, st] : s.ops) {
        const Derived d = derive(st, s.uptime_s);
        if (d.has_shadow && !is_scalar(k.first))
            out << "coe_time_saved_vs_scalar_ms{" << labels(k.first, k.second) << "} " << d.time_saved_ms << "\n";
    }
    out << "# HELP coe_breaker_state Current breaker state (1 for the state it is in).\n# TYPE coe_breaker_state "
           "gauge\n";
    for (const auto &b : breakers)
        for (auto st : {BreakerState::closed, BreakerState::open, BreakerState::half_open, BreakerState::disabled,
                        BreakerState::forced_open, BreakerState::metrics_only})
            out << "coe_breaker_state{" << labels(b.backend, b.operation) << ",state=\"" << to_string(st) << "\"} "
                << (b.state == st ? 1 : 0) << "\n";
    out << "# HELP coe_breaker_transitions_total Breaker state changes.\n# TYPE coe_breaker_transitions_total "
           "counter\n";
    for (const auto &b : breakers)
        out << "coe_breaker_transitions_total{" << labels(b.backend, b.operation) << "} " << b.transition_count << "\n";
    out << "# HELP coe_shadow_probation_calls_left Matching shadow checks still needed to end probation.\n"
           "# TYPE coe_shadow_probation_calls_left gauge\n";
    for (const auto &b : breakers)
        out << "coe_shadow_probation_calls_left{" << labels(b.backend, b.operation) << "} " << b.probation_left << "\n";
    const double answered = s.panels ? static_cast<double>(s.panels_answered) / static_cast<double>(s.panels) : 1.0;
    const double accelerated =
        s.served ? static_cast<double>(s.served_accelerated) / static_cast<double>(s.served) : 0.0;
    out << "# HELP coe_panels_total Panels analysed.\n# TYPE coe_panels_total counter\ncoe_panels_total " << s.panels
        << "\n# HELP coe_availability_ratio Share of analyses answered with a valid report.\n"
           "# TYPE coe_availability_ratio gauge\ncoe_availability_ratio "
        << answered
        << "\n# HELP coe_accelerated_share_ratio Share of operation results served by an accelerated backend.\n"
           "# TYPE coe_accelerated_share_ratio gauge\ncoe_accelerated_share_ratio "
        << accelerated << "\n# HELP coe_peak_rss_bytes Peak resident set size.\n# TYPE coe_peak_rss_bytes gauge\n"
        << "coe_peak_rss_bytes " << peak_rss_bytes()
        << "\n# HELP coe_uptime_seconds Seconds since the engine was built.\n# TYPE coe_uptime_seconds gauge\n"
        << "coe_uptime_seconds " << s.uptime_s << "\n";
    return out.str();
}

}  // namespace coe::detail
