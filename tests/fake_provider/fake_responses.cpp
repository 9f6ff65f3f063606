#include "fake_responses.hpp"

#include <cstdio>
#include <ctime>
#include <sstream>

#include <boost/json.hpp>

namespace coe::test {

namespace json = boost::json;

namespace {

enum class Route { openai, ollama, anthropic, gemini, unknown };

Route route_of(const std::string &target) {
    const std::string path = target.substr(0, target.find('?'));
    auto ends = [&](const std::string &s) { return path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0; };
    if (ends("/chat/completions")) return Route::openai;
    if (ends("/api/chat")) return Route::ollama;
    if (ends("/v1/messages")) return Route::anthropic;
    if (path.find("/v1beta/models/") != std::string::npos) return Route::gemini;
    return Route::unknown;
}

std::string percent_decode(const std::string &s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

const std::map<std::string, std::string> &canned() {
    static const std::map<std::string, std::string> replies = {
        {"cache_a",
         "Put a caching layer in front of the API. Cache the hot read endpoints in Redis with a short TTL and "
         "invalidate entries on every write.\n\n## Recommendations\n- Add a Redis cache for hot read endpoints\n"
         "- Invalidate cached entries on write\n- Measure the cache hit rate\n"},
        {"cache_b",
         "Caching is the answer here: keep the hot read endpoints in a Redis cache with a short TTL, and "
         "invalidate on write so nobody reads stale data.\n\n## Recommendations\n- Cache hot read endpoints in "
         "Redis\n- Invalidate the cache on every write\n- Watch the hit rate of the cache\n"},
        {"cache_c",
         "Add a Redis caching layer for the hot read endpoints, with a short TTL and invalidation on write; "
         "then measure the hit rate.\n\n## Recommendations\n- Use Redis to cache the hot read endpoints\n"
         "- Invalidate on write\n"},
        {"rewrite",
         "Rewrite the whole service in Rust. The garbage collector of the current runtime causes the pauses, "
         "and no cache fixes that.\n\n## Recommendations\n- Rewrite the service in Rust\n"},
        {"index",
         "The slow part is a missing database index on the orders table; add a composite index on customer "
         "and date.\n\n## Recommendations\n- Add a composite index on orders (customer, date)\n"},
        {"short", "Yes."},
    };
    return replies;
}

std::size_t words(const std::string &s) {
    std::istringstream in(s);
    std::size_t n = 0;
    for (std::string w; in >> w;) ++n;
    return n;
}

struct Directives {
    std::map<std::string, std::string> kv;
    std::string error;
    bool has(const std::string &k) const { return kv.count(k) != 0; }
    std::string get(const std::string &k, const std::string &d = "") const {
        auto it = kv.find(k);
        return it == kv.end() ? d : it->second;
    }
    long num(const std::string &k, long d = 0) const {
        auto it = kv.find(k);
        return it == kv.end() ? d : std::atol(it->second.c_str());
    }
};

Directives parse(const std::string &model) {
    static const char *known[] = {"reply", "fail", "status", "retry_after", "retry_after_ms", "retry_after_date",
                                  "should_retry", "stall_first", "stall_mid", "reset_mid", "malformed", "no_done",
                                  "error_event", "split", "crlf", "cr", "multiline_data", "oversize",
                                  "content_type", "delay", "auth"};
    Directives d;
    std::size_t start = 0;
    while (start <= model.size() && !model.empty()) {
        std::size_t end = model.find(',', start);
        if (end == std::string::npos) end = model.size();
        const std::string item = model.substr(start, end - start);
        start = end + 1;
        if (item.empty()) continue;
        const auto eq = item.find('=');
        const std::string key = item.substr(0, eq), value = eq == std::string::npos ? "" : item.substr(eq + 1);
        bool ok = false;
        for (const char *k : known) ok = ok || key == k;
        if (!ok) d.error = "unknown directive '" + key + "' in the model";
        d.kv[key] = value;
    }
    if (d.has("reply") && d.get("reply") != "echo" && !canned().count(d.get("reply")))
        d.error = "unknown reply '" + d.get("reply") + "'";
    return d;
}

std::string last_user_text(Route route, const json::value &body) {
    std::string text;
    if (route == Route::gemini) {
        if (const auto *c = body.as_object().if_contains("contents"))
            for (const auto &m : c->as_array())
                for (const auto &p : m.at("parts").as_array())
                    if (const auto *t = p.as_object().if_contains("text")) text = std::string(t->as_string());
        return text;
    }
    if (const auto *m = body.as_object().if_contains("messages"))
        for (const auto &msg : m->as_array())
            if (msg.at("role") == "user" && msg.at("content").is_string()) text = std::string(msg.at("content").as_string());
    return text;
}

std::size_t prompt_words(Route route, const json::value &body) {
    std::size_t n = 0;
    if (route == Route::gemini) {
        for (const auto &m : body.at("contents").as_array())
            for (const auto &p : m.at("parts").as_array())
                if (const auto *t = p.as_object().if_contains("text")) n += words(std::string(t->as_string()));
        return n;
    }
    for (const auto &msg : body.at("messages").as_array())
        if (msg.at("content").is_string()) n += words(std::string(msg.at("content").as_string()));
    if (const auto *s = body.as_object().if_contains("system"))
        if (s->is_string()) n += words(std::string(s->as_string()));
    return n;
}

// The answer in a few pieces, cut after spaces.
std::vector<std::string> pieces_of(const std::string &text, std::size_t piece_bytes) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = std::min(text.size(), start + piece_bytes);
        const std::size_t space = text.find(' ', end);
        end = space == std::string::npos ? text.size() : std::min(text.size(), space + 1);
        out.push_back(text.substr(start, end - start));
        start = end;
    }
    if (out.empty()) out.emplace_back();
    return out;
}

std::string status_text(int code) {
    switch (code) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 529: return "Overloaded";
    default: return "Status";
    }
}

std::string error_body(Route route, int code, const std::string &message) {
    switch (route) {
    case Route::anthropic: {
        const char *type = code == 529 ? "overloaded_error" : code == 429 ? "rate_limit_error"
                           : code == 401 ? "authentication_error" : code >= 500 ? "api_error" : "invalid_request_error";
        return json::serialize(json::object{{"type", "error"}, {"error", {{"type", type}, {"message", message}}}});
    }
    case Route::gemini: {
        const char *status = code == 429 ? "RESOURCE_EXHAUSTED" : code == 503 ? "UNAVAILABLE" : code == 401 ? "UNAUTHENTICATED"
                             : code >= 500 ? "INTERNAL" : "INVALID_ARGUMENT";
        return json::serialize(json::object{{"error", {{"code", code}, {"message", message}, {"status", status}}}});
    }
    case Route::ollama: return json::serialize(json::object{{"error", message}});
    default: {
        const char *type = code == 429 ? "rate_limit_exceeded" : code == 401 ? "invalid_request_error"
                           : code >= 500 ? "server_error" : "invalid_request_error";
        return json::serialize(json::object{{"error", {{"message", message}, {"type", type}, {"code", nullptr}}}});
    }
    }
}

std::string http_date(std::time_t t) {
    char buf[64];
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buf;
}

class Builder {
public:
    explicit Builder(long split) : split_(split) {}
    std::vector<Step> steps;
    void head(int code, const std::string &content_type, const std::vector<std::pair<std::string, std::string>> &extra) {
        std::string h = "HTTP/1.1 " + std::to_string(code) + " " + status_text(code) + "\r\n";
        h += "Content-Type: " + content_type + "\r\nTransfer-Encoding: chunked\r\n";
        for (const auto &[k, v] : extra) h += k + ": " + v + "\r\n";
        steps.push_back({Step::write, h + "\r\n", 0});
    }
    void body(const std::string &bytes) {  // as HTTP chunks, split as asked
        const std::size_t n = split_ > 0 ? static_cast<std::size_t>(split_) : std::max<std::size_t>(bytes.size(), 1);
        for (std::size_t i = 0; i < bytes.size(); i += n) {
            const std::string part = bytes.substr(i, n);
            char size[32];
            std::snprintf(size, sizeof size, "%zx\r\n", part.size());
            steps.push_back({Step::write, size + part + "\r\n", 0});
        }
    }
    void wait(long ms) { steps.push_back({Step::wait, "", ms}); }
    void reset() { steps.push_back({Step::reset, "", 0}); }
    void end() { steps.push_back({Step::write, "0\r\n\r\n", 0}); }

private:
    long split_;
};

}  // namespace

long fault_budget(const std::string &model) { return parse(model).num("fail", 0); }

std::string model_of(const ParsedRequest &r) {
    const Route route = route_of(r.target);
    if (route == Route::gemini) {
        const std::string path = r.target.substr(0, r.target.find('?'));
        const auto start = path.find("/v1beta/models/") + 15;
        const auto colon = path.rfind(':');
        return percent_decode(path.substr(start, colon == std::string::npos || colon < start ? std::string::npos : colon - start));
    }
    json::error_code ec;
    json::value v = json::parse(r.body, ec);
    if (ec || !v.is_object()) return "";
    const auto *m = v.as_object().if_contains("model");
    return m != nullptr && m->is_string() ? std::string(m->as_string()) : "";
}

std::vector<Step> plan_response(const ParsedRequest &r, const std::string &model, bool faults, const std::string &api_key) {
    const Route route = route_of(r.target);
    const Directives d = parse(model);
    Builder b(faults ? d.num("split", 0) : 0);
    auto plain_error = [&](int code, const std::string &message) {
        b.head(code, "application/json", {});
        b.body(error_body(route, code, message));
        b.end();
        return b.steps;
    };
    if (route == Route::unknown) return plain_error(404, "no such route: " + r.target);
    if (!d.error.empty()) return plain_error(400, d.error);
    json::error_code ec;
    const json::value body = route == Route::gemini && r.body.empty() ? json::value(json::object{}) : json::parse(r.body, ec);
    if (ec || !body.is_object()) return plain_error(400, "the request body is not a JSON object");

    if (d.has("auth")) {
        auto header = [&](const char *name) {
            auto it = r.headers.find(name);
            return it == r.headers.end() ? std::string() : it->second;
        };
        bool ok = false;
        switch (route) {
        case Route::anthropic:
            ok = (header("x-api-key") == api_key && !header("anthropic-version").empty()) ||
                 header("authorization") == "Bearer " + api_key;
            break;
        case Route::gemini: ok = header("x-goog-api-key") == api_key; break;
        default: ok = header("authorization") == "Bearer " + api_key; break;
        }
        if (!ok || api_key.empty()) return plain_error(401, "invalid API key");
    }

    std::vector<std::pair<std::string, std::string>> retry_headers;
    if (faults) {
        if (d.has("retry_after")) retry_headers.emplace_back("Retry-After", d.get("retry_after"));
        if (d.has("retry_after_ms")) retry_headers.emplace_back("retry-after-ms", d.get("retry_after_ms"));
        if (d.has("retry_after_date")) retry_headers.emplace_back("Retry-After", http_date(std::time(nullptr) + 2));
        if (d.has("should_retry")) retry_headers.emplace_back("x-should-retry", d.get("should_retry"));
        if (d.has("stall_first")) b.wait(d.num("stall_first"));
        if (d.has("status")) {
            const int code = static_cast<int>(d.num("status"));
            b.head(code, "application/json", retry_headers);
            b.body(error_body(route, code, "injected status " + std::to_string(code)));
            b.end();
            return b.steps;
        }
    }

    const std::string reply = d.get("reply", "cache_a");
    std::string text = reply == "echo" ? last_user_text(route, body) : canned().at(reply);
    if (faults && d.has("oversize")) {
        const std::size_t n = static_cast<std::size_t>(d.num("oversize"));
        text.clear();
        while (text.size() < n) text += "lorem ";
        text.resize(n);
    }
    const std::size_t p = prompt_words(route, body), c = words(text);
    bool stream = false;
    if (route == Route::gemini) stream = r.target.find(":streamGenerateContent") != std::string::npos;
    else if (const auto *s = body.as_object().if_contains("stream")) stream = s->is_bool() && s->as_bool();
    else stream = route == Route::ollama;  // Ollama streams unless told not to
    const std::string m = model;

    const bool malformed = faults && d.has("malformed"), no_done = faults && d.has("no_done"),
               error_event = faults && d.has("error_event"), reset_mid = faults && d.has("reset_mid");
    const long stall_mid = faults ? d.num("stall_mid") : 0, delay = d.num("delay");
    std::string content_type = stream ? (route == Route::ollama ? "application/x-ndjson" : "text/event-stream")
                                      : "application/json";
    if (faults && d.has("content_type")) content_type = d.get("content_type");

    if (!stream) {
        std::string out;
        switch (route) {
        case Route::openai:
            out = json::serialize(json::object{
                {"id", "chatcmpl-fake"}, {"object", "chat.completion"}, {"created", 1767225600}, {"model", m},
                {"choices", json::array{json::object{{"index", 0},
                                                     {"message", {{"role", "assistant"}, {"content", text}}},
                                                     {"finish_reason", "stop"}}}},
                {"usage", {{"prompt_tokens", p}, {"completion_tokens", c}, {"total_tokens", p + c}}}});
            break;
        case Route::ollama:
            out = json::serialize(json::object{{"model", m}, {"created_at", "2026-01-01T00:00:00Z"},
                                               {"message", {{"role", "assistant"}, {"content", text}}}, {"done", true},
                                               {"done_reason", "stop"}, {"prompt_eval_count", p}, {"eval_count", c}});
            break;
        case Route::anthropic:
            out = json::serialize(json::object{
                {"id", "msg_fake"}, {"type", "message"}, {"role", "assistant"}, {"model", m},
                {"content", json::array{json::object{{"type", "text"}, {"text", text}}}}, {"stop_reason", "end_turn"},
                {"stop_sequence", nullptr}, {"usage", {{"input_tokens", p}, {"output_tokens", c}}}});
            break;
        default:
            out = json::serialize(json::object{
                {"candidates", json::array{json::object{{"content", {{"role", "model"}, {"parts", json::array{json::object{{"text", text}}}}}},
                                                        {"finishReason", "STOP"}, {"index", 0}}}},
                {"usageMetadata", {{"promptTokenCount", p}, {"candidatesTokenCount", c}, {"totalTokenCount", p + c}}},
                {"modelVersion", m}});
        }
        if (malformed) out.resize(out.size() / 2);
        b.head(200, content_type, {});
        if (stall_mid > 0 || reset_mid) {
            b.body(out.substr(0, out.size() / 2));
            if (stall_mid > 0) b.wait(stall_mid);
            if (reset_mid) {
                b.reset();
                return b.steps;
            }
            b.body(out.substr(out.size() / 2));
        } else {
            b.body(out);
        }
        b.end();
        return b.steps;
    }

    // streamed: a list of events, each already framed
    const std::string eol = faults && d.has("crlf") ? "\r\n" : faults && d.has("cr") ? "\r" : "\n";
    auto sse = [&](const json::value &data, const char *event = nullptr) {
        std::string e;
        if (event) e += std::string("event: ") + event + eol;
        return e + "data: " + json::serialize(data) + eol + eol;
    };
    const std::vector<std::string> pieces = pieces_of(text, text.size() > 100000 ? 16384 : text.size() / 4 + 1);
    std::vector<std::string> before, per_piece, after;  // events around the text pieces
    std::string error_ev, malformed_ev, done_ev;
    switch (route) {
    case Route::openai: {
        auto chunk = [&](json::object delta, json::value finish) {
            return json::object{{"id", "chatcmpl-fake"}, {"object", "chat.completion.chunk"}, {"created", 1767225600},
                                {"model", m},
                                {"choices", json::array{json::object{{"index", 0}, {"delta", std::move(delta)},
                                                                     {"finish_reason", std::move(finish)}}}}};
        };
        before.push_back(": keep-alive" + eol + eol);
        before.push_back(sse(chunk({{"role", "assistant"}, {"content", ""}}, nullptr)));
        for (std::size_t i = 0; i < pieces.size(); ++i) {
            std::string e = sse(chunk({{"content", pieces[i]}}, nullptr));
            if (i == 0 && faults && d.has("multiline_data")) {  // legal SSE: data lines joined by \n
                const std::string j = json::serialize(chunk({{"content", pieces[i]}}, nullptr));
                const auto comma = j.find(',');
                e = "data: " + j.substr(0, comma + 1) + eol + "data: " + j.substr(comma + 1) + eol + eol;
            }
            per_piece.push_back(e);
        }
        after.push_back(sse(chunk({}, "stop")));
        const auto *so = body.as_object().if_contains("stream_options");
        if (so != nullptr && so->is_object() && so->as_object().if_contains("include_usage"))
            after.push_back(sse(json::object{{"id", "chatcmpl-fake"}, {"object", "chat.completion.chunk"}, {"model", m},
                                             {"choices", json::array{}},
                                             {"usage", {{"prompt_tokens", p}, {"completion_tokens", c}, {"total_tokens", p + c}}}}));
        done_ev = "data: [DONE]" + eol + eol;
        error_ev = sse(json::object{{"error", {{"message", "The server had an error"}, {"type", "server_error"}}}});
        malformed_ev = "data: {\"choices\":[{\"delta\":{\"content\":\"x\"" + eol + eol;
        break;
    }
    case Route::ollama: {
        for (const auto &piece : pieces)
            per_piece.push_back(json::serialize(json::object{{"model", m}, {"created_at", "2026-01-01T00:00:00Z"},
                                                             {"message", {{"role", "assistant"}, {"content", piece}}},
                                                             {"done", false}}) + "\n");
        done_ev = json::serialize(json::object{{"model", m}, {"created_at", "2026-01-01T00:00:00Z"},
                                               {"message", {{"role", "assistant"}, {"content", ""}}}, {"done", true},
                                               {"done_reason", "stop"}, {"total_duration", 1000},
                                               {"prompt_eval_count", p}, {"eval_count", c}}) + "\n";
        error_ev = "{\"error\":\"model crashed\"}\n";
        malformed_ev = "{\"model\": \"x\", \"message\": {\n";
        break;
    }
    case Route::anthropic: {
        before.push_back(": keep-alive" + eol + eol);
        before.push_back(sse(json::object{{"type", "message_start"},
                                          {"message", {{"id", "msg_fake"}, {"type", "message"}, {"role", "assistant"},
                                                       {"model", m}, {"content", json::array{}}, {"stop_reason", nullptr},
                                                       {"usage", {{"input_tokens", p}, {"output_tokens", 1}}}}}},
                             "message_start"));
        before.push_back(sse(json::object{{"type", "content_block_start"}, {"index", 0},
                                          {"content_block", {{"type", "text"}, {"text", ""}}}},
                             "content_block_start"));
        before.push_back(sse(json::object{{"type", "ping"}}, "ping"));
        for (const auto &piece : pieces)
            per_piece.push_back(sse(json::object{{"type", "content_block_delta"}, {"index", 0},
                                                 {"delta", {{"type", "text_delta"}, {"text", piece}}}},
                                    "content_block_delta"));
        after.push_back(sse(json::object{{"type", "content_block_stop"}, {"index", 0}}, "content_block_stop"));
        after.push_back(sse(json::object{{"type", "message_delta"},
                                         {"delta", {{"stop_reason", "end_turn"}, {"stop_sequence", nullptr}}},
                                         {"usage", {{"output_tokens", c}}}},
                            "message_delta"));
        done_ev = sse(json::object{{"type", "message_stop"}}, "message_stop");
        error_ev = sse(json::object{{"type", "error"}, {"error", {{"type", "overloaded_error"}, {"message", "Overloaded"}}}}, "error");
        malformed_ev = "event: content_block_delta" + eol + "data: {\"type\": \"content_block_delta\", \"delta\": {" + eol + eol;
        break;
    }
    default: {
        for (std::size_t i = 0; i < pieces.size(); ++i) {
            json::object chunk{{"candidates", json::array{json::object{{"content", {{"role", "model"}, {"parts", json::array{json::object{{"text", pieces[i]}}}}}},
                                                                       {"index", 0}}}},
                               {"modelVersion", m}};
            if (i + 1 == pieces.size()) {
                if (!no_done) chunk["candidates"].as_array()[0].as_object()["finishReason"] = "STOP";
                chunk["usageMetadata"] = {{"promptTokenCount", p}, {"candidatesTokenCount", c}, {"totalTokenCount", p + c}};
            }
            per_piece.push_back(sse(chunk));
        }
        error_ev = sse(json::object{{"error", {{"code", 500}, {"message", "Internal error"}, {"status", "INTERNAL"}}}});
        malformed_ev = "data: {\"candidates\": [" + eol + eol;
        break;
    }
    }
    b.head(200, content_type, {});
    for (const auto &e : before) b.body(e);
    const std::size_t half = per_piece.size() / 2;
    for (std::size_t i = 0; i < per_piece.size(); ++i) {
        if (i == half && faults) {
            if (stall_mid > 0) b.wait(stall_mid);
            if (reset_mid) {
                b.reset();
                return b.steps;
            }
            if (malformed) b.body(malformed_ev);
            if (error_event) {
                b.body(error_ev);
                b.end();
                return b.steps;
            }
        }
        if (delay > 0 && i > 0) b.wait(delay);
        b.body(per_piece[i]);
    }
    for (const auto &e : after) b.body(e);
    if (!no_done) b.body(done_ev);
    b.end();
    return b.steps;
}

}  // namespace coe::test
