#include "http_listener.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <atomic>
#include <deque>
#include <list>
#include <mutex>
#include <optional>
#include <sstream>

#include "coe/error.hpp"

namespace coe::serve {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

namespace {

using Completion = std::function<void(unsigned)>;

// Bytes for the socket; the last piece of a response carries what must run
// once it is written.
struct Piece {
    std::string bytes;
    bool ends_response = false;
    unsigned status = 0;
    std::vector<Completion> on_complete;
};

template <class Message>
std::string serialize(const Message &m) {
    std::ostringstream os;
    os << m;
    return os.str();
}

void run_completions(std::vector<Completion> &fs, unsigned status) {
    auto todo = std::move(fs);
    fs.clear();
    for (auto &f : todo) {
        try {
            f(status);
        } catch (...) {  // a callback's failure must not take the connection down
        }
    }
}

}  // namespace

class Connection;

class HttpListener::State : public std::enable_shared_from_this<State> {
public:
    State(net::io_context &io, ConnectionPolicy p) : ioc(io), acceptor(net::make_strand(io)), policy(std::move(p)) {}

    void accept();
    template <class F>
    void for_each_connection(F &&f);

    net::io_context &ioc;
    tcp::acceptor acceptor;
    ConnectionPolicy policy;
    std::atomic<std::size_t> open{0};
    std::atomic<bool> draining{false};
    std::mutex mutex;
    std::list<std::weak_ptr<Connection>> connections;
};

class ExchangeImpl;

class Connection : public std::enable_shared_from_this<Connection> {
public:
    Connection(tcp::socket socket, std::shared_ptr<HttpListener::State> state)
        : stream_(std::move(socket)), state_(std::move(state)) {
        beast::error_code ec;
        const auto peer = stream_.socket().remote_endpoint(ec);
        client_ = ec ? "unknown" : peer.address().to_string();
    }
    ~Connection() { state_->open.fetch_sub(1); }

    void start() {
        net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->wait_for_request(); });
    }
    void drain() {
        net::post(stream_.get_executor(), [self = shared_from_this()] {
            self->draining_ = true;
            if (self->phase_ == Phase::idle) self->close();
        });
    }
    void abort() {
        net::post(stream_.get_executor(), [self = shared_from_this()] { self->close(); });
    }

    // On the strand.
    void queue(Piece piece);
    bool keep_alive() const { return keep_alive_ && !draining_ && !state_->draining.load(); }
    net::any_io_executor executor() { return stream_.get_executor(); }
    const std::string &client() const { return client_; }

private:
    enum class Phase { idle, reading, handling, closed };

    void wait_for_request();
    void read_request();
    void on_read(beast::error_code ec);
    void hand_over(Request request, std::optional<Exchange::ReadProblem> problem);
    void write_next();
    void after_response();
    void close();

    beast::tcp_stream stream_;
    std::shared_ptr<HttpListener::State> state_;
    std::string client_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    Phase phase_ = Phase::idle;
    bool draining_ = false, keep_alive_ = false, writing_ = false;
    std::deque<Piece> out_;
    std::weak_ptr<ExchangeImpl> current_;
};

class ExchangeImpl : public Exchange, public std::enable_shared_from_this<ExchangeImpl> {
public:
    ExchangeImpl(std::shared_ptr<Connection> conn, Request request, std::optional<ReadProblem> problem)
        : conn_(std::move(conn)), request_(std::move(request)), problem_(std::move(problem)) {}
    ~ExchangeImpl() override {
        // No posted call of ours is left: the state is settled.
        if (aborted_ || finished_) return;
        if (streaming_) {  // a stream left unfinished: cut it, so the client sees it incomplete
            conn_->abort();
            return;
        }
        if (responded_) return;
        Piece p;
        http::response<http::string_body> res{http::status::internal_server_error, request_.version()};
        res.set(http::field::content_type, "application/json");
        res.body() = error_body("server_error", "the request was dropped without a response");
        res.keep_alive(false);
        res.prepare_payload();
        p.bytes = serialize(res);
        p.ends_response = true;
        p.status = 500;
        p.on_complete = std::move(on_complete_);
        net::post(conn_->executor(), [conn = conn_, p = std::move(p)]() mutable { conn->queue(std::move(p)); });
    }

    const Request &request() const override { return request_; }
    const std::string &client() const override { return conn_->client(); }
    const ReadProblem *read_problem() const override { return problem_ ? &*problem_ : nullptr; }

    void respond(http::status status, std::string content_type, std::string body, Headers headers) override {
        on_strand([status, type = std::move(content_type), body = std::move(body),
                   headers = std::move(headers)](ExchangeImpl &self) mutable {
            if (self.responded_ || self.aborted_) return;
            self.responded_ = self.finished_ = true;
            http::response<http::string_body> res{status, self.request_.version()};
            res.set(http::field::server, "coe");
            res.set(http::field::content_type, type);
            for (const auto &[k, v] : headers) res.set(k, v);
            res.body() = std::move(body);
            res.keep_alive(self.conn_->keep_alive());
            res.prepare_payload();
            self.conn_->queue({serialize(res), true, static_cast<unsigned>(status), std::move(self.on_complete_)});
        });
    }
    void start_stream(std::string content_type, Headers headers) override {
        on_strand([type = std::move(content_type), headers = std::move(headers)](ExchangeImpl &self) {
            if (self.responded_ || self.aborted_) return;
            self.responded_ = true;
            self.streaming_ = true;
            http::response<http::empty_body> res{http::status::ok, self.request_.version()};
            res.set(http::field::server, "coe");
            res.set(http::field::content_type, type);
            for (const auto &[k, v] : headers) res.set(k, v);
            res.keep_alive(self.conn_->keep_alive());
            res.chunked(true);
            self.conn_->queue({serialize(res.base()), false, 0, {}});
        });
    }
    void send(std::string piece) override {
        if (piece.empty()) return;  // an empty chunk would end the body
        on_strand([piece = std::move(piece)](ExchangeImpl &self) {
            if (!self.streaming_ || self.finished_ || self.aborted_) return;
            std::ostringstream size;
            size << std::hex << piece.size();
            self.conn_->queue({size.str() + "\r\n" + piece + "\r\n", false, 0, {}});
        });
    }
    void finish() override {
        on_strand([](ExchangeImpl &self) {
            if (!self.streaming_ || self.finished_ || self.aborted_) return;
            self.finished_ = true;
            self.conn_->queue({"0\r\n\r\n", true, 200, std::move(self.on_complete_)});
        });
    }
    void on_abort(std::function<void()> f) override {
        on_strand([f = std::move(f)](ExchangeImpl &self) mutable {
            if (self.aborted_) f();
            else self.on_abort_.push_back(std::move(f));
        });
    }
    void on_complete(std::function<void(unsigned)> f) override {
        on_strand([f = std::move(f)](ExchangeImpl &self) mutable {
            if (self.aborted_) f(0);
            else self.on_complete_.push_back(std::move(f));
        });
    }

    // On the strand, from the connection: the client is gone.
    void abort_now() {
        if (aborted_) return;
        aborted_ = true;
        for (auto &f : on_abort_) {
            try {
                f();
            } catch (...) {
            }
        }
        on_abort_.clear();
        run_completions(on_complete_, 0);
    }

private:
    template <class F>
    void on_strand(F &&f) {
        net::dispatch(conn_->executor(), [self = shared_from_this(), f = std::forward<F>(f)]() mutable { f(*self); });
    }

    std::shared_ptr<Connection> conn_;
    Request request_;
    std::optional<ReadProblem> problem_;
    // on the strand only
    bool responded_ = false, streaming_ = false, finished_ = false, aborted_ = false;
    std::vector<std::function<void()>> on_abort_;
    std::vector<Completion> on_complete_;
};

void Connection::wait_for_request() {
    if (phase_ == Phase::closed) return;
    phase_ = Phase::idle;
    if (draining_ || state_->draining) return close();
    parser_.emplace();
    parser_->body_limit(state_->policy.max_body_bytes);
    parser_->header_limit(64 * 1024);
    if (buffer_.size() > 0) return read_request();  // the next request is already here
    stream_.expires_after(state_->policy.idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
        if (ec) return self->close();
        self->buffer_.commit(n);
        self->read_request();
    });
}

void Connection::read_request() {
    phase_ = Phase::reading;
    stream_.expires_after(state_->policy.request_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
}

void Connection::on_read(beast::error_code ec) {
    if (phase_ == Phase::closed) return;
    if (!ec) {
        keep_alive_ = parser_->get().keep_alive();
        return hand_over(parser_->release(), std::nullopt);
    }
    if (ec == http::error::end_of_stream || ec == net::error::eof || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset)
        return close();  // gone, or too slow: nobody to answer
    keep_alive_ = false;
    Exchange::ReadProblem problem;
    if (ec == http::error::body_limit) {
        problem = {http::status::payload_too_large,
                   "the request body is larger than the limit of " + std::to_string(state_->policy.max_body_bytes) +
                       " bytes"};
    } else if (ec == http::error::header_limit) {
        problem = {http::status::request_header_fields_too_large, "the request header is larger than 64 KiB"};
    } else {
        problem = {http::status::bad_request, "malformed HTTP request: " + ec.message()};
    }
    hand_over(parser_->is_header_done() ? parser_->release() : Request{}, problem);
}

void Connection::hand_over(Request request, std::optional<Exchange::ReadProblem> problem) {
    phase_ = Phase::handling;
    auto exchange = std::make_shared<ExchangeImpl>(shared_from_this(), std::move(request), std::move(problem));
    current_ = exchange;
    try {
        state_->policy.handle(exchange);
    } catch (const std::exception &e) {
        respond_error(*exchange, http::status::internal_server_error, "server_error", e.what());
    }
}

void Connection::queue(Piece piece) {
    if (phase_ == Phase::closed) {
        run_completions(piece.on_complete, 0);
        return;
    }
    out_.push_back(std::move(piece));
    if (!writing_) write_next();
}

void Connection::write_next() {
    writing_ = true;
    stream_.expires_after(state_->policy.request_timeout);
    net::async_write(stream_, net::buffer(out_.front().bytes),
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                         self->writing_ = false;
                         if (ec) return self->close();
                         Piece done = std::move(self->out_.front());
                         self->out_.pop_front();
                         if (done.ends_response) {
                             run_completions(done.on_complete, done.status);
                             return self->after_response();
                         }
                         if (!self->out_.empty()) self->write_next();
                     });
}

void Connection::after_response() {
    current_.reset();
    if (!keep_alive()) {
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ec);  // the client sees the end of the response
        return close();
    }
    wait_for_request();
}

void Connection::close() {
    if (phase_ == Phase::closed) return;
    phase_ = Phase::closed;
    beast::error_code ec;
    stream_.socket().close(ec);
    for (auto &p : out_) run_completions(p.on_complete, 0);
    out_.clear();
    if (auto ex = current_.lock()) ex->abort_now();
}

void HttpListener::State::accept() {
    acceptor.async_accept(net::make_strand(ioc), [self = shared_from_this()](beast::error_code ec, tcp::socket s) {
        if (ec == net::error::operation_aborted || !self->acceptor.is_open()) return;
        if (!ec) {
            if (self->open.load() >= self->policy.max_connections || self->draining) {
                beast::error_code ignored;
                s.close(ignored);
            } else {
                self->open.fetch_add(1);
                auto conn = std::make_shared<Connection>(std::move(s), self);
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
    state_->draining = true;
    net::dispatch(state_->acceptor.get_executor(), [s = state_] {
        beast::error_code ec;
        s->acceptor.close(ec);
    });
    state_->for_each_connection([](Connection &c) { c.drain(); });
}

void HttpListener::abort_all() {
    state_->for_each_connection([](Connection &c) { c.abort(); });
}

std::size_t HttpListener::open_connections() const { return state_->open.load(); }

}  // namespace coe::serve
