// POST /v1/analyze: one panel -> its report; JSON Lines -> one line each.
#include "coe/panel_json.hpp"
#include "coe/report_format.hpp"
#include "routes.hpp"

namespace coe::serve {

void handle_analyze(ServeContext &ctx, const std::shared_ptr<Exchange> &ex) {
    const std::string &body = ex->request().body();
    if (body.find_first_not_of(" \t\r\n") == std::string::npos) {
        respond_error(*ex, http::status::bad_request, "invalid_request_error",
                      "the body is empty: send a panel as JSON, or panels as JSON Lines");
        return;
    }
    const std::vector<PanelLine> lines = parse_panels(body, "request");
    if (lines.size() == 1) {  // one panel: its report, or a 4xx naming what is wrong
        if (auto *e = std::get_if<std::string>(&lines[0].panel_or_error)) {
            respond_error(*ex, http::status::bad_request, "invalid_request_error", *e);
            return;
        }
        try {
            const Report r = ctx.engine.analyze(std::get<Panel>(lines[0].panel_or_error).view());
            ex->respond(http::status::ok, "application/json", to_json(r) + "\n");
        } catch (const std::exception &e) {
            respond_error(*ex, http::status::unprocessable_entity, "invalid_request_error", e.what());
        }
        return;
    }
    std::string out;  // as `coe analyze --json`: a report or an error record per line, in order
    for (const auto &line : lines) {
        if (auto *e = std::get_if<std::string>(&line.panel_or_error)) {
            out += error_json(line.line, *e) + "\n";
            continue;
        }
        try {
            out += to_json(ctx.engine.analyze(std::get<Panel>(line.panel_or_error).view())) + "\n";
        } catch (const std::exception &e) {
            out += error_json(line.line, "request:" + std::to_string(line.line) + ": " + e.what()) + "\n";
        }
    }
    ex->respond(http::status::ok, "application/x-ndjson", std::move(out));
}

}  // namespace coe::serve
