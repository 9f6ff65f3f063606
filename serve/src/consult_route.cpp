// POST /v1/consult: {"question", "experts", "quorum", "deadline_ms", "id",
// "system", "review", "reviewers", "synthesize", "deltas"} -> the
// consultation as JSON, or its events as SSE.
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include "coe/error.hpp"
#include "routes.hpp"

namespace coe::serve {

namespace json = boost::json;
namespace net = boost::asio;

namespace {

RequestError bad_field(const std::string &field, const std::string &problem) {
    return {http::status::bad_request, "invalid_request_error", field + ": " + problem, field};
}

std::string string_field(const json::value &v, const std::string &field) {
    if (!v.is_string()) throw bad_field(field, "must be a string");
    return std::string(v.as_string());
}

double number_field(const json::value &v, const std::string &field, double lo, double hi) {
    if (!v.is_number()) throw bad_field(field, "must be a number");
    const double x = v.to_number<double>();
    if (!(x >= lo && x <= hi))
        throw bad_field(field, "must be within [" + std::to_string(static_cast<long long>(lo)) + ", " +
                                   std::to_string(static_cast<long long>(hi)) + "]");
    return x;
}

bool wants_event_stream(const Exchange &ex) {
    const auto accept = ex.request()[http::field::accept];
    return accept.find("text/event-stream") != boost::beast::string_view::npos;
}

}  // namespace

boost::json::object parse_body_object(const Exchange &ex) {
    json::error_code ec;
    json::value v = json::parse(ex.request().body(), ec);
    if (ec)
        throw RequestError{
            http::status::bad_request, "invalid_request_error", "the body is not valid JSON: " + ec.message(), {}};
    if (!v.is_object())
        throw RequestError{http::status::bad_request, "invalid_request_error", "the body must be a JSON object", {}};
    return std::move(v.as_object());
}

void consult_for(ServeContext &ctx, const std::shared_ptr<Exchange> &ex, std::string question, ConsultOptions options,
                 ConsultEventHandler on_event, std::function<void(ConsultationResult)> on_done) {
    auto signal = std::make_shared<net::cancellation_signal>();
    auto done = [ex, signal, on_done = std::move(on_done)](std::exception_ptr e, ConsultationResult r) {
        if (!e) return on_done(std::move(r));
        try {
            std::rethrow_exception(e);
        } catch (const std::exception &x) {  // a caller mistake, e.g. an unknown expert
            // whichever applies: a plain response, or the end of a stream already started
            respond_error(*ex, http::status::bad_request, "invalid_request_error", x.what());
            ex->send("event: error\ndata: " + error_body("invalid_request_error", x.what()) + "\n\n");
            ex->finish();
        }
    };
    try {
        ctx.circle->async_consult(std::move(question), std::move(options), std::move(on_event),
                                  net::bind_cancellation_slot(signal->slot(), std::move(done)));
    } catch (const Error &e) {  // refused before it started: an unknown expert, reviewer or chairman
        respond_error(*ex, http::status::bad_request, "invalid_request_error", e.what());
        ex->send("event: error\ndata: " + error_body("invalid_request_error", e.what()) + "\n\n");
        ex->finish();
        return;
    }
    // The client went away: stop asking (the signal lives on the network thread).
    ex->on_abort([signal, exec = ctx.circle->executor()] {
        net::post(exec, [signal] { signal->emit(net::cancellation_type::all); });
    });
}

void handle_consult(ServeContext &ctx, const std::shared_ptr<Exchange> &ex) {
    if (ctx.circle == nullptr) {
        respond_error(*ex, http::status::service_unavailable, "unavailable",
                      "no experts are configured on this server (start it with --experts FILE)");
        return;
    }
    ConsultOptions options = ctx.options.consult;
    std::string question;
    try {
        for (const auto &[key, value] : parse_body_object(*ex)) {
            const std::string field(key);
            if (field == "question") {
                question = string_field(value, field);
            } else if (field == "experts") {
                if (!value.is_array()) throw bad_field(field, "must be an array of expert names");
                options.experts.clear();
                for (const auto &n : value.as_array()) options.experts.push_back(string_field(n, field + "[]"));
            } else if (field == "quorum") {
                options.quorum = static_cast<std::uint32_t>(number_field(value, field, 0, 100000));
            } else if (field == "deadline_ms") {
                options.deadline =
                    std::chrono::milliseconds(static_cast<long long>(number_field(value, field, 0, 3.6e6)));
            } else if (field == "id") {
                options.id = string_field(value, field);
            } else if (field == "system") {
                options.system_prompt = string_field(value, field);
            } else if (field == "review") {
                if (!value.is_bool()) throw bad_field(field, "must be true or false");
                options.review = value.as_bool();
            } else if (field == "reviewers") {
                if (!value.is_array()) throw bad_field(field, "must be an array of expert names");
                options.reviewers.clear();
                for (const auto &n : value.as_array()) options.reviewers.push_back(string_field(n, field + "[]"));
                options.review = true;
            } else if (field == "synthesize") {
                options.synthesize = string_field(value, field);
            } else if (field == "deltas") {
                if (!value.is_bool()) throw bad_field(field, "must be true or false");
                options.deltas = value.as_bool();
            } else {
                throw bad_field(
                    field,
                    "unknown field (known: question, experts, quorum, deadline_ms, id, system, review, reviewers, "
                    "synthesize, deltas)");
            }
        }
        if (question.find_first_not_of(" \t\r\n") == std::string::npos)
            throw bad_field("question", "is missing or empty");
    } catch (const RequestError &e) {
        respond_error(*ex, e.status, e.type, e.message, e.param);
        return;
    }

    if (!wants_event_stream(*ex)) {
        options.stream_consensus = false;
        consult_for(ctx, ex, std::move(question), std::move(options), {}, [ex](ConsultationResult r) {
            ex->respond(http::status::ok, "application/json", to_json(r) + "\n");
        });
        return;
    }
    ex->start_stream("text/event-stream", {{"Cache-Control", "no-cache"}});
    auto on_event = [ex](const ConsultEvent &e) {
        ex->send(std::string("event: ") + to_string(e.type) + "\ndata: " + to_json(e) + "\n\n");
    };
    consult_for(ctx, ex, std::move(question), std::move(options), std::move(on_event),
                [ex](ConsultationResult) { ex->finish(); });  // the final event carried the result
}

}  // namespace coe::serve
