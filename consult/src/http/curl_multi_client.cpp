#include "http/curl_multi_client.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <mutex>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <curl/curl.h>

#include "coe/internal/clock.hpp"
#include "coe/internal/strings.hpp"

namespace coe::net {

namespace asio = boost::asio;
using internal::Clock;

namespace {

using internal::ms_since;

std::string lower(std::string s) {
    for (char &c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// A header line's value: without the blanks around it and its line end.
std::string trim(std::string_view s) { return std::string(internal::trim(s, " \t", " \t\r\n")); }

Clock::duration ms(double v) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(v));
}

void init_curl_once() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string failure_class(CURLcode code) {
    switch (code) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT: return "connect_error";
    case CURLE_OPERATION_TIMEDOUT: return "timeout";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS: return "tls_error";
    default: return "network_error";
    }
}

}  // namespace

const std::string *HttpHead::header(std::string_view name) const {
    for (const auto &[k, v] : headers)
        if (k == name) return &v;
    return nullptr;
}

struct CurlMultiClient::Socket {
    Socket(asio::io_context &io, int fd_, bool owned_) : sd(io, fd_), fd(fd_), owned(owned_) {}
    ~Socket() {
        if (!owned && sd.is_open()) sd.release();  // curl's own descriptor: curl closes it
    }
    asio::posix::stream_descriptor sd;
    int fd;
    bool owned;  // opened through our open-socket callback: we close it
    int want = 0;
    bool reading = false, writing = false, closed = false;
};

struct CurlMultiClient::Transfer {
    explicit Transfer(asio::io_context &io) : watchdog(io) {}
    TransferId id = 0;
    CURL *easy = nullptr;
    curl_slist *headers = nullptr;
    HttpCallbacks callbacks;
    HttpLimits limits;
    HttpHead head;
    bool head_done = false;
    std::string abort_failure, abort_reason;  // set when a callback stopped the transfer
    std::uint64_t body_bytes = 0;
    Clock::time_point start, last_activity;
    double first_byte_ms = -1;
    asio::steady_timer watchdog;
    char error_buffer[CURL_ERROR_SIZE] = {};

    void received() {
        last_activity = Clock::now();
        if (first_byte_ms < 0) first_byte_ms = ms_since(start);
    }
};

// The C callbacks curl calls; each forwards to the client.
struct CurlCallbacks {
    static size_t header(char *data, size_t size, size_t count, void *user) {
        auto *t = static_cast<CurlMultiClient::Transfer *>(user);
        const size_t n = size * count;
        t->received();
        std::string_view line(data, n);
        if (line.rfind("HTTP/", 0) == 0) {  // a new response (after 1xx or on retry)
            t->head = HttpHead{};
            t->head_done = false;
            const auto sp = line.find(' ');
            if (sp != std::string_view::npos)
                t->head.status = std::strtol(std::string(line.substr(sp + 1, 3)).c_str(), nullptr, 10);
            return n;
        }
        if (line == "\r\n" || line == "\n") {
            if (t->head.status >= 100 && t->head.status < 200) return n;  // interim response
            t->head_done = true;
            if (const std::string *ct = t->head.header("content-type")) t->head.content_type = *ct;
            if (t->callbacks.on_head && !t->callbacks.on_head(t->head, t->abort_reason)) {
                t->abort_failure = "aborted";
                return 0;
            }
            return n;
        }
        const auto colon = line.find(':');
        if (colon != std::string_view::npos)
            t->head.headers.emplace_back(lower(std::string(line.substr(0, colon))), trim(line.substr(colon + 1)));
        return n;
    }

    static size_t write(char *data, size_t size, size_t count, void *user) {
        auto *t = static_cast<CurlMultiClient::Transfer *>(user);
        const size_t n = size * count;
        t->received();
        t->body_bytes += n;
        if (t->body_bytes > t->limits.max_body_bytes) {
            t->abort_failure = "too_large";
            t->abort_reason = "response body exceeds " + std::to_string(t->limits.max_body_bytes) + " bytes";
            return 0;
        }
        if (t->callbacks.on_body && !t->callbacks.on_body(std::string_view(data, n), t->abort_reason)) {
            t->abort_failure = "aborted";
            return 0;
        }
        return n;
    }

    static curl_socket_t open_socket(void *user, curlsocktype, curl_sockaddr *address) {
        auto *client = static_cast<CurlMultiClient *>(user);
        const int fd = ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
        if (fd < 0) return CURL_SOCKET_BAD;
        try {
            client->sockets_[fd] = std::make_shared<CurlMultiClient::Socket>(client->io_, fd, true);
        } catch (...) {
            ::close(fd);
            return CURL_SOCKET_BAD;
        }
        return fd;
    }

    static int close_socket(void *user, curl_socket_t fd) {
        auto *client = static_cast<CurlMultiClient *>(user);
        auto it = client->sockets_.find(fd);
        if (it == client->sockets_.end()) return ::close(fd);
        auto s = it->second;
        client->sockets_.erase(it);
        s->closed = true;
        boost::system::error_code ignored;
        s->sd.cancel(ignored);
        s->sd.close(ignored);
        return 0;
    }

    static int socket(CURL *, curl_socket_t fd, int what, void *user, void *) {
        auto *client = static_cast<CurlMultiClient *>(user);
        auto it = client->sockets_.find(fd);
        if (what == CURL_POLL_REMOVE) {
            if (it == client->sockets_.end()) return 0;
            auto s = it->second;
            s->want = 0;
            if (!s->owned) {  // e.g. the resolver's pipe: forget it, curl closes it
                client->sockets_.erase(it);
                s->closed = true;
                boost::system::error_code ignored;
                s->sd.cancel(ignored);
            }
            return 0;
        }
        if (it == client->sockets_.end())
            it = client->sockets_.emplace(fd, std::make_shared<CurlMultiClient::Socket>(client->io_, fd, false)).first;
        it->second->want = what;
        client->arm_socket(it->second);
        return 0;
    }

    static int timer(CURLM *, long timeout_ms, void *user) {
        auto *client = static_cast<CurlMultiClient *>(user);
        if (timeout_ms < 0) {
            client->timer_.cancel();
            return 0;
        }
        client->timer_.expires_after(std::chrono::milliseconds(timeout_ms));
        client->timer_.async_wait([client, alive = client->alive_](const boost::system::error_code &ec) {
            if (!*alive || ec) return;
            client->socket_action(CURL_SOCKET_TIMEOUT, 0);
        });
        return 0;
    }
};

CurlMultiClient::CurlMultiClient(asio::io_context &io) : io_(io), timer_(io), alive_(std::make_shared<bool>(true)) {
    init_curl_once();
    multi_ = curl_multi_init();
    if (multi_ == nullptr) throw Error("cannot create a libcurl multi handle");
    CURLM *m = static_cast<CURLM *>(multi_);
    curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, &CurlCallbacks::socket);
    curl_multi_setopt(m, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, &CurlCallbacks::timer);
    curl_multi_setopt(m, CURLMOPT_TIMERDATA, this);
}

CurlMultiClient::~CurlMultiClient() {
    CURLM *m = static_cast<CURLM *>(multi_);
    for (auto &[id, t] : transfers_) {
        curl_multi_remove_handle(m, t->easy);
        curl_easy_cleanup(t->easy);
        curl_slist_free_all(t->headers);
        t->watchdog.cancel();
    }
    transfers_.clear();
    curl_multi_cleanup(m);  // closes the cached connections through close_socket
    for (auto &[fd, s] : sockets_) {
        s->closed = true;
        boost::system::error_code ignored;
        s->sd.cancel(ignored);
    }
    sockets_.clear();
    timer_.cancel();
    *alive_ = false;
}

void CurlMultiClient::arm_socket(const std::shared_ptr<Socket> &s) {
    // One wait per direction curl wants; each tells curl and re-arms.
    auto wait = [this, &s](bool Socket::*waiting, asio::posix::stream_descriptor::wait_type type, int event) {
        (*s).*waiting = true;
        s->sd.async_wait(type, [this, s, waiting, event, alive = alive_](const boost::system::error_code &ec) {
            (*s).*waiting = false;
            if (!*alive || ec || s->closed) return;
            socket_action(s->fd, event);
            if (!s->closed) arm_socket(s);
        });
    };
    if ((s->want & CURL_POLL_IN) && !s->reading)
        wait(&Socket::reading, asio::posix::stream_descriptor::wait_read, CURL_CSELECT_IN);
    if ((s->want & CURL_POLL_OUT) && !s->writing)
        wait(&Socket::writing, asio::posix::stream_descriptor::wait_write, CURL_CSELECT_OUT);
}

void CurlMultiClient::socket_action(int fd, int events) {
    int running = 0;
    in_callback_ = true;
    curl_multi_socket_action(static_cast<CURLM *>(multi_), fd, events, &running);
    in_callback_ = false;
    check_finished();
}

void CurlMultiClient::check_finished() {
    CURLM *m = static_cast<CURLM *>(multi_);
    int left = 0;
    while (CURLMsg *msg = curl_multi_info_read(m, &left)) {
        if (msg->msg != CURLMSG_DONE) continue;
        const CURLcode code = msg->data.result;
        Transfer *t = nullptr;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
        if (t == nullptr) continue;
        HttpResult r;
        if (code != CURLE_OK) {
            if (!t->abort_failure.empty()) {
                r.failure = t->abort_failure;
                r.message = t->abort_reason;
            } else {
                r.failure = failure_class(code);
                r.message = curl_easy_strerror(code);
                if (t->error_buffer[0] != '\0') r.message += std::string(": ") + t->error_buffer;
                if (code == CURLE_OPERATION_TIMEDOUT && t->limits.total_timeout_ms > 0 && t->first_byte_ms >= 0)
                    r.message = "no complete response within " +
                                std::to_string(static_cast<long>(t->limits.total_timeout_ms)) + " ms";
            }
        }
        finish(t->id, std::move(r));
    }
}

void CurlMultiClient::finish(TransferId id, HttpResult result) {
    auto it = transfers_.find(id);
    if (it == transfers_.end()) return;
    std::unique_ptr<Transfer> t = std::move(it->second);
    transfers_.erase(it);
    curl_multi_remove_handle(static_cast<CURLM *>(multi_), t->easy);
    t->watchdog.cancel();
    result.head = std::move(t->head);
    result.first_byte_ms = t->first_byte_ms;
    result.total_ms = ms_since(t->start);
    auto on_done = std::move(t->callbacks.on_done);
    curl_easy_cleanup(t->easy);
    curl_slist_free_all(t->headers);
    t.reset();
    if (on_done) on_done(std::move(result));
}

void CurlMultiClient::arm_watchdog(Transfer &t) {
    // The nearest of the first-byte and idle deadlines; curl keeps the others.
    Clock::time_point due = Clock::time_point::max();
    if (t.first_byte_ms < 0 && t.limits.first_byte_timeout_ms > 0) due = t.start + ms(t.limits.first_byte_timeout_ms);
    if (t.first_byte_ms >= 0 && t.limits.idle_timeout_ms > 0) due = t.last_activity + ms(t.limits.idle_timeout_ms);
    if (due == Clock::time_point::max()) return;
    t.watchdog.expires_at(due);
    const TransferId id = t.id;
    t.watchdog.async_wait([this, id, alive = alive_](const boost::system::error_code &ec) {
        if (!*alive || ec) return;
        auto it = transfers_.find(id);
        if (it == transfers_.end()) return;
        Transfer &tr = *it->second;
        const auto now = Clock::now();
        HttpResult r;
        r.failure = "timeout";
        if (tr.first_byte_ms < 0 && tr.limits.first_byte_timeout_ms > 0 &&
            now >= tr.start + ms(tr.limits.first_byte_timeout_ms)) {
            r.message = "no response within " + std::to_string(static_cast<long>(tr.limits.first_byte_timeout_ms)) +
                        " ms (first-byte timeout)";
        } else if (tr.first_byte_ms >= 0 && tr.limits.idle_timeout_ms > 0 &&
                   now >= tr.last_activity + ms(tr.limits.idle_timeout_ms)) {
            r.message = "stream stalled: nothing received for " +
                        std::to_string(static_cast<long>(tr.limits.idle_timeout_ms)) + " ms (idle timeout)";
        } else {
            arm_watchdog(tr);  // activity moved the deadline
            return;
        }
        finish(id, std::move(r));
    });
}

CurlMultiClient::TransferId CurlMultiClient::start(const HttpRequest &request, const HttpLimits &limits,
                                                   HttpCallbacks callbacks) {
    auto t = std::make_unique<Transfer>(io_);
    t->id = next_id_++;
    t->callbacks = std::move(callbacks);
    t->limits = limits;
    t->start = t->last_activity = Clock::now();
    CURL *e = curl_easy_init();
    if (e == nullptr) throw Error("cannot create a libcurl easy handle");
    t->easy = e;
    for (const auto &[name, value] : request.headers)
        t->headers = curl_slist_append(t->headers, (name + ": " + value).c_str());
    t->headers = curl_slist_append(t->headers, "Expect:");
    curl_easy_setopt(e, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_USERAGENT, "coe/" COE_CONSULT_VERSION);
    if (request.method == "POST") {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
        curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, request.body.c_str());
    } else if (request.method != "GET") {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &CurlCallbacks::header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t.get());
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &CurlCallbacks::write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error_buffer);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &CurlCallbacks::open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, this);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, &CurlCallbacks::close_socket);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, this);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    // Certificates are always verified; a CA file replaces the system store.
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!limits.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, limits.ca_file.c_str());
    if (limits.connect_timeout_ms > 0)
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(limits.connect_timeout_ms));
    if (limits.total_timeout_ms > 0)
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(limits.total_timeout_ms));

    const TransferId id = t->id;
    Transfer &ref = *t;
    transfers_.emplace(id, std::move(t));
    arm_watchdog(ref);
    const CURLMcode mc = curl_multi_add_handle(static_cast<CURLM *>(multi_), e);
    if (mc != CURLM_OK) {
        HttpResult r;
        r.failure = "network_error";
        r.message = std::string("cannot start the request: ") + curl_multi_strerror(mc);
        asio::post(io_, [this, id, r, alive = alive_]() mutable {
            if (*alive) finish(id, std::move(r));
        });
    }
    return id;
}

void CurlMultiClient::cancel(TransferId id) {
    if (in_callback_) {  // curl forbids removing handles from inside its callbacks
        asio::post(io_, [this, id, alive = alive_] {
            if (*alive) cancel(id);
        });
        return;
    }
    auto it = transfers_.find(id);
    if (it == transfers_.end()) return;
    it->second->callbacks.on_done = nullptr;
    finish(id, HttpResult{});
}

}  // namespace coe::net
