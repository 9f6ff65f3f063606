// server.hpp - the circle as an HTTP service (what `coe serve` runs).
//
//   coe::Engine engine;
//   coe::Circle circle(engine, coe::load_experts_file("experts.json"));
//   coe::ServerOptions options;                    // 127.0.0.1:8080
//   coe::Server server(engine, &circle, options);  // listening from here
//   server.run();                                  // until stop()
//
// Routes (JSON errors are {"error": {"type", "message", "param", "code"}},
// the OpenAI error shape, on every route):
//   POST /v1/analyze           a panel -> its report (as `coe analyze --json`);
//                              JSON Lines of panels -> one report or error line each
//   POST /v1/consult           {"question", ...} -> the consultation (as `coe
//                              consult --json`); with Accept: text/event-stream
//                              the events of `coe consult --stream` as SSE
//   POST /v1/chat/completions  OpenAI-compatible: model "circle" answers with
//                              the majority cluster's representative answer;
//                              "stream": true gives chat.completion.chunk SSE
//   GET  /v1/models            OpenAI-compatible model list
//   GET  /metrics              Prometheus text: engine, experts, HTTP (slow
//                              readers disconnected included)
//   GET  /healthz, /readyz     liveness; readiness (503 when every expert's
//                              breaker is open)
// Every route but /healthz and /readyz needs `Authorization: Bearer <token>`
// when tokens are configured.
//
// Threading: run() serves on `threads` threads of its own io_context;
// stop() may be called from any thread (and from a signal handler's
// io_context callback).  The engine and the circle must outlive the server.
// Errors: the constructor throws coe::Error when it cannot listen.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "coe/consult.hpp"
#include "coe/engine.hpp"

namespace coe {

struct ServerOptions {
    std::string address = "127.0.0.1";
    std::uint16_t port = 8080;                         // 0: any free port (see Server::port())
    unsigned threads = 0;                              // 0: one per core
    std::vector<std::string> tokens;                   // bearer tokens; empty: no authentication
    std::size_t max_body_bytes = 8u << 20;             // 413 beyond
    std::size_t max_output_bytes = 8u << 20;           // output waiting for one connection's reader; a slower reader
                                                       // is disconnected (logged, counted, its consultation cancelled)
    unsigned max_requests_per_client = 16;             // in flight per client address; 429 beyond
    unsigned max_connections = 1024;                   // further connections are closed at once
    std::chrono::milliseconds idle_timeout{30000};     // keep-alive wait for the next request
    std::chrono::milliseconds request_timeout{30000};  // to receive one whole request, and each write
    std::chrono::milliseconds drain_timeout{30000};    // stop(): requests in flight get this long
    ConsultOptions consult;                            // defaults for /v1/consult and chat completions
    std::string model = "circle";                      // the model name of the OpenAI routes
    bool stop_on_signals = false;                      // SIGINT/SIGTERM call stop() (for a program that is the server)
    // Server events worth an operator's eye (a slow reader disconnected), one
    // line each, called on the server's threads, possibly at once; empty:
    // written to stderr as "coe serve: LINE".
    std::function<void(const std::string &line)> log;
};

class Server {
public:
    // Binds and listens; `circle` may be null (no experts: the consultation
    // routes answer 503).
    Server(const Engine &engine, Circle *circle, ServerOptions options);
    ~Server();
    Server(const Server &) = delete;
    Server &operator=(const Server &) = delete;

    // The port listened on (the real one when options.port was 0).
    std::uint16_t port() const;
    // Serves until stop() has drained; returns then.
    void run();
    // Graceful: stops accepting, closes idle connections, lets requests in
    // flight finish (their connections close after the response) for up to
    // drain_timeout, then cancels what is left.  Idempotent.
    void stop();

    class Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace coe
