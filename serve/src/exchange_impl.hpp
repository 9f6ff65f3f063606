// exchange_impl.hpp - the Exchange a connection hands to the route handlers:
// turns respond(), start_stream(), send() and finish() into outputs queued
// on the connection (http_output.hpp), and tells the handler when the client
// is gone (on_abort, on_complete).
//
// Ownership: the handler's copies keep it alive; it keeps its connection
// alive.  An exchange dropped without an answer is answered 500, a stream
// left unfinished is cut (the client sees it incomplete).  Thread-safety:
// every member may be called from any thread; its state lives on the
// connection's strand, where each call is dispatched.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "exchange.hpp"
#include "output_queue.hpp"

namespace coe::serve {

class Connection;

class ExchangeImpl : public Exchange, public std::enable_shared_from_this<ExchangeImpl> {
public:
    ExchangeImpl(std::shared_ptr<Connection> conn, Request request, std::optional<ReadProblem> problem);
    ~ExchangeImpl() override;

    const Request &request() const override { return request_; }
    const std::string &client() const override;
    const ReadProblem *read_problem() const override { return problem_ ? &*problem_ : nullptr; }

    void respond(http::status status, std::string content_type, std::string body, Headers headers) override;
    void start_stream(std::string content_type, Headers headers) override;
    void send(std::string piece) override;
    void finish() override;
    void on_abort(std::function<void()> f) override;
    void on_complete(std::function<void(unsigned)> f) override;

    // On the strand, from the connection: the response can no longer reach the client.
    void abort_now();

private:
    template <class F>
    void on_strand(F &&f);

    const std::shared_ptr<Connection> conn_;
    const Request request_;
    const std::optional<ReadProblem> problem_;
    // on the strand only
    bool responded_ = false, streaming_ = false, finished_ = false, aborted_ = false;
    std::vector<std::function<void()>> on_abort_;
    std::vector<Completion> on_complete_;
};

}  // namespace coe::serve
