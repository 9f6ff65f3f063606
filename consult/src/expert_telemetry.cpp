#include "expert_telemetry.hpp"
#include "coe/internal/prometheus.hpp"
#include "coe/json_text.hpp"

#include <algorithm>
#include <sstream>

#include <boost/json.hpp>

namespace coe::consult_detail {

namespace {

void push(std::vector<double> &ring, std::size_t &next, double v, std::size_t cap) {
    if (ring.size() < cap) {
        ring.push_back(v);
    } else {
        ring[next] = v;
        next = (next + 1) % cap;
    }
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const std::size_t i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
}

std::string breaker_state(const std::map<std::string, const CircuitBreaker *> &b, const std::string &name) {
    auto it = b.find(name);
    return it == b.end() ? "none" : to_string(it->second->state());
}

}  // namespace

void ExpertTelemetry::record_request(const std::string &expert) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++experts_[expert].requests;
}

void ExpertTelemetry::record_answer(const ExpertAnswer &a) {
    std::lock_guard<std::mutex> lock(mutex_);
    Stats &s = experts_[a.expert];
    ++s.answers;
    s.retries += a.retries;
    s.tokens_in += a.tokens_in;
    s.tokens_out += a.tokens_out;
    s.cost += a.cost;
    if (a.ok()) {
        ++s.successes;
        push(s.latency_ms, s.latency_next, a.latency_ms, samples);
        if (a.first_token_ms >= 0) push(s.first_token_ms, s.first_token_next, a.first_token_ms, samples);
    } else {
        ++s.failures[a.status];
    }
}

std::string ExpertTelemetry::json(const std::map<std::string, const CircuitBreaker *> &breakers) const {
    std::lock_guard<std::mutex> lock(mutex_);
    boost::json::object experts;
    auto names = breakers;  // every configured expert, also those never asked
    for (const auto &[name, st] : experts_) names.emplace(name, nullptr);
    for (const auto &[name, unused] : names) {
        (void)unused;
        const auto it = experts_.find(name);
        const Stats s = it == experts_.end() ? Stats{} : it->second;
        boost::json::object failures;
        for (const auto &[cls, n] : s.failures) failures[cls] = n;
        boost::json::object e{{"requests", s.requests},
                              {"answers", s.answers},
                              {"successes", s.successes},
                              {"failures", std::move(failures)},
                              {"retries", s.retries},
                              {"latency_ms",
                               {{"p50", percentile(s.latency_ms, 0.5)},
                                {"p95", percentile(s.latency_ms, 0.95)},
                                {"p99", percentile(s.latency_ms, 0.99)}}},
                              {"first_token_ms",
                               {{"p50", percentile(s.first_token_ms, 0.5)},
                                {"p95", percentile(s.first_token_ms, 0.95)},
                                {"p99", percentile(s.first_token_ms, 0.99)}}},
                              {"tokens_in", s.tokens_in},
                              {"tokens_out", s.tokens_out},
                              {"cost", s.cost}};
        auto b = breakers.find(name);
        if (b != breakers.end() && b->second != nullptr) {
            e["breaker"] = {{"state", to_string(b->second->state())}, {"transitions", b->second->transition_count()}};
        }
        experts[name] = std::move(e);
    }
    return coe::json_text(boost::json::object{{"experts", std::move(experts)}});
}

std::string ExpertTelemetry::prometheus(const std::map<std::string, const CircuitBreaker *> &breakers) const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::ostringstream o;
    o << "# HELP coe_expert_requests_total HTTP requests sent to an expert (retries included)\n"
         "# TYPE coe_expert_requests_total counter\n";
    for (const auto &[name, s] : experts_)
        o << "coe_expert_requests_total{expert=\"" << internal::prometheus_label(name) << "\"} " << s.requests << "\n";
    o << "# HELP coe_expert_answers_total Final outcomes per expert, by status\n"
         "# TYPE coe_expert_answers_total counter\n";
    for (const auto &[name, s] : experts_) {
        o << "coe_expert_answers_total{expert=\"" << internal::prometheus_label(name) << "\",status=\"ok\"} "
          << s.successes << "\n";
        for (const auto &[cls, n] : s.failures)
            o << "coe_expert_answers_total{expert=\"" << internal::prometheus_label(name) << "\",status=\"" << cls
              << "\"} " << n << "\n";
    }
    o << "# HELP coe_expert_retries_total Retried attempts per expert\n# TYPE coe_expert_retries_total counter\n";
    for (const auto &[name, s] : experts_)
        o << "coe_expert_retries_total{expert=\"" << internal::prometheus_label(name) << "\"} " << s.retries << "\n";
    o << "# HELP coe_expert_latency_ms Answer latency of successful answers\n# TYPE coe_expert_latency_ms summary\n";
    for (const auto &[name, s] : experts_)
        for (double q : {0.5, 0.95, 0.99})
            o << "coe_expert_latency_ms{expert=\"" << internal::prometheus_label(name) << "\",quantile=\"" << q
              << "\"} " << percentile(s.latency_ms, q) << "\n";
    o << "# HELP coe_expert_first_token_ms Time to the first token\n# TYPE coe_expert_first_token_ms summary\n";
    for (const auto &[name, s] : experts_)
        for (double q : {0.5, 0.95, 0.99})
            o << "coe_expert_first_token_ms{expert=\"" << internal::prometheus_label(name) << "\",quantile=\"" << q
              << "\"} " << percentile(s.first_token_ms, q) << "\n";
    o << "# HELP coe_expert_tokens_total Tokens per expert and direction\n# TYPE coe_expert_tokens_total counter\n";
    for (const auto &[name, s] : experts_) {
        o << "coe_expert_tokens_total{expert=\"" << internal::prometheus_label(name) << "\",direction=\"in\"} "
          << s.tokens_in << "\n";
        o << "coe_expert_tokens_total{expert=\"" << internal::prometheus_label(name) << "\",direction=\"out\"} "
          << s.tokens_out << "\n";
    }
    o << "# HELP coe_expert_cost_total Cost per expert from its configured prices\n# TYPE coe_expert_cost_total "
         "counter\n";
    for (const auto &[name, s] : experts_)
        o << "coe_expert_cost_total{expert=\"" << internal::prometheus_label(name) << "\"} " << s.cost << "\n";
    o << "# HELP coe_expert_breaker_open 1 when the expert's breaker refuses calls\n# TYPE coe_expert_breaker_open "
         "gauge\n";
    for (const auto &[name, b] : breakers) {
        const std::string st = breaker_state(breakers, name);
        o << "coe_expert_breaker_open{expert=\"" << internal::prometheus_label(name) << "\",state=\"" << st << "\"} "
          << (st == "open" || st == "forced_open" ? 1 : 0) << "\n";
    }
    return o.str();
}

}  // namespace coe::consult_detail
