#include "http_connection.hpp"

#include <sys/socket.h>

#include <cerrno>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/http/read.hpp>

#include "exchange_impl.hpp"

namespace coe::serve {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

Connection::Connection(tcp::socket socket, std::shared_ptr<ConnectionShared> shared)
    : stream_(std::move(socket)), shared_(std::move(shared)), output_(shared_->policy.max_output_bytes) {
    beast::error_code ec;
    const auto peer = stream_.socket().remote_endpoint(ec);
    client_ = ec ? "unknown" : peer.address().to_string();
    peer_ = ec ? client_ : client_ + ":" + std::to_string(peer.port());
}

Connection::~Connection() { shared_->open.fetch_sub(1); }

void Connection::start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->wait_for_request(); });
}

void Connection::drain() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
        self->draining_ = true;
        if (self->phase_ == Phase::idle) self->close();
    });
}

void Connection::abort() {
    net::post(stream_.get_executor(), [self = shared_from_this()] { self->close(); });
}

bool Connection::keep_alive() const { return keep_alive_ && !draining_ && !shared_->draining.load(); }

void Connection::wait_for_request() {
    if (phase_ == Phase::closed) return;
    phase_ = Phase::idle;
    if (draining_ || shared_->draining) return close();
    parser_.emplace();
    parser_->body_limit(shared_->policy.max_body_bytes);
    parser_->header_limit(64 * 1024);
    if (buffer_.size() > 0) return read_request();  // the next request is already here
    stream_.expires_after(shared_->policy.idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
        if (ec) return self->close();
        self->buffer_.commit(n);
        self->read_request();
    });
}

void Connection::read_request() {
    phase_ = Phase::reading;
    stream_.expires_after(shared_->policy.request_timeout);
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
        problem = {http::status::payload_too_large, "the request body is larger than the limit of " +
                                                        std::to_string(shared_->policy.max_body_bytes) + " bytes"};
    } else if (ec == http::error::header_limit) {
        problem = {http::status::request_header_fields_too_large, "the request header is larger than 64 KiB"};
    } else {
        problem = {http::status::bad_request, "malformed HTTP request: " + ec.message()};
    }
    hand_over(parser_->is_header_done() ? parser_->release() : Request{}, problem);
}

void Connection::hand_over(Request request, std::optional<Exchange::ReadProblem> problem) {
    phase_ = Phase::handling;
    ++exchanges_;
    request_line_ = std::string(request.method_string()) + " " + std::string(request.target());
    auto exchange = std::make_shared<ExchangeImpl>(shared_from_this(), std::move(request), std::move(problem));
    current_ = exchange;
    if (buffer_.size() == 0) watch_peer();  // (with a pipelined request in hand, the peer is there)
    try {
        shared_->policy.handle(exchange);
    } catch (const std::exception &e) {
        respond_error(*exchange, http::status::internal_server_error, "server_error", e.what());
    }
}

void Connection::queue(Output output, unsigned status, std::vector<Completion> on_complete) {
    auto entry = std::make_shared<QueuedOutput>(std::move(output), status, std::move(on_complete));
    if (phase_ == Phase::closed) return run_completions(entry->on_complete, 0);
    if (!output_.push(entry)) {
        run_completions(entry->on_complete, 0);
        return too_slow(entry->output.size());
    }
    if (!writing_) write_next();
}

// One output at a time, in order; the entry lives until its write completes.
void Connection::write_next() {
    writing_ = true;
    auto entry = output_.front();
    stream_.expires_after(shared_->policy.request_timeout);
    entry->output.async_write(stream_, [self = shared_from_this(), entry](beast::error_code ec) {
        self->writing_ = false;
        if (ec) return self->close();
        if (self->phase_ == Phase::closed) return;  // closed meanwhile: the queue was emptied
        self->output_.pop();
        if (entry->output.ends_response()) {
            run_completions(entry->on_complete, entry->status);
            return self->after_response();
        }
        if (!self->output_.empty()) self->write_next();
    });
}

void Connection::watch_peer() {
    stream_.socket().async_wait(
        tcp::socket::wait_read, [self = shared_from_this(), exchange = exchanges_](beast::error_code ec) {
            if (self->phase_ != Phase::handling || exchange != self->exchanges_) return;  // answered meanwhile
            if (!ec) {
                char byte;
                const ssize_t n = ::recv(self->stream_.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
                if (n > 0) return;  // the next request, pipelined: read once this response is out
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return self->watch_peer();
            }
            self->close();  // the client went away: nobody to answer, its exchange is aborted
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

// The client does not read what it asked for as fast as it comes: cut it
// off, as if it had gone away (its exchange is aborted), and say why.
void Connection::too_slow(std::size_t refused_bytes) {
    const std::string reason =
        peer_ + " (" + request_line_ + "): the client reads too slowly: " + std::to_string(output_.bytes()) +
        " bytes of output were waiting for it, over the " + "limit of " + std::to_string(output_.limit()) + ", when " +
        std::to_string(refused_bytes) + " more came";
    close();
    if (shared_->policy.on_slow_client) {
        try {
            shared_->policy.on_slow_client(reason);
        } catch (...) {  // the log or the metrics must not take the server down
        }
    }
}

void Connection::close() {
    if (phase_ == Phase::closed) return;
    phase_ = Phase::closed;
    beast::error_code ec;
    stream_.socket().close(ec);
    for (auto &entry : output_.take_all()) run_completions(entry->on_complete, 0);
    if (auto ex = current_.lock()) ex->abort_now();
}

}  // namespace coe::serve
