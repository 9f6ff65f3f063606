// routes.hpp - the handlers behind each route (see coe/server.hpp).  Each is
// called on its connection's strand and ends its exchange (possibly later,
// from another thread).  Errors in the request are answered 4xx with the
// field named; handlers never throw.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <boost/json/object.hpp>

#include "coe/server.hpp"
#include "exchange.hpp"
#include "http_metrics.hpp"

namespace coe::serve {

struct ServeContext {
    const Engine &engine;
    Circle *circle;  // null: no experts configured
    const ServerOptions &options;
    HttpMetrics &metrics;
    std::function<std::size_t()> open_connections;
    std::chrono::system_clock::time_point started = std::chrono::system_clock::now();
};

void handle_analyze(ServeContext &ctx, const std::shared_ptr<Exchange> &ex);
void handle_consult(ServeContext &ctx, const std::shared_ptr<Exchange> &ex);
void handle_chat_completions(ServeContext &ctx, const std::shared_ptr<Exchange> &ex);
void handle_models(ServeContext &ctx, const std::shared_ptr<Exchange> &ex);
void handle_metrics(ServeContext &ctx, const std::shared_ptr<Exchange> &ex);
void handle_healthz(ServeContext &ctx, const std::shared_ptr<Exchange> &ex);
void handle_readyz(ServeContext &ctx, const std::shared_ptr<Exchange> &ex);
void handle_experts(ServeContext &ctx, const std::shared_ptr<Exchange> &ex);
void handle_web_asset(ServeContext &ctx, const std::shared_ptr<Exchange> &ex);

// A mistake in the request: answered with `status` and the error shape.
struct RequestError {
    http::status status;
    std::string type, message, param;
};

// The body as a JSON object; RequestError 400 naming line and column.
boost::json::object parse_body_object(const Exchange &ex);

// Runs a consultation for an exchange: cancelled if the client goes away;
// `on_event` and `on_done` run on the circle's network thread.
void consult_for(ServeContext &ctx, const std::shared_ptr<Exchange> &ex, std::string question, ConsultOptions options,
                 ConsultEventHandler on_event, std::function<void(ConsultationResult)> on_done);

}  // namespace coe::serve
