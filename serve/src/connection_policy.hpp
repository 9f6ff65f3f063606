// connection_policy.hpp - the limits and the handler every connection of a
// listener follows, and what they share with the listener.
//
// Timeouts: a connection waits `idle_timeout` for the first byte of a
// request, then the whole request must arrive within `request_timeout` (a
// client that trickles its header is cut off); each write must finish within
// `request_timeout`.  A body over `max_body_bytes` is answered 413, a
// malformed request 400, and the connection closed.  Output waiting to be
// written beyond `max_output_bytes` disconnects the client (output_queue.hpp).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "exchange.hpp"

namespace coe::serve {

struct ConnectionPolicy {
    std::size_t max_body_bytes = 8u << 20;
    std::size_t max_output_bytes = 8u << 20;
    unsigned max_connections = 1024;
    std::chrono::milliseconds idle_timeout{30000}, request_timeout{30000};
    // Called on the connection's strand for every request read whole.
    std::function<void(std::shared_ptr<Exchange>)> handle;
    // Called on the connection's strand when a client is disconnected for
    // reading too slowly, with the reason (peer, request, bytes waiting).
    std::function<void(const std::string &reason)> on_slow_client;
};

// Owned jointly by the listener and each of its connections.  The policy is
// immutable; the counters are atomic: any thread.
struct ConnectionShared {
    explicit ConnectionShared(ConnectionPolicy p) : policy(std::move(p)) {}
    const ConnectionPolicy policy;
    std::atomic<std::size_t> open{0};   // connections alive
    std::atomic<bool> draining{false};  // the listener drains: no further request is read
};

}  // namespace coe::serve
