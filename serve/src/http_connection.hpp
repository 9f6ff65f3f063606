// http_connection.hpp - HTTP/1.1 on one accepted socket: keep-alive, and
// pipelined requests handled one at a time in order (a request that arrives
// early waits in the read buffer until the response before it is written).
// Each request read whole goes to the policy's handler as an Exchange; what
// the exchange answers is queued (output_queue.hpp) and written with Beast.
// While a request is handled the socket is watched: a client that closes
// it (or resets it) before its response is complete aborts the exchange,
// so a consultation nobody waits for any more is cancelled.  A client that
// half-closes after sending its request counts as gone too.
// Limits and timeouts: connection_policy.hpp.
//
// Ownership: shared by the listener's list (weakly), by its own pending
// operations, and by the exchange in progress; it ends when the last of them
// lets go.  Thread-safety: everything runs on the connection's strand;
// start(), drain() and abort() may be called from any thread, the rest only
// on the strand (the exchange posts there).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "connection_policy.hpp"
#include "output_queue.hpp"

namespace coe::serve {

class ExchangeImpl;

class Connection : public std::enable_shared_from_this<Connection> {
public:
    Connection(boost::asio::ip::tcp::socket socket, std::shared_ptr<ConnectionShared> shared);
    ~Connection();

    // Any thread.
    void start();
    // Closes the connection if it waits for a request; otherwise it closes after its response.
    void drain();
    // Closes now; the exchange in progress is aborted.
    void abort();

    // On the strand: queues output of the current exchange (the client is
    // disconnected when it reads too slowly).  `on_complete` runs when
    // `output` ends the response (with `status`), or with 0 if it is never written.
    void queue(Output output, unsigned status = 0, std::vector<Completion> on_complete = {});
    // On the strand: whether the response may announce keep-alive.
    bool keep_alive() const;

    boost::asio::any_io_executor executor() { return stream_.get_executor(); }
    const std::string &client() const { return client_; }  // the peer's address

private:
    enum class Phase { idle, reading, handling, closed };

    void wait_for_request();
    void read_request();
    void on_read(boost::beast::error_code ec);
    void hand_over(Request request, std::optional<Exchange::ReadProblem> problem);
    void write_next();
    void after_response();
    // Watches the socket while the current request is handled (see above);
    // data arriving instead (a pipelined request) ends the watch.
    void watch_peer();
    void too_slow(std::size_t refused_bytes);
    void close();

    boost::beast::tcp_stream stream_;
    const std::shared_ptr<ConnectionShared> shared_;
    std::string client_, peer_;  // address; address:port
    // on the strand only
    boost::beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    Phase phase_ = Phase::idle;
    bool draining_ = false, keep_alive_ = false, writing_ = false;
    std::string request_line_;     // of the exchange in progress, for the log
    std::uint64_t exchanges_ = 0;  // handed over so far: a watch belongs to one of them
    OutputQueue output_;
    std::weak_ptr<ExchangeImpl> current_;
};

}  // namespace coe::serve
