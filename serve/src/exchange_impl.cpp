#include "exchange_impl.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include "http_connection.hpp"

namespace coe::serve {

namespace net = boost::asio;

template <class F>
void ExchangeImpl::on_strand(F &&f) {
    net::dispatch(conn_->executor(), [self = shared_from_this(), f = std::forward<F>(f)]() mutable { f(*self); });
}

ExchangeImpl::ExchangeImpl(std::shared_ptr<Connection> conn, Request request, std::optional<ReadProblem> problem)
    : conn_(std::move(conn)), request_(std::move(request)), problem_(std::move(problem)) {}

ExchangeImpl::~ExchangeImpl() {
    // No posted call of ours is left: the state is settled.
    if (aborted_ || finished_) return;
    if (streaming_) {  // a stream left unfinished: cut it, so the client sees it incomplete
        conn_->abort();
        return;
    }
    if (responded_) return;
    http::response<http::string_body> res{http::status::internal_server_error, request_.version()};
    res.set(http::field::content_type, "application/json");
    res.body() = error_body("server_error", "the request was dropped without a response");
    res.keep_alive(false);
    res.prepare_payload();
    net::post(conn_->executor(), [conn = conn_, res = std::move(res), done = std::move(on_complete_)]() mutable {
        conn->queue(Output::whole(std::move(res)), 500, std::move(done));
    });
}

const std::string &ExchangeImpl::client() const { return conn_->client(); }

void ExchangeImpl::respond(http::status status, std::string content_type, std::string body, Headers headers) {
    on_strand([status, type = std::move(content_type), body = std::move(body),
               headers = std::move(headers)](ExchangeImpl &self) mutable {
        if (self.responded_ || self.aborted_) return;
        self.responded_ = self.finished_ = true;
        http::response<http::string_body> res{status, self.request_.version()};
        res.set(http::field::server, "coe");
        res.set(http::field::content_type, type);
        for (const auto &[k, v] : headers) res.set(k, v);
        const bool head = self.request_.method() == http::verb::head;
        const std::size_t length = body.size();
        if (!head) res.body() = std::move(body);
        res.keep_alive(self.conn_->keep_alive());
        res.prepare_payload();
        if (head && status != http::status::not_modified) res.content_length(length);  // what GET would send
        self.conn_->queue(Output::whole(std::move(res)), static_cast<unsigned>(status), std::move(self.on_complete_));
    });
}

void ExchangeImpl::start_stream(std::string content_type, Headers headers) {
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
        self.conn_->queue(Output::stream_header(std::move(res)));
    });
}

void ExchangeImpl::send(std::string piece) {
    if (piece.empty()) return;  // an empty chunk would end the body
    on_strand([piece = std::move(piece)](ExchangeImpl &self) mutable {
        if (!self.streaming_ || self.finished_ || self.aborted_) return;
        self.conn_->queue(Output::chunk(std::move(piece)));
    });
}

void ExchangeImpl::finish() {
    on_strand([](ExchangeImpl &self) {
        if (!self.streaming_ || self.finished_ || self.aborted_) return;
        self.finished_ = true;
        self.conn_->queue(Output::last_chunk(), 200, std::move(self.on_complete_));
    });
}

void ExchangeImpl::on_abort(std::function<void()> f) {
    on_strand([f = std::move(f)](ExchangeImpl &self) mutable {
        if (self.aborted_) f();
        else self.on_abort_.push_back(std::move(f));
    });
}

void ExchangeImpl::on_complete(std::function<void(unsigned)> f) {
    on_strand([f = std::move(f)](ExchangeImpl &self) mutable {
        if (self.aborted_) f(0);
        else self.on_complete_.push_back(std::move(f));
    });
}

void ExchangeImpl::abort_now() {
    if (aborted_) return;
    aborted_ = true;
    for (auto &f : on_abort_) {
        try {
            f();
        } catch (...) {}
    }
    on_abort_.clear();
    run_completions(on_complete_, 0);
}

}  // namespace coe::serve
