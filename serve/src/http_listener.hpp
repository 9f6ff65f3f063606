// http_listener.hpp - accepts TCP connections and runs HTTP/1.1 on each
// (http_connection.hpp), handing every complete request to the policy's
// `handle` as an Exchange.  Limits and timeouts: connection_policy.hpp.
//
// Ownership: the listener owns the acceptor; its connections are listed
// weakly (each lives as long as its own operations and exchange).
// Thread-safety: the acceptor runs on a strand of the io_context, each
// connection on its own; the listener's members may be called from any thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <memory>

#include "connection_policy.hpp"

namespace coe::serve {

class HttpListener {
public:
    // Binds and listens; throws coe::Error naming the address on failure.
    HttpListener(boost::asio::io_context &ioc, const boost::asio::ip::tcp::endpoint &where, ConnectionPolicy policy);
    ~HttpListener();

    std::uint16_t port() const;
    void start();
    // Stops accepting, closes connections waiting for a request, and makes
    // the others close after their current response.
    void drain();
    // Closes every connection now; exchanges still open are aborted.
    void abort_all();
    std::size_t open_connections() const;

    class State;

private:
    std::shared_ptr<State> state_;
};

}  // namespace coe::serve
