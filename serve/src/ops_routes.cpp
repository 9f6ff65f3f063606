// GET /metrics, /healthz, /readyz, and the error body every route shares.
#include <boost/json.hpp>

#include "routes.hpp"
#include "coe/json_text.hpp"

namespace coe::serve {

namespace json = boost::json;

std::string error_body(const std::string &type, const std::string &message, const std::string &param,
                       const std::string &code) {
    json::object e{{"type", type}, {"message", message}};
    e["param"] = param.empty() ? json::value(nullptr) : json::value(param);
    e["code"] = code.empty() ? json::value(nullptr) : json::value(code);
    return coe::json_text(json::object{{"error", std::move(e)}}) + "\n";
}

void respond_error(Exchange &ex, http::status status, const std::string &type, const std::string &message,
                   const std::string &param, Headers headers) {
    std::string code;
    if (status == http::status::not_found && param == "model") code = "model_not_found";
    ex.respond(status, "application/json", error_body(type, message, param, code), std::move(headers));
}

void handle_metrics(ServeContext &ctx, const std::shared_ptr<Exchange> &ex) {
    std::string text = ctx.engine.performance_report_prometheus();
    if (ctx.circle) text += ctx.circle->performance_report_prometheus();
    text += ctx.metrics.prometheus(ctx.open_connections());
    ex->respond(http::status::ok, "text/plain; version=0.0.4; charset=utf-8", std::move(text));
}

void handle_healthz(ServeContext &, const std::shared_ptr<Exchange> &ex) {
    ex->respond(http::status::ok, "application/json", "{\"status\":\"ok\"}\n");
}

// Ready when the engine has its backends (it always has: it was built) and
// at least one expert's breaker lets calls through, or no expert is configured.
void handle_readyz(ServeContext &ctx, const std::shared_ptr<Exchange> &ex) {
    // "auth": whether the API needs a bearer token (the web page asks for one
    // before its first call rather than provoking a 401).
    json::object o{{"backend", ctx.engine.active_backend()}, {"auth", ctx.options.tokens.empty() ? "none" : "bearer"}};
    bool ready = true;
    if (ctx.circle) {
        std::size_t usable = 0, total = 0;
        const json::value report = json::parse(ctx.circle->performance_report());
        for (const auto &[name, e] : report.at("experts").as_object()) {
            (void)name;
            ++total;
            const json::value *b = e.as_object().if_contains("breaker");
            const bool open = b && b->as_object().at("state").as_string() == "open";
            usable += open ? 0 : 1;
        }
        ready = usable > 0;
        o["experts"] = {{"configured", total}, {"usable", usable}};
    }
    o["status"] = ready ? "ready" : "not ready: every expert's breaker is open";
    ex->respond(ready ? http::status::ok : http::status::service_unavailable, "application/json",
                coe::json_text(o) + "\n");
}

}  // namespace coe::serve

namespace coe::serve {

// GET /v1/experts: the configured experts with their breaker state, and the
// consultation defaults a request may override (what the web page offers).
void handle_experts(ServeContext &ctx, const std::shared_ptr<Exchange> &ex) {
    const ConsultOptions &d = ctx.options.consult;
    json::object defaults{
        {"quorum", d.quorum}, {"deadline_ms", d.deadline.count()}, {"review", d.review}, {"synthesize", d.synthesize}};
    json::array experts;
    if (ctx.circle) {
        const json::value report = json::parse(ctx.circle->performance_report());
        for (const auto &[name, e] : report.at("experts").as_object()) {
            json::object x{{"name", name}};
            if (const json::value *b = e.as_object().if_contains("breaker")) x["breaker"] = *b;
            experts.push_back(std::move(x));
        }
    }
    ex->respond(
        http::status::ok, "application/json",
        coe::json_text(json::object{{"experts", std::move(experts)}, {"defaults", std::move(defaults)}}) + "\n");
}

}  // namespace coe::serve
