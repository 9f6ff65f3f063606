// coe serve, in-process: every route, auth, limits, timeouts, many
// keep-alive connections, graceful shutdown.  Experts are a fake provider on
// 127.0.0.1; every client is local with bounded requests and time.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <boost/json.hpp>

#include <chrono>
#include <functional>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>

#include "coe/panel_json.hpp"
#include "coe/report_format.hpp"
#include "coe/server.hpp"
#include "consult/consult_support.hpp"
#include "serve_client.hpp"

using namespace coe;
using namespace coe::test;
namespace json = boost::json;

namespace {

const std::string token = "test-token-0123456789abcdef";

// Two serving threads, so that one expert's long answer, planned and streamed
// on one of them, never keeps the others from their first byte.
FakeProviderServer::Options provider_options() {
    FakeProviderServer::Options o;
    o.threads = 2;
    return o;
}

// A server on a free port with three experts (two agree, one dissents),
// run on its own thread; stopped and joined at the end of the scope.
// `adjust`, when given, changes each expert's configuration.
struct RunningServer {
    FakeProviderServer provider{provider_options()};
    std::unique_ptr<Circle> circle;
    std::unique_ptr<Server> server;
    std::thread thread;
    bool stopped = false;

    explicit RunningServer(ServerOptions o = {},
                           std::vector<std::string> models = {"reply=cache_a", "reply=cache_b", "reply=rewrite"},
                           bool with_experts = true, const std::function<void(ExpertConfig &)> &adjust = {}) {
        if (with_experts) {
            std::vector<ExpertConfig> experts;
            for (std::size_t i = 0; i < models.size(); ++i) {
                experts.push_back(fake_expert(provider, "e" + std::to_string(i + 1), ProviderKind::openai, models[i]));
                if (adjust) adjust(experts.back());
            }
            circle = std::make_unique<Circle>(test_engine(), experts_of(std::move(experts)));
        }
        o.address = "127.0.0.1";
        o.port = 0;
        if (o.threads == 0) o.threads = 2;
        server = std::make_unique<Server>(test_engine(), circle.get(), o);
        thread = std::thread([this] { server->run(); });
    }
    std::uint16_t port() const { return server->port(); }
    void stop_and_join() {
        if (stopped) return;
        stopped = true;
        server->stop();
        thread.join();
    }
    ~RunningServer() { stop_and_join(); }
};

json::object error_of(const Reply &r) { return json::parse(r.body).at("error").as_object(); }

}  // namespace

TEST_CASE("analyze: a panel gives the report of coe analyze; JSON Lines give a line each, bad lines as errors") {
    RunningServer s;
    HttpClient c(s.port());
    const std::string panel = read_text(std::filesystem::path(COE_TEST_SOURCE_DIR) / "examples" / "panel.json");
    const Reply r = c.post("/v1/analyze", panel);
    REQUIRE(r.status == 200);
    CHECK(r.headers.at("content-type") == "application/json");
    const std::string expected = to_json(test_engine().analyze(parse_panel(panel, "panel.json").view()));
    CHECK(without_timing(lines_of(r.body).at(0)) == without_timing(expected));

    std::string compact = json::serialize(json::parse(panel));
    const Reply lines = c.post("/v1/analyze", compact + "\n{\"responses\": 3}\n" + compact + "\n");
    REQUIRE(lines.status == 200);
    CHECK(lines.headers.at("content-type") == "application/x-ndjson");
    const auto out = lines_of(lines.body);
    REQUIRE(out.size() == 3);
    CHECK(without_timing(out[0]) == without_timing(expected));
    CHECK(json::parse(out[1]).at("line").as_int64() == 2);
    CHECK(std::string(json::parse(out[1]).at("error").as_string()).find("responses") != std::string::npos);
    CHECK(without_timing(out[2]) == without_timing(expected));
}

TEST_CASE("bad requests get the error shape with the problem named: 400, 404, 405, 413") {
    ServerOptions o;
    o.max_body_bytes = 4096;
    RunningServer s(o);
    HttpClient c(s.port());
    Reply r = c.post("/v1/analyze", "{\"responses\": [{\"expert\": \"a\", \"content\": 5}]}");
    CHECK(r.status == 400);
    CHECK(std::string(error_of(r).at("message").as_string()).find("responses[0].content") != std::string::npos);
    r = c.post("/v1/consult", "{\"question\": ");
    CHECK(r.status == 400);
    CHECK(std::string(error_of(r).at("message").as_string()).find("not valid JSON") != std::string::npos);
    r = c.post("/v1/consult", "{\"question\": 3}");
    CHECK(r.status == 400);
    CHECK(error_of(r).at("param").as_string() == "question");
    r = c.post("/v1/consult", "{\"question\": \"q\", \"temperature\": 1}");
    CHECK(r.status == 400);
    CHECK(error_of(r).at("param").as_string() == "temperature");
    r = c.post("/v1/chat/completions", R"({"model": "gpt-4", "messages": [{"role": "user", "content": "hi"}]})");
    CHECK(r.status == 404);
    CHECK(error_of(r).at("code").as_string() == "model_not_found");
    r = c.post("/v1/chat/completions", R"({"model": "circle", "messages": []})");
    CHECK(r.status == 400);
    CHECK(error_of(r).at("param").as_string() == "messages");
    r = c.get("/v2/nothing");
    CHECK(r.status == 404);
    r = c.get("/v1/consult");
    CHECK(r.status == 405);
    CHECK(r.headers.at("allow") == "POST");
    CHECK(r.keep_alive);  // none of these costs the connection

    r = c.post("/v1/analyze", std::string(5000, ' '));
    CHECK(r.status == 413);
    CHECK(std::string(error_of(r).at("message").as_string()).find("4096 bytes") != std::string::npos);
    CHECK(c.closed_by_server());
}

TEST_CASE("consult: JSON, and SSE events ending with final") {
    RunningServer s;
    HttpClient c(s.port());
    Reply r = c.post("/v1/consult", R"({"question": "How do we make the API faster?", "id": "q1"})");
    REQUIRE(r.status == 200);
    json::object doc = json::parse(r.body).as_object();
    CHECK(doc.at("id").as_string() == "q1");
    CHECK(doc.at("answers").as_array().size() == 3);
    CHECK(doc.at("consultation").at("answered").as_int64() == 3);

    r = c.post("/v1/consult", R"({"question": "How do we make the API faster?"})", {{"Accept", "text/event-stream"}});
    REQUIRE(r.status == 200);
    CHECK(r.headers.at("content-type") == "text/event-stream");
    std::vector<std::string> events;
    for (const auto &l : lines_of(r.body))
        if (l.rfind("event: ", 0) == 0) events.push_back(l.substr(7));
    REQUIRE(!events.empty());
    CHECK(events.back() == "final");
    CHECK(std::count(events.begin(), events.end(), "expert_done") == 3);
    CHECK(std::count(events.begin(), events.end(), "consensus") == 3);

    r = c.post("/v1/consult", R"({"question": "How do we make the API faster?", "review": true, "synthesize": "e1"})");
    REQUIRE(r.status == 200);
    doc = json::parse(r.body).as_object();
    CHECK(doc.at("review").at("reviews").as_array().size() == 3);
    CHECK(doc.at("synthesis").at("chairman").as_string() == "e1");
    CHECK(doc.at("final_answer_from").as_string() == "synthesis");
    r = c.post("/v1/consult", R"({"question": "q", "synthesize": "nobody"})");
    CHECK(r.status == 400);
    CHECK(std::string(error_of(r).at("message").as_string()).find("no expert named 'nobody'") != std::string::npos);
}

TEST_CASE("OpenAI-compatible: chat completions answer with the majority's representative, streamed or not") {
    RunningServer s;
    HttpClient c(s.port());
    const std::string request =
        R"({"model": "circle", "messages": [{"role": "system", "content": "Be brief."},
           {"role": "user", "content": [{"type": "text", "text": "How do we make the API faster?"}]}]})";
    Reply r = c.post("/v1/chat/completions", request);
    INFO(r.body);
    REQUIRE(r.status == 200);
    json::object doc = json::parse(r.body).as_object();
    CHECK(doc.at("object").as_string() == "chat.completion");
    const std::string answer(doc.at("choices").at(0).at("message").at("content").as_string());
    CHECK(answer.find("Redis") != std::string::npos);  // one of the two that agree, not the dissent
    CHECK(doc.at("choices").at(0).at("finish_reason").as_string() == "stop");
    CHECK(doc.at("circle").at("answers").as_array().size() == 3);
    CHECK(doc.at("usage").at("total_tokens").as_int64() > 0);
    for (const auto &req : s.provider.requests())  // the system message reached the experts
        CHECK(req.body.find("Be brief.") != std::string::npos);

    std::string streamed = request;
    streamed.insert(1, "\"stream\": true, ");
    r = c.post("/v1/chat/completions", streamed);
    REQUIRE(r.status == 200);
    std::string text, finish;
    bool done = false;
    for (const auto &l : lines_of(r.body)) {
        if (l.rfind("data: ", 0) != 0) continue;
        if (l == "data: [DONE]") {
            done = true;
            continue;
        }
        const json::object chunk = json::parse(l.substr(6)).as_object();
        CHECK(chunk.at("object").as_string() == "chat.completion.chunk");
        const auto &choice = chunk.at("choices").at(0).as_object();
        if (const auto *t = choice.at("delta").as_object().if_contains("content")) text += t->as_string().c_str();
        if (choice.at("finish_reason").is_string()) finish = choice.at("finish_reason").as_string().c_str();
    }
    CHECK(done);
    CHECK(finish == "stop");
    CHECK(text == answer);

    r = c.get("/v1/models");
    REQUIRE(r.status == 200);
    CHECK(json::parse(r.body).at("data").at(0).at("id").as_string() == "circle");
}

TEST_CASE("chat completions when no expert answers: 502 with the reasons; without experts: 503") {
    {
        RunningServer s({}, {"status=401", "status=400"});
        HttpClient c(s.port());
        const Reply r =
            c.post("/v1/chat/completions", R"({"model": "circle", "messages": [{"role": "user", "content": "q"}]})");
        CHECK(r.status == 502);
        CHECK(std::string(error_of(r).at("message").as_string()).find("e1: auth_error") != std::string::npos);
    }
    RunningServer none({}, {}, false);
    HttpClient c(none.port());
    CHECK(c.post("/v1/consult", R"({"question": "q"})").status == 503);
    CHECK(c.get("/readyz").status == 200);
    CHECK(json::parse(c.get("/readyz").body).at("auth").as_string() == "none");
}

TEST_CASE("bearer tokens: 401 without or with a wrong one; probes stay open") {
    ServerOptions o;
    o.tokens = {token};
    RunningServer s(o);
    HttpClient c(s.port());
    Reply r = c.get("/v1/models");
    CHECK(r.status == 401);
    CHECK(r.headers.at("www-authenticate") == "Bearer");
    CHECK(error_of(r).at("type").as_string() == "authentication_error");
    CHECK(c.get("/v1/models", {{"Authorization", "Bearer " + token + "x"}}).status == 401);
    CHECK(c.get("/v1/models", {{"Authorization", "Basic " + token}}).status == 401);
    CHECK(c.get("/v1/models", {{"Authorization", "Bearer " + token}}).status == 200);
    CHECK(c.get("/metrics").status == 401);
    CHECK(c.get("/healthz").status == 200);
    CHECK(c.get("/readyz").status == 200);
    CHECK(json::parse(c.get("/readyz").body).at("auth").as_string() == "bearer");
}

TEST_CASE("the web page: open without a token, ETag and 304, CSP, HEAD; the API still needs the token") {
    ServerOptions o;
    o.tokens = {token};
    RunningServer s(o);
    HttpClient c(s.port());
    Reply page = c.get("/");
    REQUIRE(page.status == 200);
    CHECK(page.headers.at("content-type") == "text/html; charset=utf-8");
    CHECK(page.body.find("<script type=\"module\" src=\"/app.js\">") != std::string::npos);
    const std::string csp = page.headers.at("content-security-policy");
    CHECK(csp.find("script-src 'self' 'wasm-unsafe-eval'") != std::string::npos);
    CHECK(csp.find("default-src 'none'") != std::string::npos);
    CHECK(csp.find("connect-src 'self' data:;") != std::string::npos);  // the WebAssembly module, from /coe.mjs
    CHECK(csp.find("unsafe-inline") == std::string::npos);
    CHECK(page.headers.at("x-content-type-options") == "nosniff");
    const std::string etag = page.headers.at("etag");
    CHECK(etag.size() == 34);
    CHECK(etag.front() == '"');
    CHECK(c.get("/index.html").body == page.body);

    Reply again = c.get("/", {{"If-None-Match", etag}});
    CHECK(again.status == 304);
    CHECK(again.body.empty());
    CHECK(again.headers.at("etag") == etag);
    CHECK(c.get("/", {{"If-None-Match", "\"other\", " + etag}}).status == 304);
    CHECK(c.get("/", {{"If-None-Match", "\"other\""}}).status == 200);

    Reply js = c.get("/app.js");
    CHECK(js.status == 200);
    CHECK(js.headers.at("content-type") == "text/javascript; charset=utf-8");
    CHECK(js.headers.at("etag") != etag);
    CHECK(js.body.find("/v1/consult") != std::string::npos);
    CHECK(c.get("/app.css").headers.at("content-type") == "text/css; charset=utf-8");
    // The chart library is always answered with a script: d3 itself, or one
    // saying it was not built in (so the page never has a broken script).
    Reply d3 = c.get("/d3.min.js");
    CHECK(d3.status == 200);
    CHECK(d3.headers.at("content-type") == "text/javascript; charset=utf-8");
    CHECK((d3.body.find("d3") != std::string::npos));

    Reply head = c.head("/app.js");
    CHECK(head.status == 200);
    CHECK(head.body.empty());
    CHECK(head.headers.at("content-length") == std::to_string(js.body.size()));
    CHECK(head.headers.at("etag") == js.headers.at("etag"));
    CHECK(c.get("/app.js").body == js.body);  // the connection is still in step after HEAD

    Reply unknown = c.get("/nothing.js");
    CHECK(unknown.status == 404);
    CHECK(error_of(unknown).at("type").as_string() == "not_found");
    CHECK(c.post("/", "{}").status == 405);
    CHECK(c.head("/v1/models").status == 405);

    // The page holds no data; everything it shows comes from the API, which
    // still needs the token.
    CHECK(c.get("/v1/experts").status == 401);
    CHECK(c.post("/v1/consult", R"({"question":"q"})").status == 401);
    Reply experts = c.get("/v1/experts", {{"Authorization", "Bearer " + token}});
    REQUIRE(experts.status == 200);
    const json::value doc = json::parse(experts.body);
    REQUIRE(doc.at("experts").as_array().size() == 3);
    CHECK(doc.at("experts").at(0).at("name").as_string() == "e1");
    CHECK(doc.at("defaults").at("deadline_ms").as_int64() == 120000);
    CHECK(doc.at("defaults").at("review").as_bool() == false);
}

TEST_CASE("/coe.mjs: the WebAssembly engine when built in, else a 404 that says how to build it") {
    RunningServer s;
    HttpClient c(s.port());
    Reply r = c.get("/coe.mjs");
    if (r.status == 200) {
        CHECK(r.headers.at("content-type") == "text/javascript; charset=utf-8");
        CHECK(r.body.find("export default") != std::string::npos);
    } else {
        CHECK(r.status == 404);
        CHECK(std::string(error_of(r).at("message").as_string()).find("scripts/build-wasm.sh") != std::string::npos);
        CHECK(r.headers.at("content-security-policy").find("default-src 'none'") != std::string::npos);
    }
}

TEST_CASE("per-client limit: 429 with Retry-After while the client's requests are in flight") {
    ServerOptions o;
    o.max_requests_per_client = 1;
    RunningServer s(o, {"reply=cache_a,stall_first=1500"});
    HttpClient slow(s.port());
    std::thread first([&] { CHECK(slow.post("/v1/consult", R"({"question": "q"})").status == 200); });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    HttpClient second(s.port());
    const Reply r =
        second.post("/v1/analyze", read_text(std::filesystem::path(COE_TEST_SOURCE_DIR) / "examples" / "panel.json"));
    CHECK(r.status == 429);
    CHECK(r.headers.at("retry-after") == "1");
    CHECK(second.get("/healthz").status == 200);  // probes are not limited
    first.join();
}

TEST_CASE("slowloris: a client trickling its header is cut off by the request timeout") {
    ServerOptions o;
    o.request_timeout = std::chrono::milliseconds(600);
    RunningServer s(o);
    HttpClient c(s.port());
    const auto start = std::chrono::steady_clock::now();
    const std::string request =
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    bool cut = false;
    for (char ch : request) {
        boost::system::error_code ec;
        boost::asio::write(c.socket(), boost::asio::buffer(&ch, 1), ec);
        if (ec) {
            cut = true;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        if (std::chrono::steady_clock::now() - start > std::chrono::seconds(3)) break;
    }
    CHECK((cut || c.closed_by_server()));
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(4));
}

TEST_CASE("200 concurrent keep-alive connections, two requests each") {
    ServerOptions o;
    o.max_requests_per_client = 1000;
    RunningServer s(o);
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::unique_ptr<HttpClient>> clients;
    for (int i = 0; i < 200; ++i) clients.push_back(std::make_unique<HttpClient>(s.port()));
    const std::string req = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    int ok = 0;
    for (int round = 0; round < 2; ++round) {
        for (auto &c : clients) c->send_raw(req);  // all 200 in flight at once
        for (auto &c : clients) {
            const Reply r = c->read();
            ok += r.status == 200 && r.keep_alive;
        }
    }
    CHECK(ok == 400);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(20));
    const Reply m = clients[0]->get("/metrics");
    CHECK(m.body.find("coe_http_connections_open 200") != std::string::npos);
}

TEST_CASE("/metrics is Prometheus text with the HTTP counters beside the engine's") {
    RunningServer s;
    HttpClient c(s.port());
    c.get("/healthz");
    c.get("/nowhere");
    const Reply r = c.get("/metrics");
    REQUIRE(r.status == 200);
    CHECK(r.headers.at("content-type").rfind("text/plain; version=0.0.4", 0) == 0);
    const std::regex sample(
        R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*")*\})? [-+0-9.eEInfNa]+$)");
    const std::regex comment(R"(^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$)");
    for (const auto &l : lines_of(r.body)) {
        INFO(l);
        CHECK((std::regex_match(l, sample) || std::regex_match(l, comment)));
    }
    CHECK(r.body.find("coe_http_requests_total{route=\"/healthz\",status=\"200\"} 1") != std::string::npos);
    CHECK(r.body.find("coe_http_requests_total{route=\"other\",status=\"404\"} 1") != std::string::npos);
    CHECK(r.body.find("coe_expert_") != std::string::npos);
}

TEST_CASE("graceful shutdown: requests in flight finish, idle connections close, run() returns") {
    ServerOptions o;
    o.drain_timeout = std::chrono::seconds(10);
    RunningServer s(o, {"reply=cache_a,stall_first=1000"});
    HttpClient idle(s.port());
    CHECK(idle.get("/healthz").status == 200);
    HttpClient busy(s.port());
    Reply in_flight;
    std::thread t([&] { in_flight = busy.post("/v1/consult", R"({"question": "q"})"); });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const auto start = std::chrono::steady_clock::now();
    s.stop_and_join();
    t.join();
    CHECK(in_flight.status == 200);
    CHECK_FALSE(in_flight.keep_alive);  // told that the connection ends
    CHECK(json::parse(in_flight.body).at("consultation").at("answered").as_int64() == 1);
    CHECK(idle.closed_by_server());
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
    boost::system::error_code ec;
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::socket late(ioc);
    late.connect({boost::asio::ip::make_address("127.0.0.1"), s.port()}, ec);
    CHECK(ec);  // no longer listening
}

TEST_CASE("a plain consultation or chat completion whose client goes away is cancelled within a second") {
    RunningServer s({}, {"reply=cache_a,stall_first=10000", "reply=cache_b,stall_first=10000"});
    HttpClient observer(s.port());
    auto cancelled = [&observer](int n) {
        const std::string m = observer.get("/metrics").body;
        for (const char *e : {"e1", "e2"})
            if (m.find("coe_expert_answers_total{expert=\"" + std::string(e) + "\",status=\"cancelled\"} " +
                       std::to_string(n) + "\n") == std::string::npos)
                return false;
        return true;
    };
    const std::pair<const char *, const char *> requests[] = {
        {"/v1/consult", R"({"question": "How do we make the API faster?"})"},
        {"/v1/chat/completions", R"({"model": "circle", "messages": [{"role": "user", "content": "Faster API?"}]})"}};
    int round = 0;
    for (const auto &[target, body] : requests) {
        CAPTURE(target);
        ++round;
        boost::asio::io_context ioc;
        boost::asio::ip::tcp::socket client(ioc);
        client.connect({boost::asio::ip::make_address("127.0.0.1"), s.port()});
        http::request<http::string_body> req{http::verb::post, target, 11};
        req.set(http::field::host, "127.0.0.1");
        req.set(http::field::content_type, "application/json");
        req.body() = body;
        req.prepare_payload();
        http::write(client, req);
        std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the experts are being asked
        REQUIRE_FALSE(cancelled(round));
        client.close();
        const auto closed = std::chrono::steady_clock::now();
        bool done = false;
        while (!done && std::chrono::steady_clock::now() - closed < std::chrono::seconds(3)) {
            done = cancelled(round);
            if (!done) std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        const auto took = std::chrono::steady_clock::now() - closed;
        CHECK(done);
        CHECK(took < std::chrono::seconds(1));
        MESSAGE(std::string(target) << ": experts cancelled "
                                    << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                                    << " ms after the client closed its socket");
    }
    const std::string m = observer.get("/metrics").body;
    CHECK(m.find("coe_http_requests_total{route=\"/v1/consult\",status=\"0\"} 1") != std::string::npos);
}

TEST_CASE("the drain timeout cuts what is left and cancels its consultation") {
    ServerOptions o;
    o.drain_timeout = std::chrono::milliseconds(300);
    RunningServer s(o, {"reply=cache_a,stall_first=8000"});
    HttpClient busy(s.port());
    std::thread t([&] {
        boost::system::error_code ec;
        http::request<http::string_body> req{http::verb::post, "/v1/consult", 11};
        req.set(http::field::host, "127.0.0.1");
        req.body() = R"({"question": "q"})";
        req.prepare_payload();
        http::write(busy.socket(), req, ec);
        CHECK(busy.closed_by_server());
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const auto start = std::chrono::steady_clock::now();
    s.stop_and_join();
    t.join();
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(4));
}

TEST_CASE(
    "a reader too slow for the output limit is cut off, logged and counted, its consultation cancelled; "
    "other clients complete") {
    struct Log {
        std::mutex mutex;
        std::vector<std::string> lines;
    } log;
    ServerOptions o;
    o.max_output_bytes = 64u << 10;
    o.log = [&log](const std::string &line) {
        std::lock_guard<std::mutex> lock(log.mutex);
        log.lines.push_back(line);
    };
    // e1 streams 6 MB in 16 KB pieces, 3 ms apart: more than the sockets'
    // buffers hold (some MB on loopback); then it stalls, its other 6 MB
    // still to come, so its consultation is unfinished when its reader is cut
    // off however slowly a loaded machine runs the server.  The experts wait
    // long for a byte, for the same reason.
    const std::size_t e1_bytes = 12000000;
    RunningServer s(
        o, {"oversize=" + std::to_string(e1_bytes) + ",delay=3,stall_mid=60000", "reply=cache_a", "reply=cache_b"},
        true, [](ExpertConfig &e) {
            e.first_byte_timeout_ms = 60000;
            e.idle_timeout_ms = 60000;
            e.timeout_ms = 120000;
        });

    // The slow reader: a small receive buffer, asks for e1's text as it comes, and reads nothing.
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::socket slow(ioc);
    slow.open(boost::asio::ip::tcp::v4());
    slow.set_option(boost::asio::socket_base::receive_buffer_size(4096));
    slow.connect({boost::asio::ip::make_address("127.0.0.1"), s.port()});
    http::request<http::string_body> req{http::verb::post, "/v1/consult", 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::accept, "text/event-stream");
    req.set(http::field::content_type, "application/json");
    req.body() = R"({"question": "q", "experts": ["e1"], "deltas": true})";
    req.prepare_payload();
    http::write(slow, req);

    // Meanwhile other clients are served whole, streamed or not, until the slow one is cut off, and after.
    HttpClient fast(s.port());
    auto metrics = [&fast] { return fast.get("/metrics").body; };
    auto consult_others = [&fast] {
        const std::string question = R"({"question": "How do we make the API faster?", "experts": ["e2", "e3"]})";
        const Reply streamed = fast.post("/v1/consult", question, {{"Accept", "text/event-stream"}});
        CHECK(streamed.status == 200);
        CHECK(streamed.body.find("event: final") != std::string::npos);
        const Reply plain = fast.post("/v1/consult", question);
        CHECK(plain.status == 200);
        CHECK(json::parse(plain.body).at("consultation").at("answered").as_int64() == 2);
    };
    const auto start = std::chrono::steady_clock::now();
    bool cut = false;
    int rounds = 0;
    while (!cut && std::chrono::steady_clock::now() - start < std::chrono::seconds(60)) {
        consult_others();
        ++rounds;
        cut = metrics().find("coe_http_slow_client_disconnects_total 1\n") != std::string::npos;
    }
    REQUIRE(cut);
    consult_others();
    MESSAGE("the slow reader was cut off after " << rounds << " rounds of the others");

    // Its consultation is cancelled, as when a client goes away.
    std::string m;
    for (int i = 0; i < 100; ++i) {
        m = metrics();
        if (m.find("coe_expert_answers_total{expert=\"e1\",status=\"cancelled\"} 1") != std::string::npos) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    CHECK(m.find("coe_expert_answers_total{expert=\"e1\",status=\"cancelled\"} 1") != std::string::npos);
    CHECK(m.find("coe_http_requests_total{route=\"/v1/consult\",status=\"0\"} 1") != std::string::npos);
    CHECK(m.find("# TYPE coe_http_slow_client_disconnects_total counter") != std::string::npos);
    {
        std::lock_guard<std::mutex> lock(log.mutex);
        REQUIRE(log.lines.size() == 1);
        INFO(log.lines[0]);
        CHECK(log.lines[0].rfind("disconnected 127.0.0.1:", 0) == 0);
        CHECK(log.lines[0].find("(POST /v1/consult): the client reads too slowly") != std::string::npos);
        CHECK(log.lines[0].find("over the limit of 65536") != std::string::npos);
    }

    // What reached the slow reader is a stream cut short: events, then the end of the connection, no final.
    std::string received;
    boost::system::error_code ec;
    std::vector<char> buf(1 << 16);
    while (!ec && std::chrono::steady_clock::now() - start < std::chrono::seconds(90)) {
        const std::size_t n = slow.read_some(boost::asio::buffer(buf), ec);
        received.append(buf.data(), n);
    }
    CHECK((ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset));
    MESSAGE("the slow reader got " << received.size() << " bytes before the end");
    CHECK(received.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(received.find("event: expert_delta") != std::string::npos);
    CHECK(received.find("event: final") == std::string::npos);
    CHECK(received.size() < e1_bytes);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(90));
}
