// The fake provider server itself: each route's wire format, the
// directives, TLS, the threads and a prompt shutdown; talked to with a
// small Beast client on 127.0.0.1, every wait bounded.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <thread>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>

#include "directives.hpp"
#include "fake_provider_server.hpp"

using namespace coe::test;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

struct Reply {
    unsigned status = 0;
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string body;
    std::size_t chunks = 0, max_chunk = 0;  // HTTP chunks with data; the biggest's size
    std::string error;                      // transport error, "" when the response was whole
    std::string header(const std::string &name) const {
        const auto it = headers.find(name);
        return it == headers.end() ? "" : it->second;
    }
};

using Fields = std::vector<std::pair<std::string, std::string>>;

// One connection (kept alive between requests); every operation gives up
// after 10 s.
class Client {
public:
    explicit Client(std::uint16_t port, asio::ssl::context *trust = nullptr) {
        tcp::socket socket(io_);
        socket.connect({asio::ip::make_address("127.0.0.1"), port});
        if (trust == nullptr) {
            plain_.emplace(std::move(socket));
            return;
        }
        tls_.emplace(std::move(socket), *trust);
        tls_->set_verify_mode(asio::ssl::verify_peer);
        tls_->set_verify_callback(asio::ssl::host_name_verification("127.0.0.1"));
        tls_->async_handshake(asio::ssl::stream_base::client, [this](beast::error_code ec) { error_ = ec; });
        run();
    }
    beast::error_code handshake_error() const { return error_; }

    Reply post(const std::string &target, const std::string &body, const Fields &fields = {}) {
        send(target, body, fields);
        parser_->body_limit(64u << 20);
        with_stream([&](auto &s) {
            http::async_read(s, buffer_, *parser_, [this](beast::error_code ec, std::size_t) { error_ = ec; });
        });
        return finish();
    }
    // Sends a request and reads only the response's head.
    Reply post_head_only(const std::string &target, const std::string &body) {
        send(target, body, {});
        with_stream([&](auto &s) {
            http::async_read_header(s, buffer_, *parser_, [this](beast::error_code ec, std::size_t) { error_ = ec; });
        });
        return finish();
    }
    // Reads what is left of a response begun by post_head_only.
    Reply rest() {
        with_stream([&](auto &s) {
            http::async_read(s, buffer_, *parser_, [this](beast::error_code ec, std::size_t) { error_ = ec; });
        });
        return finish();
    }

private:
    template <class F>
    void with_stream(F f) {
        if (tls_) f(*tls_);
        else f(*plain_);
    }
    void run() {
        io_.restart();
        io_.run_for(std::chrono::seconds(10));
        if (io_.stopped()) return;
        beast::error_code ignored;  // timed out: give up the connection
        with_stream([&](auto &s) { beast::get_lowest_layer(s).socket().close(ignored); });
        io_.restart();
        io_.run();
        error_ = asio::error::timed_out;
    }
    void send(const std::string &target, const std::string &body, const Fields &fields) {
        request_ = {http::verb::post, target, 11};
        request_.set(http::field::host, "127.0.0.1");
        request_.set(http::field::content_type, "application/json");
        for (const auto &[name, value] : fields) request_.set(name, value);
        request_.body() = body;
        request_.prepare_payload();
        with_stream([&](auto &s) {
            http::async_write(s, request_, [this](beast::error_code ec, std::size_t) { error_ = ec; });
        });
        run();
        parser_.emplace();
        chunks_ = max_chunk_ = 0;
        parser_->on_chunk_header(on_chunk_);
    }
    Reply finish() {
        if (!error_) run();
        Reply r;
        r.error = error_ ? error_.message() : "";
        r.status = parser_->get().result_int();
        for (const auto &f : parser_->get()) {
            std::string name(f.name_string());
            for (char &c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            r.headers[name] = std::string(f.value());
        }
        r.body = parser_->get().body();
        r.chunks = chunks_;
        r.max_chunk = max_chunk_;
        return r;
    }

    asio::io_context io_;
    std::optional<beast::tcp_stream> plain_;
    std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
    beast::flat_buffer buffer_;
    http::request<http::string_body> request_;
    std::optional<http::response_parser<http::string_body>> parser_;
    beast::error_code error_;
    std::size_t chunks_ = 0, max_chunk_ = 0;
    std::function<void(std::uint64_t, beast::string_view, beast::error_code &)> on_chunk_ =
        [this](std::uint64_t size, beast::string_view, beast::error_code &) {
            chunks_ += size > 0 ? 1 : 0;
            max_chunk_ = std::max(max_chunk_, static_cast<std::size_t>(size));
        };
};

// A bare socket for requests written by hand; every read gives up after 5 s.
class Raw {
public:
    explicit Raw(std::uint16_t port) : socket_(io_) { socket_.connect({asio::ip::make_address("127.0.0.1"), port}); }
    void write(const std::string &bytes) {
        asio::async_write(socket_, asio::buffer(bytes), [](beast::error_code, std::size_t) {});
        run();
    }
    void send_request(const std::string &path, const std::string &body, const std::string &extra = "") {
        write("POST " + path + " HTTP/1.1\r\nHost: x\r\n" + extra + "Content-Length: " + std::to_string(body.size()) +
              "\r\n\r\n" + body);
    }
    // What arrives until `delimiter` (included), or "" on time out or error.
    std::string read_until(const std::string &delimiter) {
        std::string got;
        bool ok = false;
        asio::async_read_until(socket_, asio::dynamic_buffer(got), delimiter,
                               [&](beast::error_code ec, std::size_t) { ok = !ec; });
        run();
        return ok ? got : "";
    }

private:
    void run() {  // the pending operation, for at most 10 s
        io_.restart();
        io_.run_for(std::chrono::seconds(10));
        if (io_.stopped()) return;
        beast::error_code ignored;
        socket_.close(ignored);
        io_.restart();
        io_.run();
    }

    asio::io_context io_;
    tcp::socket socket_;
};

Reply post(const FakeProviderServer &server, const std::string &target, const std::string &body, const Fields &f = {}) {
    Client c(server.port());
    return c.post(target, body, f);
}

enum class P { openai, ollama, anthropic, gemini };
const P all_providers[] = {P::openai, P::ollama, P::anthropic, P::gemini};
const char *name_of(P p) {
    return p == P::openai ? "openai" : p == P::ollama ? "ollama" : p == P::anthropic ? "anthropic" : "gemini";
}

// The path and body of a chat request to provider `p`: "one two three" as
// the user's words, "be brief" as the system prompt.
std::pair<std::string, std::string> chat(P p, const std::string &model, bool stream,
                                         const std::string &user = "one two three") {
    const json::array messages{json::object{{"role", "user"}, {"content", user}}};
    switch (p) {
    case P::openai:
        return {"/v1/chat/completions",
                json::serialize(json::object{
                    {"model", model},
                    {"messages", json::array{json::object{{"role", "system"}, {"content", "be brief"}}, messages[0]}},
                    {"stream", stream},
                    {"stream_options", {{"include_usage", true}}}})};
    case P::ollama:
        return {"/api/chat",
                json::serialize(json::object{
                    {"model", model}, {"messages", messages}, {"stream", stream}, {"options", {{"temperature", 0}}}})};
    case P::anthropic:
        return {"/v1/messages", json::serialize(json::object{{"model", model},
                                                             {"max_tokens", 100},
                                                             {"system", "be brief"},
                                                             {"messages", messages},
                                                             {"stream", stream}})};
    case P::gemini: {
        std::string path = "/v1beta/models/";
        for (char c : model) path += c == '=' ? std::string("%3D") : std::string(1, c);  // as a client would escape it
        return {path + (stream ? ":streamGenerateContent?alt=sse" : ":generateContent"),
                json::serialize(json::object{
                    {"contents",
                     json::array{json::object{{"role", "user"}, {"parts", json::array{json::object{{"text", user}}}}}}},
                    {"systemInstruction", {{"parts", json::array{json::object{{"text", "be brief"}}}}}},
                    {"generationConfig", {{"maxOutputTokens", 100}}}})};
    }
    }
    return {};
}

struct Event {
    std::string name, data;
};

// An SSE body's events; lines may end in \n, \r\n or \r; comments skipped.
std::vector<Event> sse_events(const std::string &body) {
    std::vector<Event> out;
    Event e;
    bool has_data = false;
    std::size_t i = 0;
    while (i < body.size()) {
        std::size_t end = body.find_first_of("\r\n", i);
        if (end == std::string::npos) break;  // an unterminated line is not an event
        const std::string line = body.substr(i, end - i);
        i = end + (body.compare(end, 2, "\r\n") == 0 ? 2 : 1);
        if (line.empty()) {
            if (has_data) out.push_back(e);
            e = {};
            has_data = false;
        } else if (line.rfind("data:", 0) == 0) {
            e.data += (has_data ? "\n" : "") + line.substr(line.size() > 5 && line[5] == ' ' ? 6 : 5);
            has_data = true;
        } else if (line.rfind("event:", 0) == 0) {
            e.name = line.substr(7);
        }
    }
    return out;
}

std::vector<json::value> ndjson_lines(const std::string &body) {
    std::vector<json::value> out;
    std::size_t i = 0;
    for (std::size_t end; (end = body.find('\n', i)) != std::string::npos; i = end + 1)
        out.push_back(json::parse(body.substr(i, end - i)));
    return out;
}

std::string str(const json::value &v) { return std::string(v.as_string()); }

// The answer text of a streamed body, and whether the terminal marker came.
std::pair<std::string, bool> streamed_text(P p, const std::string &body) {
    std::string text;
    bool done = false;
    if (p == P::ollama) {
        for (const auto &line : ndjson_lines(body)) {
            if (line.as_object().contains("error")) break;
            text += str(line.at("message").at("content"));
            done = done || line.at("done").as_bool();
        }
        return {text, done};
    }
    for (const auto &e : sse_events(body)) {
        if (e.data == "[DONE]") {
            done = true;
            continue;
        }
        const json::value v = json::parse(e.data);
        if (v.as_object().contains("error")) break;  // a mid-stream error event ends the answer
        if (p == P::openai) {
            const auto &choices = v.at("choices").as_array();
            if (!choices.empty())
                if (const auto *c = choices[0].at("delta").as_object().if_contains("content")) text += str(*c);
        } else if (p == P::anthropic) {
            CHECK(str(v.at("type")) == e.name);
            if (e.name == "content_block_delta") text += str(v.at("delta").at("text"));
            done = done || e.name == "message_stop";
        } else {
            const auto &candidate = v.at("candidates").at(0);
            text += str(candidate.at("content").at("parts").at(0).at("text"));
            done = done || candidate.as_object().contains("finishReason");
        }
    }
    return {text, done};
}

std::string whole_text(P p, const std::string &body) {
    const json::value v = json::parse(body);
    switch (p) {
    case P::openai: return str(v.at("choices").at(0).at("message").at("content"));
    case P::ollama: return str(v.at("message").at("content"));
    case P::anthropic: return str(v.at("content").at(0).at("text"));
    case P::gemini: return str(v.at("candidates").at(0).at("content").at("parts").at(0).at("text"));
    }
    return "";
}

long ms_since(Clock::time_point t) {
    return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count());
}

}  // namespace

TEST_CASE("every route answers the default reply, whole and streamed, in its own wire format") {
    FakeProviderServer server;
    const std::string expected = *canned_reply("cache_a");
    for (const P p : all_providers) {
        const std::string provider = name_of(p);
        CAPTURE(provider);
        const auto [path, body] = chat(p, "", false);
        const Reply whole = post(server, path, body);
        REQUIRE(whole.status == 200);
        CHECK(whole.header("content-type") == "application/json");
        CHECK(whole_text(p, whole.body) == expected);
        const json::value v = json::parse(whole.body);
        const std::int64_t c = 49;  // words of cache_a
        switch (p) {
        case P::openai:
            CHECK(v.at("object") == "chat.completion");
            CHECK(v.at("choices").at(0).at("finish_reason") == "stop");
            CHECK(v.at("usage") ==
                  json::value{{"prompt_tokens", 5}, {"completion_tokens", c}, {"total_tokens", 5 + c}});
            break;
        case P::ollama:
            CHECK(v.at("done") == true);
            CHECK(v.at("prompt_eval_count") == 3);
            CHECK(v.at("eval_count") == c);
            break;
        case P::anthropic:
            CHECK(v.at("stop_reason") == "end_turn");
            CHECK(v.at("usage") == json::value{{"input_tokens", 5}, {"output_tokens", c}});
            break;
        case P::gemini:
            CHECK(v.at("candidates").at(0).at("finishReason") == "STOP");
            CHECK(v.at("usageMetadata").at("totalTokenCount") == 5 + c);
            break;
        }

        const auto [spath, sbody] = chat(p, "", true);
        const Reply stream = post(server, spath, sbody);
        REQUIRE(stream.status == 200);
        CHECK(stream.header("transfer-encoding") == "chunked");
        CHECK(stream.header("content-type") == (p == P::ollama ? "application/x-ndjson" : "text/event-stream"));
        if (p != P::ollama) CHECK(stream.body.rfind(": keep-alive\n", 0) == 0);
        const auto [text, done] = streamed_text(p, stream.body);
        CHECK(text == expected);
        CHECK(done);
        const auto events = sse_events(stream.body);
        if (p == P::openai) {
            REQUIRE(events.size() >= 5);
            CHECK(events.size() - 4 >= 3);  // 3-6 pieces between the role chunk and finish/usage/[DONE]
            CHECK(json::parse(events[events.size() - 2].data).at("usage").at("total_tokens") == 5 + c);
        }
        if (p == P::anthropic) {
            std::vector<std::string> names;
            for (const auto &e : events) names.push_back(e.name);
            CHECK(names.front() == "message_start");
            CHECK(names[2] == "ping");
            CHECK(names.back() == "message_stop");
            CHECK(names[names.size() - 2] == "message_delta");
        }
    }
    CHECK(server.request_count() == 8);
    CHECK(server.request_count("") == 8);  // Gemini's model is the path's, here "" too
}

TEST_CASE("Ollama streams unless told not to; reply=echo answers the last user message") {
    FakeProviderServer server;
    const Reply r = post(server, "/api/chat", R"({"model":"reply=echo","messages":[{"role":"user","content":"first"},
        {"role":"assistant","content":"x"},{"role":"user","content":"say this back"}]})");
    CHECK(r.header("content-type") == "application/x-ndjson");
    CHECK(streamed_text(P::ollama, r.body).first == "say this back");
    const Reply a =
        post(server, "/v1/messages",
             R"({"model":"reply=echo","messages":[{"role":"user","content":[{"type":"text","text":"blocks too"}]}]})");
    CHECK(whole_text(P::anthropic, a.body) == "blocks too");
}

TEST_CASE("status=429,retry_after=2 answers 429 with Retry-After and the provider's error shape") {
    FakeProviderServer server;
    for (const P p : all_providers) {
        const std::string provider = name_of(p);
        CAPTURE(provider);
        const auto [path, body] = chat(p, "status=429,retry_after=2", true);
        const Reply r = post(server, path, body);
        CHECK(r.status == 429);
        CHECK(r.header("retry-after") == "2");
        const json::value v = json::parse(r.body);
        switch (p) {
        case P::openai: CHECK(v.at("error").at("type") == "rate_limit_exceeded"); break;
        case P::ollama: CHECK(v.at("error").is_string()); break;
        case P::anthropic: CHECK(v.at("error").at("type") == "rate_limit_error"); break;
        case P::gemini: CHECK(v.at("error").at("status") == "RESOURCE_EXHAUSTED"); break;
        }
    }
    const Reply o =
        post(server, "/v1/messages", R"({"model":"status=529,retry_after_ms=150,should_retry=false","messages":[]})");
    CHECK(o.status == 529);
    CHECK(o.header("retry-after-ms") == "150");
    CHECK(o.header("x-should-retry") == "false");
    CHECK(json::parse(o.body).at("error").at("type") == "overloaded_error");
    const Reply d = post(server, "/v1/chat/completions", R"({"model":"status=503,retry_after_date","messages":[]})");
    CHECK(d.header("retry-after").find(" GMT") != std::string::npos);
}

TEST_CASE("fail=2,status=503: two 503s, then a normal answer; counted per model string") {
    FakeProviderServer server;
    const std::string model = "fail=2,status=503";
    const auto [path, body] = chat(P::openai, model, false);
    CHECK(post(server, path, body).status == 503);
    CHECK(post(server, path, body).status == 503);
    const Reply ok = post(server, path, body);
    CHECK(ok.status == 200);
    CHECK(whole_text(P::openai, ok.body) == *canned_reply("cache_a"));
    CHECK(server.request_count(model) == 3);
    CHECK(server.request_count("fail=2") == 0);
    const auto [gpath, gbody] = chat(P::gemini, model, false);  // the same string on another route counts too
    CHECK(post(server, gpath, gbody).status == 200);
    CHECK(server.request_count(model) == 4);
    CHECK(server.request_count() == 4);
    const auto recorded = server.requests();
    REQUIRE(recorded.size() == 4);
    CHECK(recorded[0].method == "POST");
    CHECK(recorded[0].target == "/v1/chat/completions");
    CHECK(recorded[0].body == body);
    CHECK(recorded[3].target == gpath);
}

TEST_CASE("fail_every=3,status=503: every third request fails; with fail=N only among the first N") {
    FakeProviderServer server;
    const std::string model = "fail_every=3,status=503";
    const auto [path, body] = chat(P::openai, model, false);
    std::vector<int> codes;
    for (int i = 0; i < 7; ++i) codes.push_back(post(server, path, body).status);
    CHECK(codes == std::vector<int>{200, 200, 503, 200, 200, 503, 200});
    const std::string bounded = "fail=4,fail_every=2,status=429";
    const auto [bpath, bbody] = chat(P::openai, bounded, false);
    codes.clear();
    for (int i = 0; i < 6; ++i) codes.push_back(post(server, bpath, bbody).status);
    CHECK(codes == std::vector<int>{200, 429, 200, 429, 200, 200});
    Client c(server.port());
    const Reply zero = c.post("/v1/chat/completions", R"({"model":"fail_every=0,status=503","messages":[]})");
    CHECK(zero.status == 400);
    CHECK(zero.body.find("fail_every") != std::string::npos);
}

TEST_CASE("auth=k1: 401 without the key or with a wrong one (never echoed), 200 with it") {
    FakeProviderServer server;
    const std::map<P, std::string> header = {{P::openai, "Authorization"},
                                             {P::ollama, "Authorization"},
                                             {P::anthropic, "x-api-key"},
                                             {P::gemini, "x-goog-api-key"}};
    for (const P p : all_providers) {
        const std::string provider = name_of(p);
        CAPTURE(provider);
        const auto [path, body] = chat(p, "auth=k1", false);
        const std::string prefix = header.at(p) == "Authorization" ? "Bearer " : "";
        const Reply none = post(server, path, body);
        CHECK(none.status == 401);
        const Reply wrong = post(server, path, body, {{header.at(p), prefix + "sk-wrong-secret"}});
        CHECK(wrong.status == 401);
        CHECK(wrong.body.find("sk-wrong-secret") == std::string::npos);
        Fields right = {{header.at(p), prefix + "k1"}};
        if (p == P::anthropic) right.emplace_back("anthropic-version", "2023-06-01");
        CHECK(post(server, path, body, right).status == 200);
    }
    const auto [path, body] = chat(P::anthropic, "auth=k1", false);
    CHECK(post(server, path, body, {{"x-api-key", "k1"}}).status == 401);  // no anthropic-version
    CHECK(post(server, path, body, {{"Authorization", "Bearer k1"}}).status == 200);
    CHECK(json::parse(post(server, path, body).body).at("error").at("type") == "authentication_error");

    FakeProviderServer::Options o;
    o.api_key = "from-options";
    FakeProviderServer keyed(o);
    const auto [kpath, kbody] = chat(P::openai, "auth", false);
    CHECK(post(keyed, kpath, kbody, {{"Authorization", "Bearer from-options"}}).status == 200);
    CHECK(post(keyed, kpath, kbody, {{"Authorization", "Bearer k1"}}).status == 401);
}

TEST_CASE("bad requests: unknown route, directive, reply or value; not JSON; over 16 MB") {
    FakeProviderServer server;
    Client c(server.port());  // all on one kept-alive connection
    const Reply route = c.post("/v2/whatever", "{}");
    CHECK(route.status == 404);
    CHECK(json::parse(route.body).at("error").at("message").as_string().size() > 0);
    const Reply directive = c.post("/v1/chat/completions", R"({"model":"reply=short,explode","messages":[]})");
    CHECK(directive.status == 400);
    CHECK(directive.body.find("explode") != std::string::npos);
    const Reply reply = c.post("/v1/messages", R"({"model":"reply=nonsense","messages":[]})");
    CHECK(reply.status == 400);
    CHECK(reply.body.find("nonsense") != std::string::npos);
    CHECK(c.post("/api/chat", R"({"model":"status=abc","messages":[]})").status == 400);
    CHECK(c.post("/api/chat", "not json").status == 400);
    CHECK(c.post("/v1beta/models/x:countTokens", "{}").status == 404);
    const Reply ok = c.post("/v1/chat/completions", R"({"model":"reply=short","messages":[]})");
    CHECK(ok.status == 200);
    CHECK(ok.error.empty());
    CHECK(server.request_count() == 7);

    const Reply big = post(server, "/v1/chat/completions", std::string((16u << 20) + 10, ' '));
    CHECK(big.status == 413);
    Raw raw(server.port());  // a body that grows past the limit without a Content-Length
    raw.write("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    const std::string chunk = "100000\r\n" + std::string(1u << 20, ' ') + "\r\n";
    for (int i = 0; i < 17; ++i) raw.write(chunk);  // the server reads on, and drops, what is over
    CHECK(raw.read_until("\r\n\r\n").rfind("HTTP/1.1 413", 0) == 0);
}

TEST_CASE("Expect: 100-continue is answered before the body is read") {
    FakeProviderServer server;
    Raw raw(server.port());
    const std::string body = R"({"model":"reply=short","messages":[]})";
    raw.write("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: " +
              std::to_string(body.size()) + "\r\n\r\n");
    CHECK(raw.read_until("\r\n\r\n") == "HTTP/1.1 100 Continue\r\n\r\n");  // at once, before the body
    raw.write(body);
    CHECK(raw.read_until("Yes.").rfind("HTTP/1.1 200 OK", 0) == 0);
}

TEST_CASE("stall_first really delays the response, without holding up other connections") {
    FakeProviderServer server;
    Client slow(server.port());
    const auto [path, body] = chat(P::anthropic, "reply=short,stall_first=200", true);
    const auto start = Clock::now();
    Reply head = slow.post_head_only(path, body);  // nothing comes for 200 ms ...
    CHECK(ms_since(start) >= 190);
    CHECK(head.status == 200);
    CHECK(streamed_text(P::anthropic, slow.rest().body).first == "Yes.");

    Raw stalled(server.port());
    const auto [spath, sbody] = chat(P::openai, "stall_first=5000", false);
    stalled.send_request(spath, sbody);
    const auto t = Clock::now();
    while (server.request_count() < 2 && ms_since(t) < 5000) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const auto [qpath, qbody] = chat(P::openai, "reply=short", false);
    CHECK(post(server, qpath, qbody).status == 200);  // while the other request waits in the server
    CHECK(ms_since(t) < 1000);
}

TEST_CASE("the destructor returns promptly with stalled connections open") {
    auto server = std::make_unique<FakeProviderServer>();
    Client mid(server->port());
    const auto [path, body] = chat(P::openai, "stall_mid=60000", true);
    const Reply head = mid.post_head_only(path, body);
    REQUIRE(head.status == 200);
    {  // a request that gets nothing for a minute: sent, not answered
        Raw first(server->port());
        const auto [p2, b2] = chat(P::gemini, "stall_first=60000", true);
        first.send_request(p2, b2);
        Raw idle(server->port());  // and a connection that sends nothing
        const auto t = Clock::now();
        while (server->request_count() < 2 && ms_since(t) < 5000)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        const auto start = Clock::now();
        server.reset();
        CHECK(ms_since(start) < 1000);
    }
    const Reply rest = mid.rest();  // the half-sent stream ends with an error, not a hang
    CHECK(!rest.error.empty());
    CHECK(rest.body.find("[DONE]") == std::string::npos);
}

TEST_CASE("split=N: the body comes N bytes per HTTP chunk and reassembles to the same bytes") {
    FakeProviderServer server;
    for (const P p : all_providers) {
        const std::string provider = name_of(p);
        CAPTURE(provider);
        for (const bool stream : {false, true}) {
            const auto [path, body] = chat(p, "reply=index", stream);
            const auto [spath, sbody] = chat(p, "reply=index,split=1", stream);
            const Reply plain = post(server, path, body), split = post(server, spath, sbody);
            REQUIRE(split.status == 200);
            CHECK(split.chunks == split.body.size());
            CHECK(split.body.size() > 100);
            std::string expected = plain.body;  // only the echoed model string differs
            for (std::size_t at = 0; (at = expected.find("reply=index", at)) != std::string::npos; at += 19)
                expected.replace(at, 11, "reply=index,split=1");
            CHECK(split.body == expected);
        }
    }
    const auto [path, body] = chat(P::openai, "split=7", true);
    const Reply seven = post(server, path, body);
    CHECK(seven.max_chunk == 7);
    CHECK(seven.chunks >= (seven.body.size() + 6) / 7);
    CHECK(streamed_text(P::openai, seven.body).first == *canned_reply("cache_a"));
}

TEST_CASE("stream faults: no_done, error_event, malformed, reset_mid, stall_mid, line ends, multiline data") {
    FakeProviderServer server;
    auto stream = [&](P p, const std::string &model) {
        const auto [path, body] = chat(p, model, true);
        return post(server, path, body);
    };
    for (const P p : all_providers) {
        const std::string provider = name_of(p);
        CAPTURE(provider);
        const Reply no_done = stream(p, "no_done");
        CHECK(no_done.error.empty());  // a properly ended body ...
        const auto [text, done] = streamed_text(p, no_done.body);
        CHECK(text == *canned_reply("cache_a"));
        CHECK(!done);  // ... without the terminal marker

        const Reply error = stream(p, "error_event");
        CHECK(error.error.empty());
        const char *says[] = {"The server had an error", "model crashed", "overloaded_error", "Internal error"};
        CHECK(error.body.find(says[static_cast<int>(p)]) != std::string::npos);
        CHECK(!streamed_text(p, error.body).second);

        const Reply malformed = stream(p, "malformed");
        bool invalid = false;
        if (p == P::ollama) {
            std::size_t i = 0;
            for (std::size_t end; (end = malformed.body.find('\n', i)) != std::string::npos; i = end + 1) {
                json::error_code ec;
                json::parse(malformed.body.substr(i, end - i), ec);
                invalid = invalid || ec;
            }
        } else {
            for (const auto &e : sse_events(malformed.body)) {
                json::error_code ec;
                if (e.data != "[DONE]") json::parse(e.data, ec);
                invalid = invalid || ec;
            }
        }
        CHECK(invalid);

        const Reply reset = stream(p, "reset_mid");
        CHECK(!reset.error.empty());
        CHECK(!streamed_text(p, reset.body).second);

        const auto start = Clock::now();
        const Reply stalled = stream(p, "stall_mid=150,reply=short");
        CHECK(ms_since(start) >= 140);
        CHECK(streamed_text(p, stalled.body) == std::pair<std::string, bool>("Yes.", true));
    }
    for (const std::string ends : {"crlf", "cr"}) {
        const Reply r = stream(P::anthropic, ends);
        CHECK(r.body.find(ends == "crlf" ? "\r\n\r\n" : "\r\r") != std::string::npos);
        CHECK(r.body.find('\n') == (ends == "crlf" ? r.body.find("\r\n") + 1 : std::string::npos));
        CHECK(streamed_text(P::anthropic, r.body).first == *canned_reply("cache_a"));
    }
    const Reply multi = stream(P::openai, "multiline_data");
    const auto events = sse_events(multi.body);
    CHECK(std::any_of(events.begin(), events.end(),
                      [](const Event &e) { return e.data.find('\n') != std::string::npos; }));
    CHECK(streamed_text(P::openai, multi.body).first == *canned_reply("cache_a"));

    const Reply html = stream(P::openai, "content_type=text/html");
    CHECK(html.header("content-type") == "text/html");
    const auto [path, body] = chat(P::openai, "malformed", false);
    json::error_code ec;
    json::parse(post(server, path, body).body, ec);
    CHECK(ec);
}

TEST_CASE("oversize and delay: a big answer in ~16 KB pieces; a slow, steady stream") {
    FakeProviderServer server;
    const auto [path, body] = chat(P::ollama, "oversize=200000", true);
    const Reply big = post(server, path, body);
    const auto lines = ndjson_lines(big.body);
    CHECK(lines.size() >= 12);
    CHECK(streamed_text(P::ollama, big.body).first.size() == 200000);
    const auto start = Clock::now();
    const auto [dpath, dbody] = chat(P::gemini, "delay=60", true);
    const Reply slow = post(server, dpath, dbody);
    CHECK(ms_since(start) >= 3 * 60 - 10);
    CHECK(streamed_text(P::gemini, slow.body).first == *canned_reply("cache_a"));
}

TEST_CASE("TLS: a client that trusts the self-signed certificate gets answers; one that does not, fails") {
    const auto dir = std::filesystem::temp_directory_path() / ("coe-fake-tls-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    REQUIRE(make_self_signed_certificate(dir.string()));
    FakeProviderServer::Options o;
    o.tls = true;
    o.cert_file = (dir / "cert.pem").string();
    o.key_file = (dir / "key.pem").string();
    FakeProviderServer server(o);
    CHECK(server.base_url() == "https://127.0.0.1:" + std::to_string(server.port()));

    asio::ssl::context trusting(asio::ssl::context::tls_client);
    trusting.load_verify_file(o.cert_file);
    Client c(server.port(), &trusting);
    REQUIRE(!c.handshake_error());
    for (const P p : all_providers) {
        const auto [path, body] = chat(p, "reply=cache_b", true);
        const Reply r = c.post(path, body);
        CHECK(r.status == 200);
        CHECK(streamed_text(p, r.body).first == *canned_reply("cache_b"));
    }
    asio::ssl::context untrusting(asio::ssl::context::tls_client);
    untrusting.set_default_verify_paths();
    Client refused(server.port(), &untrusting);
    CHECK(refused.handshake_error());
    CHECK(server.request_count("reply=cache_b") == 4);
    std::filesystem::remove_all(dir);
}

TEST_CASE("several serving threads: concurrent clients, every request counted") {
    FakeProviderServer::Options o;
    o.threads = 4;
    FakeProviderServer server(o);
    std::atomic<int> ok{0};
    std::vector<std::thread> clients;
    for (int t = 0; t < 6; ++t)
        clients.emplace_back([&, t] {
            const P p = all_providers[t % 4];
            const auto [path, body] = chat(p, "reply=cache_c,delay=2,split=" + std::to_string(t + 5), true);
            Client c(server.port());
            for (int i = 0; i < 5; ++i)
                if (streamed_text(p, c.post(path, body).body).first == *canned_reply("cache_c")) ++ok;
            (void)server.request_count();  // read while others are served
        });
    for (auto &t : clients) t.join();
    CHECK(ok == 30);
    CHECK(server.request_count() == 30);
    CHECK(server.request_count("reply=cache_c,delay=2,split=5") == 5);
}

#ifdef COE_TEST_FAKE_PROVIDER_SERVER
TEST_CASE("the executable: port file, answers, exits 0 when its input ends") {
    const auto port_file = std::filesystem::temp_directory_path() / ("coe-fake-port-" + std::to_string(::getpid()));
    std::filesystem::remove(port_file);
    FILE *in = ::popen(
        (std::string(COE_TEST_FAKE_PROVIDER_SERVER) + " --port-file " + port_file.string() + " >/dev/null").c_str(),
        "w");
    REQUIRE(in != nullptr);
    const auto start = Clock::now();
    while (!std::filesystem::exists(port_file) && ms_since(start) < 5000)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    unsigned port = 0;
    std::ifstream(port_file) >> port;
    REQUIRE(port > 0);
    Client c(static_cast<std::uint16_t>(port));
    const auto [path, body] = chat(P::openai, "reply=short", false);
    CHECK(whole_text(P::openai, c.post(path, body).body) == "Yes.");
    const auto closing = Clock::now();
    CHECK(::pclose(in) == 0);  // its standard input ends: it exits 0, promptly
    CHECK(ms_since(closing) < 2000);
    std::filesystem::remove(port_file);
}
#endif
