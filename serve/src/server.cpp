#include "coe/server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include "bearer_auth.hpp"
#include "http_listener.hpp"
#include "routes.hpp"

namespace coe {

namespace net = boost::asio;
using namespace serve;

namespace {

struct Route {
    http::verb verb;
    const char *path;
    bool open;  // no token needed, no per-client limit (probes)
    void (*handler)(ServeContext &, const std::shared_ptr<Exchange> &);
};

const Route routes[] = {
    {http::verb::post, "/v1/analyze", false, &handle_analyze},
    {http::verb::post, "/v1/consult", false, &handle_consult},
    {http::verb::post, "/v1/chat/completions", false, &handle_chat_completions},
    {http::verb::get, "/v1/models", false, &handle_models},
    {http::verb::get, "/v1/experts", false, &handle_experts},
    {http::verb::get, "/metrics", false, &handle_metrics},
    {http::verb::get, "/healthz", true, &handle_healthz},
    {http::verb::get, "/readyz", true, &handle_readyz},
    // The web page (docs/web.md): no data in it, so no token; it sends the
    // token on every API call it makes.
    {http::verb::get, "/", true, &handle_web_asset},
    {http::verb::head, "/", true, &handle_web_asset},
    {http::verb::get, "/index.html", true, &handle_web_asset},
    {http::verb::head, "/index.html", true, &handle_web_asset},
    {http::verb::get, "/app.js", true, &handle_web_asset},
    {http::verb::head, "/app.js", true, &handle_web_asset},
    {http::verb::get, "/app.css", true, &handle_web_asset},
    {http::verb::head, "/app.css", true, &handle_web_asset},
    {http::verb::get, "/d3.min.js", true, &handle_web_asset},
    {http::verb::head, "/d3.min.js", true, &handle_web_asset},
    {http::verb::get, "/coe.mjs", true, &handle_web_asset},
    {http::verb::head, "/coe.mjs", true, &handle_web_asset},
};

// Requests in flight per client address.
class ClientSlots {
public:
    explicit ClientSlots(unsigned limit) : limit_(limit) {}
    bool acquire(const std::string &client) {
        std::lock_guard<std::mutex> lock(mutex_);
        unsigned &n = in_flight_[client];
        if (n >= limit_) return false;
        ++n;
        return true;
    }
    void release(const std::string &client) {
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = in_flight_.find(client);
        if (it != in_flight_.end() && --it->second == 0) in_flight_.erase(it);
    }

private:
    const unsigned limit_;
    std::mutex mutex_;
    std::map<std::string, unsigned> in_flight_;
};

net::ip::tcp::endpoint endpoint_of(const ServerOptions &o) {
    boost::system::error_code ec;
    const auto address = net::ip::make_address(o.address, ec);
    if (ec) throw Error("cannot listen on '" + o.address + "': not an IP address");
    return {address, o.port};
}

}  // namespace

class Server::Impl {
public:
    Impl(const Engine &engine, Circle *circle, ServerOptions options)
        : options_(std::move(options)),
          ioc_(static_cast<int>(thread_count())),
          auth_(options_.tokens),
          slots_(options_.max_requests_per_client),
          listener_(ioc_, endpoint_of(options_), policy()),
          context_{engine, circle, options_, metrics_, [this] { return listener_.open_connections(); }} {}

    std::uint16_t port() const { return listener_.port(); }

    void run() {
        if (options_.stop_on_signals) {
            signals_ = std::make_unique<net::signal_set>(ioc_, SIGINT, SIGTERM);
            signals_->async_wait([this](boost::system::error_code ec, int) {
                if (!ec) stop();
            });
        }
        listener_.start();
        std::vector<std::thread> extra;
        for (unsigned i = 1; i < thread_count(); ++i) extra.emplace_back([this] { ioc_.run(); });
        ioc_.run();
        for (auto &t : extra) t.join();
    }

    void stop() {
        net::post(ioc_, [this] {
            if (stopping_) return;
            stopping_ = true;
            listener_.drain();
            deadline_ = std::chrono::steady_clock::now() + options_.drain_timeout;
            watch_drain();
        });
    }

private:
    unsigned thread_count() const {
        const unsigned n = options_.threads ? options_.threads : std::thread::hardware_concurrency();
        return n ? n : 1;
    }

    ConnectionPolicy policy() {
        ConnectionPolicy p;
        p.max_body_bytes = options_.max_body_bytes;
        p.max_connections = options_.max_connections;
        p.idle_timeout = options_.idle_timeout;
        p.request_timeout = options_.request_timeout;
        p.max_output_bytes = options_.max_output_bytes;
        p.handle = [this](std::shared_ptr<Exchange> ex) { dispatch(ex); };
        p.on_slow_client = [this](const std::string &reason) {
            metrics_.slow_client_disconnects.fetch_add(1);
            log("disconnected " + reason);
        };
        return p;
    }

    void log(const std::string &line) {
        if (options_.log) return options_.log(line);
        std::cerr << ("coe serve: " + line + "\n") << std::flush;  // one write: lines from several threads stay whole
    }

    // Every 20 ms until the last connection is gone; past the drain
    // deadline, what is left is cut (consultations cancelled), and 2 s
    // later the server stops whatever still holds on.
    void watch_drain() {
        drain_timer_.expires_after(std::chrono::milliseconds(20));
        drain_timer_.async_wait([this](boost::system::error_code) {
            const auto now = std::chrono::steady_clock::now();
            if (listener_.open_connections() == 0 || now > deadline_ + std::chrono::seconds(2)) {
                if (signals_) signals_->cancel();
                ioc_.stop();
                return;
            }
            if (now > deadline_ && !aborted_) {
                aborted_ = true;
                listener_.abort_all();
            }
            watch_drain();
        });
    }

    void dispatch(const std::shared_ptr<Exchange> &ex) {
        const auto start = std::chrono::steady_clock::now();
        const std::string target(ex->request().target());
        const std::string path = target.substr(0, target.find('?'));
        const Route *route = nullptr;
        std::string allowed;
        for (const Route &r : routes)
            if (path == r.path) {
                allowed += std::string(allowed.empty() ? "" : ", ") + std::string(http::to_string(r.verb));
                if (r.verb == ex->request().method()) route = &r;
            }
        const std::string name = allowed.empty() ? "other" : path;
        auto holds_slot = std::make_shared<bool>(false);  // set on this strand before any completion
        metrics_.in_flight.fetch_add(1);
        ex->on_complete([this, name, start, holds_slot, client = ex->client()](unsigned status) {
            const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
            metrics_.record(name, status, took.count());
            metrics_.in_flight.fetch_sub(1);
            if (*holds_slot) slots_.release(client);
        });

        if (const auto *problem = ex->read_problem()) {
            respond_error(*ex, problem->status, "invalid_request_error", problem->message);
            return;
        }
        if (allowed.empty()) {
            respond_error(*ex, http::status::not_found, "not_found", "no route " + path);
            return;
        }
        if (!route) {
            respond_error(*ex, http::status::method_not_allowed, "invalid_request_error",
                          std::string(ex->request().method_string()) + " is not allowed on " + path +
                              " (allowed: " + allowed + ")",
                          {}, {{"Allow", allowed}});
            return;
        }
        if (!route->open && !auth_.allows(ex->request()[http::field::authorization])) {
            respond_error(*ex, http::status::unauthorized, "authentication_error",
                          "a valid bearer token is required (Authorization: Bearer <token>)", {},
                          {{"WWW-Authenticate", "Bearer"}});
            return;
        }
        if (!route->open) {
            if (!slots_.acquire(ex->client())) {
                respond_error(*ex, http::status::too_many_requests, "rate_limit_error",
                              "too many requests in flight from this client (limit " +
                                  std::to_string(options_.max_requests_per_client) + ")",
                              {}, {{"Retry-After", "1"}});
                return;
            }
            *holds_slot = true;
        }
        try {
            route->handler(context_, ex);
        } catch (const RequestError &e) {
            respond_error(*ex, e.status, e.type, e.message, e.param);
        } catch (const std::exception &e) {
            respond_error(*ex, http::status::internal_server_error, "server_error", e.what());
        }
    }

    const ServerOptions options_;
    net::io_context ioc_;
    BearerAuth auth_;
    ClientSlots slots_;
    HttpMetrics metrics_;
    HttpListener listener_;
    ServeContext context_;
    // on the io_context
    bool stopping_ = false, aborted_ = false;
    std::chrono::steady_clock::time_point deadline_;
    net::steady_timer drain_timer_{ioc_};
    std::unique_ptr<net::signal_set> signals_;
};

Server::Server(const Engine &engine, Circle *circle, ServerOptions options)
    : impl_(std::make_unique<Impl>(engine, circle, std::move(options))) {}
Server::~Server() = default;
std::uint16_t Server::port() const { return impl_->port(); }
void Server::run() { impl_->run(); }
void Server::stop() { impl_->stop(); }

}  // namespace coe
