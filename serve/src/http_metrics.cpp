#include "http_metrics.hpp"

#include <sstream>

namespace coe::serve {

void HttpMetrics::record(const std::string &route, unsigned status, double seconds) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++requests_[{route, status}];
    Histogram &h = latency_[route];
    for (std::size_t i = 0; i < bounds.size(); ++i)
        if (seconds <= bounds[i]) ++h.buckets[i];
    ++h.count;
    h.sum += seconds;
}

std::string HttpMetrics::prometheus(std::size_t open_connections) const {
    std::ostringstream o;
    o.precision(9);
    std::lock_guard<std::mutex> lock(mutex_);
    o << "# HELP coe_http_requests_total HTTP requests answered, by route and status (0: the client went away)\n"
         "# TYPE coe_http_requests_total counter\n";
    for (const auto &[key, n] : requests_)
        o << "coe_http_requests_total{route=\"" << key.first << "\",status=\"" << key.second << "\"} " << n << "\n";
    o << "# HELP coe_http_request_duration_seconds From a request read whole to its response written\n"
         "# TYPE coe_http_request_duration_seconds histogram\n";
    for (const auto &[route, h] : latency_) {
        for (std::size_t i = 0; i < bounds.size(); ++i)
            o << "coe_http_request_duration_seconds_bucket{route=\"" << route << "\",le=\"" << bounds[i] << "\"} "
              << h.buckets[i] << "\n";
        o << "coe_http_request_duration_seconds_bucket{route=\"" << route << "\",le=\"+Inf\"} " << h.count << "\n"
          << "coe_http_request_duration_seconds_sum{route=\"" << route << "\"} " << h.sum << "\n"
          << "coe_http_request_duration_seconds_count{route=\"" << route << "\"} " << h.count << "\n";
    }
    o << "# HELP coe_http_requests_in_flight Requests being handled now\n# TYPE coe_http_requests_in_flight gauge\n"
      << "coe_http_requests_in_flight " << in_flight.load() << "\n"
      << "# HELP coe_http_connections_open Open client connections\n# TYPE coe_http_connections_open gauge\n"
      << "coe_http_connections_open " << open_connections << "\n"
      << "# HELP coe_http_slow_client_disconnects_total Connections cut because the client read its responses too "
         "slowly (output waiting over the limit)\n# TYPE coe_http_slow_client_disconnects_total counter\n"
      << "coe_http_slow_client_disconnects_total " << slow_client_disconnects.load() << "\n";
    return o.str();
}

}  // namespace coe::serve
