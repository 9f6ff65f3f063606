// curl_multi_client.hpp - HTTP requests with libcurl's multi interface,
// driven from one Boost.Asio io_context through curl's socket and timer
// callbacks: no thread of its own, no polling.
//
// Threading: construct, call and destroy on the io_context's thread only
// (the io_context must be run by exactly one thread), and every callback is
// invoked there.  Ownership: the client owns the curl handles; the request
// is copied at start().  Errors never throw out of the event loop: they end
// a transfer with on_done(result) where result.failure names the class.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "providers/provider.hpp"

namespace coe::net {

struct HttpLimits {
    double connect_timeout_ms = 10000;     // 0: curl's default
    double first_byte_timeout_ms = 60000;  // start -> first response byte; 0: none
    double idle_timeout_ms = 30000;        // longest gap between body chunks; 0: none
    double total_timeout_ms = 120000;      // 0: none
    std::uint64_t max_body_bytes = 8u << 20;
    std::string ca_file;  // empty: the system store
};

struct HttpHead {
    long status = 0;
    std::string content_type;
    std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
    const std::string *header(std::string_view name) const;    // first with that name, or nullptr
};

// How a transfer ended.  failure is empty for a transfer that received a
// complete response (whatever its status), else one of: "timeout",
// "connect_error", "tls_error", "network_error" (reset, truncated),
// "too_large", "aborted" (a callback said stop; message is its reason).
struct HttpResult {
    std::string failure;
    std::string message;
    HttpHead head;
    double first_byte_ms = -1;  // -1: nothing received
    double total_ms = 0;
};

struct HttpCallbacks {
    // Once, when the response headers are complete.  Return false to abort
    // (the transfer then ends with failure "aborted" and `reason`).
    std::function<bool(const HttpHead &, std::string &reason)> on_head;
    // Body bytes as they arrive; return false to abort, as above.
    std::function<bool(std::string_view, std::string &reason)> on_body;
    // Exactly once per started transfer, unless cancel() was called first.
    std::function<void(HttpResult)> on_done;
};

class CurlMultiClient {
public:
    using TransferId = std::uint64_t;

    explicit CurlMultiClient(boost::asio::io_context &io);
    ~CurlMultiClient();  // abandons every transfer without calling on_done
    CurlMultiClient(const CurlMultiClient &) = delete;
    CurlMultiClient &operator=(const CurlMultiClient &) = delete;

    TransferId start(const HttpRequest &request, const HttpLimits &limits, HttpCallbacks callbacks);
    // Stops a transfer; its on_done is not called.  Unknown ids are ignored.
    void cancel(TransferId id);
    std::size_t active() const { return transfers_.size(); }

    struct Transfer;
    struct Socket;

private:
    friend struct CurlCallbacks;
    void socket_action(int fd, int events);
    void check_finished();
    void finish(TransferId id, HttpResult result);
    void arm_watchdog(Transfer &t);
    void arm_socket(const std::shared_ptr<Socket> &s);

    boost::asio::io_context &io_;
    void *multi_ = nullptr;  // CURLM*
    boost::asio::steady_timer timer_;
    std::map<TransferId, std::unique_ptr<Transfer>> transfers_;
    std::map<int, std::shared_ptr<Socket>> sockets_;
    TransferId next_id_ = 1;
    bool in_callback_ = false;
    std::shared_ptr<bool> alive_;
};

}  // namespace coe::net
