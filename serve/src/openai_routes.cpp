// The OpenAI-compatible routes: POST /v1/chat/completions and GET /v1/models.
// The circle is one model (ServerOptions::model); its answer is the
// consultation's final answer (the chairman's synthesis, the top-ranked
// answer of a review, or the majority cluster's representative, as
// ServerOptions::consult asks), and the whole consultation rides along in
// the extra field "circle".  The experts receive the last user
// message as the question and the system messages as the system prompt;
// earlier turns are not passed on.
#include <boost/json.hpp>

#include <atomic>

#include "routes.hpp"
#include "coe/json_text.hpp"

namespace coe::serve {

namespace json = boost::json;

namespace {

std::int64_t unix_seconds(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

RequestError bad(const std::string &param, const std::string &message) {
    return {http::status::bad_request, "invalid_request_error", message, param};
}

// A message's text: a string, or the text parts of an array of parts.
std::string message_text(const json::value &content, const std::string &where) {
    if (content.is_string()) return std::string(content.as_string());
    if (content.is_null()) return {};
    if (!content.is_array()) throw bad(where, where + " must be a string or an array of content parts");
    std::string text;
    for (const auto &part : content.as_array()) {
        const auto *o = part.if_object();
        const json::value *type = o ? o->if_contains("type") : nullptr;
        if (!type || !type->is_string()) throw bad(where, where + ": every part needs a \"type\"");
        if (type->as_string() != "text")
            throw bad(where, where + ": only text parts are supported, not '" + std::string(type->as_string()) + "'");
        const json::value *t = o->if_contains("text");
        if (!t || !t->is_string()) throw bad(where, where + ": a text part needs a string \"text\"");
        text += (text.empty() ? "" : "\n") + std::string(t->as_string());
    }
    return text;
}

struct ChatRequest {
    std::string question, system;
    bool stream = false;
};

ChatRequest read_chat_request(const json::object &body, const std::string &model) {
    ChatRequest r;
    const json::value *m = body.if_contains("model");
    if (!m || !m->is_string()) throw bad("model", "\"model\" is required and must be a string");
    if (m->as_string() != model)
        throw RequestError{
            http::status::not_found, "invalid_request_error",
            "The model '" + std::string(m->as_string()) + "' does not exist; this server offers '" + model + "'",
            "model"};
    const json::value *msgs = body.if_contains("messages");
    if (!msgs || !msgs->is_array() || msgs->as_array().empty())
        throw bad("messages", "\"messages\" is required and must be a non-empty array");
    const auto &list = msgs->as_array();
    for (std::size_t i = 0; i < list.size(); ++i) {
        const std::string where = "messages[" + std::to_string(i) + "]";
        const auto *o = list[i].if_object();
        const json::value *role = o ? o->if_contains("role") : nullptr;
        if (!role || !role->is_string()) throw bad(where + ".role", where + ".role is required and must be a string");
        const json::value *content = o->if_contains("content");
        const std::string text = content ? message_text(*content, where + ".content") : std::string();
        if (role->as_string() == "system" || role->as_string() == "developer")
            r.system += (r.system.empty() ? "" : "\n") + text;
        else if (role->as_string() == "user") r.question = text;
    }
    if (r.question.find_first_not_of(" \t\r\n") == std::string::npos)
        throw bad("messages", "no user message with text: the last user message is the question for the circle");
    if (const json::value *s = body.if_contains("stream")) {
        if (!s->is_bool()) throw bad("stream", "\"stream\" must be true or false");
        r.stream = s->as_bool();
    }
    if (const json::value *n = body.if_contains("n"); n && !(n->is_number() && n->to_number<double>() == 1))
        throw bad("n", "the circle gives one answer: \"n\" must be 1");
    return r;  // other parameters (temperature, max_tokens, ...) belong to each expert's own config
}

const std::string *circle_answer(const ConsultationResult &r) {
    return r.final_answer.empty() ? nullptr : &r.final_answer;
}

std::string why_no_answer(const ConsultationResult &r) {
    std::string why = "the circle has no answer";
    if (!r.analysis_error.empty()) why += ": " + r.analysis_error;
    for (const auto &a : r.answers)
        if (!a.ok()) why += "; " + a.expert + ": " + a.status + (a.error.empty() ? "" : " (" + a.error + ")");
    return why;
}

json::object usage(const ConsultationResult &r) {
    std::uint64_t in = 0, out = 0;
    for (const auto &a : r.answers) {
        in += a.tokens_in;
        out += a.tokens_out;
    }
    return {{"prompt_tokens", in}, {"completion_tokens", out}, {"total_tokens", in + out}};
}

json::object chunk(const std::string &id, std::int64_t created, const std::string &model, json::object delta,
                   json::value finish_reason) {
    return {{"id", id},
            {"object", "chat.completion.chunk"},
            {"created", created},
            {"model", model},
            {"choices", json::array{json::object{
                            {"index", 0}, {"delta", std::move(delta)}, {"finish_reason", std::move(finish_reason)}}}}};
}

std::string sse(const json::object &o) { return "data: " + coe::json_text(o) + "\n\n"; }

}  // namespace

void handle_chat_completions(ServeContext &ctx, const std::shared_ptr<Exchange> &ex) {
    ChatRequest chat;
    try {
        chat = read_chat_request(parse_body_object(*ex), ctx.options.model);
    } catch (const RequestError &e) {
        respond_error(*ex, e.status, e.type, e.message, e.param, {});
        return;
    }
    if (ctx.circle == nullptr) {
        respond_error(*ex, http::status::service_unavailable, "unavailable",
                      "no experts are configured on this server (start it with --experts FILE)");
        return;
    }
    ConsultOptions options = ctx.options.consult;
    if (!chat.system.empty()) options.system_prompt = chat.system;
    options.stream_consensus = false;
    const std::int64_t created = unix_seconds(std::chrono::system_clock::now());
    const std::string model = ctx.options.model;

    if (!chat.stream) {
        consult_for(ctx, ex, chat.question, std::move(options), {}, [ex, created, model](ConsultationResult r) {
            const std::string *answer = circle_answer(r);
            if (!answer) {
                respond_error(*ex, http::status::bad_gateway, "upstream_error", why_no_answer(r));
                return;
            }
            json::object o{{"id", "chatcmpl-" + r.id},
                           {"object", "chat.completion"},
                           {"created", created},
                           {"model", model},
                           {"choices", json::array{json::object{
                                           {"index", 0},
                                           {"message", json::object{{"role", "assistant"}, {"content", *answer}}},
                                           {"logprobs", nullptr},
                                           {"finish_reason", "stop"}}}},
                           {"usage", usage(r)},
                           {"circle", json::parse(to_json(r))}};
            ex->respond(http::status::ok, "application/json", coe::json_text(o) + "\n");
        });
        return;
    }

    static std::atomic<std::uint64_t> streams{0};
    const std::string id = "chatcmpl-" + std::to_string(created) + "-" + std::to_string(++streams);
    ex->start_stream("text/event-stream", {{"Cache-Control", "no-cache"}});
    ex->send(sse(chunk(id, created, model, {{"role", "assistant"}, {"content", ""}}, nullptr)));
    // While the experts work, SSE comments (ignored by clients) show progress and keep the connection alive.
    auto on_event = [ex](const ConsultEvent &e) {
        if (e.type == ConsultEvent::Type::expert_done || e.type == ConsultEvent::Type::expert_failed)
            ex->send(": " + e.expert + " " + (e.answer ? e.answer->status : std::string("done")) + " (" +
                     std::to_string(e.answered) + " of " + std::to_string(e.total) + " answered)\n\n");
    };
    consult_for(
        ctx, ex, chat.question, std::move(options), std::move(on_event),
        [ex, id, created, model](ConsultationResult r) {
            if (const std::string *answer = circle_answer(r)) {
                ex->send(sse(chunk(id, created, model, {{"content", *answer}}, nullptr)));
                json::object last = chunk(id, created, model, {}, "stop");
                last["usage"] = usage(r);
                last["circle"] = json::parse(to_json(r));
                ex->send(sse(last));
            } else {
                ex->send(sse({{"error", json::parse(error_body("upstream_error", why_no_answer(r))).at("error")}}));
            }
            ex->send("data: [DONE]\n\n");
            ex->finish();
        });
}

void handle_models(ServeContext &ctx, const std::shared_ptr<Exchange> &ex) {
    json::object model{
        {"id", ctx.options.model}, {"object", "model"}, {"created", unix_seconds(ctx.started)}, {"owned_by", "coe"}};
    json::object o{{"object", "list"}, {"data", json::array{std::move(model)}}};
    ex->respond(http::status::ok, "application/json", coe::json_text(o) + "\n");
}

}  // namespace coe::serve
