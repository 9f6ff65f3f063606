// exchange.hpp - one HTTP request and the way back to its client, as the
// route handlers see it.
//
// Thread-safety: every member may be called from any thread (the
// consultation answers on its network thread); each call is posted to the
// connection's strand.  A handler must end every exchange with respond() or
// with start_stream() ... finish(); an exchange dropped without either is
// answered 500 by its destructor, so a client never waits forever.
#pragma once

#include <boost/beast/http.hpp>

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace coe::serve {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Headers = std::vector<std::pair<std::string, std::string>>;

class Exchange {
public:
    virtual ~Exchange() = default;

    virtual const Request &request() const = 0;
    virtual const std::string &client() const = 0;  // the peer's address
    // Set when the request could not be read whole (413, 431, 400): the
    // handler answers with it; request() then holds what was read.
    struct ReadProblem {
        http::status status = http::status::ok;
        std::string message;
    };
    virtual const ReadProblem *read_problem() const = 0;

    // The whole response at once.
    virtual void respond(http::status status, std::string content_type, std::string body, Headers headers = {}) = 0;
    // A chunked response (e.g. text/event-stream): the header now, then
    // send() pieces as they come, then finish().
    virtual void start_stream(std::string content_type, Headers headers = {}) = 0;
    virtual void send(std::string piece) = 0;
    virtual void finish() = 0;
    // `f` runs (on some thread, once) if the response can no longer reach
    // the client: it went away, a write timed out, or the server stopped.
    virtual void on_abort(std::function<void()> f) = 0;
    // `f` runs once when the exchange is over: the response written (with
    // its status), or aborted (status 0).
    virtual void on_complete(std::function<void(unsigned status)> f) = 0;
};

// {"error": {"type", "message", "param", "code"}}: the OpenAI error shape.
std::string error_body(const std::string &type, const std::string &message, const std::string &param = {},
                       const std::string &code = {});
// respond() with error_body().
void respond_error(Exchange &ex, http::status status, const std::string &type, const std::string &message,
                   const std::string &param = {}, Headers headers = {});

}  // namespace coe::serve
