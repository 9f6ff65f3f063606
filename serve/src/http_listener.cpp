#include "http_listener.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/strand.hpp>

#include <list>
#include <mutex>
#include <vector>

#include "coe/error.hpp"
#include "http_connection.hpp"

namespace coe::serve {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

// The acceptor (on its strand) and the list of connections (under `mutex`).
class HttpListener::State : public std::enable_shared_from_this<State> {
public:
    State(net::io_context &io, ConnectionPolicy p)
        : ioc(io), acceptor(net::make_strand(io)), shared(std::make_shared<ConnectionShared>(std::move(p))) {}

    void accept();
    template <class F>
    void for_each_connection(F &&f);

    net::io_context &ioc;
    tcp::acceptor acceptor;
    const std::shared_ptr<ConnectionShared> shared;
    std::mutex mutex;
    std::list<std::weak_ptr<Connection>> connections;
};

void HttpListener::State::accept() {
    acceptor.async_accept(net::make_strand(ioc), [self = shared_from_this()](beast::error_code ec, tcp::socket s) {
        if (ec == net::error::operation_aborted || !self->acceptor.is_open()) return;
        if (!ec) {
            if (self->shared->open.load() >= self->shared->policy.max_connections || self->shared->draining) {
                beast::error_code ignored;
                s.close(ignored);
            } else {
                self->shared->open.fetch_add(1);
                auto conn = std::make_shared<Connection>(std::move(s), self->shared);
                {
                    std::lock_guard<std::mutex> lock(self->mutex);
                    self->connections.remove_if([](const std::weak_ptr<Connection> &w) { return w.expired(); });
                    self->connections.push_back(conn);
                }
                conn->start();
            }
        }
        self->accept();  // errors like EMFILE are per connection: keep accepting
    });
}

template <class F>
void HttpListener::State::for_each_connection(F &&f) {
    std::vector<std::shared_ptr<Connection>> live;
    {
        std::lock_guard<std::mutex> lock(mutex);
        for (auto &w : connections)
            if (auto c = w.lock()) live.push_back(std::move(c));
    }
    for (auto &c : live) f(*c);
}

HttpListener::HttpListener(net::io_context &ioc, const tcp::endpoint &where, ConnectionPolicy policy)
    : state_(std::make_shared<State>(ioc, std::move(policy))) {
    beast::error_code ec;
    auto fail = [&](const char *what) {
        throw Error("cannot listen on " + where.address().to_string() + ":" + std::to_string(where.port()) + ": " +
                    what + ": " + ec.message());
    };
    state_->acceptor.open(where.protocol(), ec);
    if (ec) fail("open");
    state_->acceptor.set_option(net::socket_base::reuse_address(true), ec);
    state_->acceptor.bind(where, ec);
    if (ec) fail("bind");
    state_->acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec) fail("listen");
}

HttpListener::~HttpListener() = default;

std::uint16_t HttpListener::port() const {
    beast::error_code ec;
    return state_->acceptor.local_endpoint(ec).port();
}

void HttpListener::start() {
    net::dispatch(state_->acceptor.get_executor(), [s = state_] { s->accept(); });
}

void HttpListener::drain() {
    state_->shared->draining = true;
    net::dispatch(state_->acceptor.get_executor(), [s = state_] {
        beast::error_code ec;
        s->acceptor.close(ec);
    });
    state_->for_each_connection([](Connection &c) { c.drain(); });
}

void HttpListener::abort_all() {
    state_->for_each_connection([](Connection &c) { c.abort(); });
}

std::size_t HttpListener::open_connections() const { return state_->shared->open.load(); }

}  // namespace coe::serve
